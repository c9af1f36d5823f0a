/**
 * From the validated raw manifest to the typed Manifest: defaults (defaults.ts), ${ENV}
 * expansion, password sources, paths resolved against the manifest, and the checks the schema
 * cannot express (budget room, unknown servers, overlapping remote dirs, rollout stages).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { connectionBudget, LAN_PARALLEL } from '../core/firewall-limit.js';
import { isLoopbackHost } from '../core/hosts.js';
import { DEFAULTS } from './defaults.js';
import { parseDuration } from './duration.js';
import type { RawManifest } from './raw.js';
import { describeValue } from './schema-errors.js';
import { makeSecret } from './secret.js';
import type { DeleteLimit, FirewallConfig, Manifest, ServerConfig, SyncConfig } from './types.js';
import { dotted, type Path, type Reporter } from './yaml-positions.js';

export interface NormalizeOptions {
  /** Commands that connect need every ${ENV} set: unset ones are errors, not warnings. */
  requireEnv?: boolean;
  env: NodeJS.ProcessEnv;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Normalize a remote path: absolute, POSIX, no trailing slash, no "." or ".." segments. */
export function normalizeRemoteRoot(p: string): string | null {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..' || s.includes('\0') || s.includes('\\'))) return null;
  return '/' + parts.join('/');
}

function expandEnv(value: string, path: Path, r: Reporter, opts: NormalizeOptions): string {
  const { env } = opts;
  return value.replace(ENV_REF, (_, name: string) => {
    const v = env[name];
    if (v === undefined || v === '') {
      const msg = `${dotted(path)} uses \${${name}}, which is not set in the environment`;
      if (opts.requireEnv) r.error(path, `${msg}; set it before running this command`);
      else r.warn(path, `${msg}; commands that connect will need it`);
      return '';
    }
    return v;
  });
}

export function normalize(raw: RawManifest, file: string, r: Reporter, opts: NormalizeOptions): Manifest {
  const { env } = opts;
  const base = dirname(file);
  const fromManifest = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const servers: Record<string, ServerConfig> = {};

  for (const [name, s] of Object.entries(raw.servers)) {
    const at: Path = ['servers', name];
    const host = expandEnv(s.host, [...at, 'host'], r, opts);
    const user = expandEnv(s.user, [...at, 'user'], r, opts);
    const tls = s.tls ?? DEFAULTS.server.tls;
    const fw = s.firewall ?? {};
    const maxSessions = fw.maxSessions ?? DEFAULTS.firewall.maxSessions;
    const parallel = fw.parallel ?? DEFAULTS.firewall.parallel;
    const firewall: FirewallConfig = {
      maxConnections: fw.maxConnections ?? DEFAULTS.firewall.maxConnections,
      timeWaitMs: parseDuration(fw.timeWait ?? DEFAULTS.firewall.timeWait),
      headroom: fw.headroom ?? DEFAULTS.firewall.headroom,
      parallel:
        parallel === 'auto'
          ? autoStart(fw.maxConnections ?? DEFAULTS.firewall.maxConnections, fw.headroom ?? DEFAULTS.firewall.headroom, maxSessions)
          : parallel,
      ...(parallel === 'auto' ? { parallelAuto: true } : {}),
      maxSessions,
      confirmed: fw.confirmed ?? DEFAULTS.firewall.confirmed,
      sampleIntervalMs: parseDuration(fw.sampleInterval ?? DEFAULTS.firewall.sampleInterval),
      onBlock: {
        policy: fw.onBlock?.policy ?? DEFAULTS.firewall.onBlock.policy,
        maxWaitMs: parseDuration(fw.onBlock?.maxWait ?? DEFAULTS.firewall.onBlock.maxWait),
      },
    };
    const server: ServerConfig = {
      name,
      host,
      port: s.port ?? (tls === 'implicit' ? 990 : 21),
      user,
      tls,
      verifyCertificate: !(s.insecure ?? DEFAULTS.server.insecure),
      mode: s.mode ?? DEFAULTS.server.mode,
      timeouts: {
        connectMs: parseDuration(s.timeouts?.connect ?? DEFAULTS.server.timeouts.connect),
        dataMs: parseDuration(s.timeouts?.data ?? DEFAULTS.server.timeouts.data),
      },
      dataClose: s.dataClose ?? DEFAULTS.server.dataClose,
      listing: s.listing ?? DEFAULTS.server.listing,
      firewall,
    };
    if (s.ca !== undefined) {
      server.ca = fromManifest(s.ca);
      if (!existsSync(server.ca)) r.error([...at, 'ca'], `${dotted([...at, 'ca'])}: CA file ${s.ca} does not exist`);
    }
    if (s.servername !== undefined) server.servername = s.servername;
    if (s.active !== undefined) {
      server.active = {};
      if (s.active.address !== undefined) server.active.address = s.active.address;
      if (s.active.portRange !== undefined) {
        server.active.portRange = s.active.portRange;
        if (s.active.portRange[0] > s.active.portRange[1])
          r.error([...at, 'active', 'portRange'], `${dotted([...at, 'active', 'portRange'])} must be [first, last] with first <= last`);
      }
    }
    // Password: from the environment (recommended), a file, or a literal (warned).
    if (s.password !== undefined && s.passwordFile !== undefined) {
      r.error([...at, 'passwordFile'], `${name}: set password or passwordFile, not both`, true);
    } else if (s.passwordFile !== undefined) {
      const pf = fromManifest(s.passwordFile);
      if (!existsSync(pf)) {
        const msg = `${dotted([...at, 'passwordFile'])}: ${s.passwordFile} does not exist`;
        if (opts.requireEnv) r.error([...at, 'passwordFile'], msg);
        else r.warn([...at, 'passwordFile'], `${msg}; commands that connect will need it`);
      } else server.password = makeSecret((readFileSync(pf, 'utf8').split(/\r?\n/)[0] ?? '').trimEnd(), `file ${s.passwordFile}`);
    } else if (s.password !== undefined) {
      const refs = [...s.password.matchAll(ENV_REF)].map((m) => m[1]);
      if (refs.length === 0) {
        r.warn(
          [...at, 'password'],
          `${name}: literal password in the manifest${env.CI === 'true' ? ' (in CI!)' : ''}; use password: \${ENV_VAR} or passwordFile, and never commit a password`,
        );
        server.password = makeSecret(s.password, 'literal');
      } else {
        server.password = makeSecret(expandEnv(s.password, [...at, 'password'], r, opts), `env ${refs.join(', ')}`);
      }
    } else {
      r.warn(at, `${name}: no password or passwordFile; ftpsync will log in without a password`, true);
    }
    if (!server.verifyCertificate)
      r.warn(
        [...at, 'insecure'],
        `${name}: insecure: true turns off TLS certificate verification; anyone on the path can read your password. Use ca: with your server's certificate instead`,
        true,
      );
    if (tls === 'none' && !isLoopbackHost(host)) r.warn([...at, 'tls'], `${name}: tls: none sends the password in clear text to ${host}`, true);
    const budget = connectionBudget(firewall);
    if (budget < 1)
      r.error(
        [...at, 'firewall'],
        `${name}: the budget floor(maxConnections × headroom) − parallel = ${budget} leaves no room for data connections; raise maxConnections or headroom${firewall.parallelAuto ? '' : ', or lower parallel'}`,
        true,
      );
    if (firewall.parallel > firewall.maxSessions)
      r.error(
        [...at, 'firewall', 'parallel'],
        `${name}: parallel (${firewall.parallel}) is above maxSessions (${firewall.maxSessions}), the server's own per-IP session cap`,
      );
    servers[name] = server;
  }

  const syncs: SyncConfig[] = [];
  const syncNames = new Map<string, number>();
  const remoteWriters: Array<{ server: string; remote: string; index: number }> = [];
  raw.syncs.forEach((s, i) => {
    const at: Path = ['syncs', i];
    if (syncNames.has(s.name)) r.error([...at, 'name'], `duplicate sync name "${s.name}" (also syncs[${syncNames.get(s.name)}]); names must be unique`);
    else syncNames.set(s.name, i);
    const names = s.servers ?? (s.server !== undefined ? [s.server] : []);
    names.forEach((n, j) => {
      if (!servers[n]) {
        const path: Path = s.servers ? [...at, 'servers', j] : [...at, 'server'];
        r.error(path, `sync "${s.name}" names unknown server "${n}"; known servers: ${Object.keys(servers).join(', ')}`);
      }
    });
    const remote = normalizeRemoteRoot(s.remote);
    if (remote === null) r.error([...at, 'remote'], `${dotted([...at, 'remote'])} must not contain "..", "\\" or NUL (got ${describeValue(s.remote)})`);
    const localPath = fromManifest(s.local);
    if (s.direction === 'upload') {
      if (!existsSync(localPath)) r.error([...at, 'local'], `sync "${s.name}": local directory ${s.local} does not exist (resolved to ${localPath})`);
      else if (!statSync(localPath).isDirectory()) r.error([...at, 'local'], `sync "${s.name}": local path ${s.local} is not a directory`);
      for (const n of names) {
        const clash = remoteWriters.find(
          (w) => w.server === n && remote !== null && (w.remote === remote || isInside(w.remote, remote) || isInside(remote, w.remote)),
        );
        if (clash)
          r.error(
            [...at, 'remote'],
            `sync "${s.name}" and syncs[${clash.index}] both write ${clash.remote === remote ? remote : `${clash.remote} and ${remote}`} on server "${n}"; give each sync its own remote directory`,
          );
        if (remote !== null) remoteWriters.push({ server: n, remote, index: i });
      }
    }
    const maxDelete = parseMaxDelete(s.maxDelete);
    const releasesDir = s.releasesDir === undefined ? null : normalizeRemoteRoot(s.releasesDir);
    if (s.releasesDir !== undefined && releasesDir === null)
      r.error([...at, 'releasesDir'], `${dotted([...at, 'releasesDir'])} must not contain "..", "\\" or NUL (got ${describeValue(s.releasesDir)})`);
    if (maxDelete && 'percent' in maxDelete && maxDelete.percent > 100)
      r.error([...at, 'maxDelete'], `sync "${s.name}": maxDelete ${describeValue(s.maxDelete)} is over 100 %; "100%" already allows any deletion`);
    syncs.push({
      name: s.name,
      servers: names,
      direction: s.direction,
      localPath,
      remotePath: remote ?? s.remote,
      delete: s.delete ?? DEFAULTS.sync.delete,
      exclude: s.exclude ?? [...DEFAULTS.sync.exclude],
      include: s.include ?? [...DEFAULTS.sync.include],
      compare: s.compare ?? DEFAULTS.sync.compare,
      last: s.last ?? [...DEFAULTS.sync.last],
      protect: s.protect ?? [...DEFAULTS.sync.protect],
      twoPhase: s.twoPhase ?? DEFAULTS.sync.twoPhase,
      keepReleases: s.keepReleases ?? DEFAULTS.sync.keepReleases,
      ...(maxDelete ? { maxDelete } : {}),
      ...(releasesDir ? { releasesDir } : {}),
    });
  });
  checkReleasesDirs(syncs, r);

  // Rollout: default one stage with every server; otherwise every server exactly once.
  const allServers = Object.keys(servers);
  let stages: Manifest['rollout']['stages'];
  if (raw.rollout?.stages) {
    const placed = new Map<string, number>();
    stages = raw.rollout.stages.map((st, i) => {
      st.servers.forEach((n, j) => {
        const path: Path = ['rollout', 'stages', i, 'servers', j];
        if (!servers[n]) r.error(path, `rollout stage ${i + 1} names unknown server "${n}"; known servers: ${allServers.join(', ')}`);
        else if (placed.has(n)) r.error(path, `server "${n}" is in rollout stage ${(placed.get(n) ?? 0) + 1} and stage ${i + 1}; list each server once`);
        else placed.set(n, i);
      });
      return { name: st.name ?? `stage-${i + 1}`, servers: st.servers };
    });
    const usedServers = new Set(syncs.flatMap((s) => s.servers));
    for (const n of allServers) {
      if (!placed.has(n) && usedServers.has(n)) r.error(['rollout', 'stages'], `rollout leaves out server "${n}"; add it to a stage (or remove its syncs)`);
    }
  } else {
    stages = [{ name: 'all', servers: allServers }];
  }
  return { version: 1, file, servers, syncs, rollout: { stages, haltOnFailure: raw.rollout?.haltOnFailure ?? DEFAULTS.rollout.haltOnFailure } };
}

/** maxDelete as the schema allows it: a count of files, or "N%" of the target's files. */
function parseMaxDelete(v: number | string | undefined): DeleteLimit | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return { count: v };
  return { percent: Number(v.replace('%', '').trim()) };
}

function isInside(parent: string, child: string): boolean {
  return parent === '/' ? child !== '/' : child.startsWith(`${parent}/`);
}

/** parallel: auto before the plan measures the round trip: the LAN's sessions, fewer if the budget has no room for them. */
function autoStart(maxConnections: number, headroom: number, maxSessions: number): number {
  const parallel = Math.min(LAN_PARALLEL, maxSessions);
  return connectionBudget({ maxConnections, headroom, parallel }) >= 1 ? parallel : 1;
}

/**
 * A releases directory outside the web root keeps replaced files off the web; it must lie
 * outside every synced directory of its servers (a listing would take it for site files, a
 * delete: true would remove it) and belong to one sync (pruning keeps only that sync's releases).
 */
function checkReleasesDirs(syncs: SyncConfig[], r: Reporter): void {
  syncs.forEach((s, i) => {
    const dir = s.releasesDir;
    if (!dir) return;
    const at: Path = ['syncs', i, 'releasesDir'];
    syncs.forEach((o, j) => {
      const shared = o.servers.find((n) => s.servers.includes(n));
      if (!shared) return;
      if (j < i && o.releasesDir === dir)
        r.error(at, `sync "${s.name}": releasesDir ${dir} is also syncs[${j}]'s on server "${shared}"; give each sync its own`);
      else if (o.remotePath === dir || isInside(o.remotePath, dir) || isInside(dir, o.remotePath))
        r.error(
          at,
          `sync "${s.name}": releasesDir ${dir} ${o.remotePath === dir || isInside(o.remotePath, dir) ? 'is inside' : 'contains'} ${o.remotePath}, ${j === i ? 'its own remote' : `the remote of syncs[${j}]`} on server "${shared}"; put it beside the web root (same filesystem: releases are renames), e.g. /ftpsync-releases/${s.name}`,
        );
    });
  });
}
