/**
 * Load a manifest: read (size, binary and empty checks), parse YAML keeping source positions,
 * validate against schemas/ftpsync.schema.json with ajv, run the checks the schema cannot
 * express, and normalize into the typed Manifest. Every problem is reported at once, each with
 * FILE:LINE:COL. No network.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
// Compiled ahead of time from schemas/ftpsync.schema.json (scripts/manifest-validator.mjs).
import { validate as generatedValidator } from './schema-validator.generated.js';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { parseDuration } from './duration.js';
import { makeSecret } from './secret.js';
import type { FirewallConfig, Manifest, ServerConfig, SyncConfig } from './types.js';

export const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_ALIASES = 100;

export interface Finding {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  col: number;
  message: string;
}

export interface LoadOptions {
  /** Commands that connect need every ${ENV} set: unset ones are errors, not warnings. */
  requireEnv?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface LoadResult {
  manifest: Manifest | null;
  findings: Finding[];
  /** sha256 of the manifest's bytes (for plan fingerprints). */
  digest: string | null;
}

type Path = Array<string | number>;

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

const validateSchema = generatedValidator as unknown as ValidateFunction;

/** Dotted path for messages: servers.prod.firewall.headroom, syncs[0].name. */
function dotted(path: Path): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '(top level)';
}

class Reporter {
  readonly findings: Finding[] = [];
  constructor(
    private readonly file: string,
    private readonly doc: Document | null,
    private readonly lc: LineCounter,
  ) {}

  /** Position of the node at path (or of its key when `key` is set), 1-based. */
  position(path: Path, key = false): { line: number; col: number } {
    if (!this.doc) return { line: 1, col: 1 };
    let offset = 0;
    let node: unknown = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
        if (!pair) break;
        const last = i === path.length - 1;
        if (last && key && isNode(pair.key)) {
          offset = (pair.key as Node).range?.[0] ?? offset;
          node = null;
          break;
        }
        node = pair.value;
        if (!isNode(node) && isNode(pair.key)) offset = (pair.key as Node).range?.[0] ?? offset;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else break;
      if (isNode(node)) offset = (node as Node).range?.[0] ?? offset;
    }
    if (path.length === 0 && isNode(node)) offset = (node as Node).range?.[0] ?? 0;
    const pos = this.lc.linePos(offset);
    return { line: pos.line, col: pos.col };
  }

  add(severity: Finding['severity'], path: Path, message: string, key = false): void {
    const { line, col } = this.position(path, key);
    this.findings.push({ severity, file: this.file, line, col, message });
  }
  error(path: Path, message: string, key = false) {
    this.add('error', path, message, key);
  }
  warn(path: Path, message: string, key = false) {
    this.add('warning', path, message, key);
  }
}

function describeValue(v: unknown): string {
  if (v === '[redacted]') return 'a value not shown: it may be a secret';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function valueAt(data: unknown, path: Path): unknown {
  let v: unknown = data;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

const TYPE_NAMES: Record<string, string> = { object: 'a mapping', array: 'a list', integer: 'an integer', number: 'a number', string: 'a string', boolean: 'a boolean (true or false)' };

const ONE_OF_EXPECTED: Array<[RegExp, string]> = [
  [/\/\$defs\/duration\//, 'a duration like "60s", "4m", "1500ms" or a number of seconds'],
];

/** Turn ajv's errors into one message per problem, each saying what is wrong and what is expected. */
function reportSchemaErrors(errors: ErrorObject[], data: unknown, r: Reporter): void {
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const seen = new Set<string>();
  for (const e of errors) {
    const path: Path = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    // Errors from inside a oneOf's branches are summarized by the oneOf error itself.
    if (e.keyword !== 'oneOf' && /\/oneOf\/\d+\//.test(e.schemaPath) && [...oneOfPaths].some((p) => e.instancePath.startsWith(p))) continue;
    const where = dotted(path);
    // Never echo a value that may be a secret, even a malformed one.
    const got = path.some((p) => /password/i.test(String(p))) ? '[redacted]' : valueAt(data, path);
    let msg: string;
    let atKey = false;
    let at = path;
    switch (e.keyword) {
      case 'additionalProperties': {
        const extra = String(e.params.additionalProperty);
        const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {}).join(', ');
        at = [...path, extra];
        atKey = true;
        msg = `unknown key "${extra}" in ${where}; expected one of: ${allowed}`;
        break;
      }
      case 'required':
        msg = `${where} is missing "${String(e.params.missingProperty)}"`;
        break;
      case 'enum':
        msg = `${where} must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${describeValue(got)})`;
        break;
      case 'const':
        msg = `${where} must be ${JSON.stringify(e.params.allowedValue)} (got ${describeValue(got)})`;
        break;
      case 'type':
        msg = `${where} must be ${TYPE_NAMES[String(e.params.type)] ?? `a ${String(e.params.type)}`} (got ${describeValue(got)})`;
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const op = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' }[e.keyword];
        msg = `${where} must be ${op} ${String(e.params.limit)} (got ${describeValue(got)})`;
        break;
      }
      case 'minItems':
        msg = `${where} must have at least ${String(e.params.limit)} item${e.params.limit === 1 ? '' : 's'}`;
        break;
      case 'maxItems':
        msg = `${where} must have at most ${String(e.params.limit)} items`;
        break;
      case 'minProperties':
        msg = `${where} must define at least ${String(e.params.limit)} entry`;
        break;
      case 'minLength':
        msg = `${where} must not be empty`;
        break;
      case 'uniqueItems':
        msg = `${where} lists the same value twice`;
        break;
      case 'pattern':
        msg = /remote/.test(where)
          ? `${where} must be an absolute remote path starting with "/" (got ${describeValue(got)})`
          : `${where} must be a name of letters, digits, "_", "." and "-", starting with a letter or digit (got ${describeValue(got)})`;
        break;
      case 'propertyNames':
        continue; // reported through the nested pattern error
      case 'oneOf': {
        if (/\/\$defs\/sync\/oneOf$/.test(e.schemaPath) || (e.schemaPath === '#/$defs/sync/oneOf')) {
          msg = `${where} needs either "server" or "servers" (not both)`;
          break;
        }
        const expected = ONE_OF_EXPECTED.find(([re]) => re.test(e.schemaPath) || re.test(where))?.[1] ?? 'one of the documented forms';
        msg = `${where} must be ${expected} (got ${describeValue(got)})`;
        break;
      }
      case 'false schema':
        msg = `${where} is not allowed here`;
        break;
      default:
        msg = `${where} ${e.message ?? 'is invalid'}`;
    }
    if (e.keyword === 'pattern' && e.propertyName !== undefined) {
      at = [...path, e.propertyName];
      atKey = true;
      msg = `server name "${e.propertyName}" must be letters, digits, "_", "." and "-", starting with a letter or digit`;
    }
    const k = `${dotted(at)}|${msg}`;
    if (seen.has(k)) continue;
    seen.add(k);
    r.error(at, msg, atKey);
  }
}

export interface RawServer {
  host: string;
  port?: number;
  user: string;
  password?: string;
  passwordFile?: string;
  tls?: ServerConfig['tls'];
  ca?: string;
  servername?: string;
  insecure?: boolean;
  mode?: ServerConfig['mode'];
  active?: { address?: string; portRange?: [number, number] };
  timeouts?: { connect?: string | number; data?: string | number };
  dataClose?: ServerConfig['dataClose'];
  listing?: ServerConfig['listing'];
  firewall?: {
    maxConnections?: number;
    timeWait?: string | number;
    headroom?: number;
    parallel?: number;
    maxSessions?: number;
    onBlock?: { policy?: 'stop' | 'wait'; maxWait?: string | number };
  };
}
export interface RawSync {
  name: string;
  server?: string;
  servers?: string[];
  direction: SyncConfig['direction'];
  local: string;
  remote: string;
  delete?: boolean;
  exclude?: string[];
  include?: string[];
  compare?: SyncConfig['compare'];
  last?: string[];
}
export interface RawManifest {
  version: 1;
  servers: Record<string, RawServer>;
  syncs: RawSync[];
  rollout?: { stages?: Array<{ name?: string; servers: string[] }>; haltOnFailure?: boolean };
}

export const DEFAULTS = {
  tls: 'explicit',
  mode: 'passive',
  connectTimeout: '15s',
  dataTimeout: '30s',
  dataClose: 'normal',
  listing: 'auto',
  maxConnections: 100,
  timeWait: '240s',
  headroom: 0.8,
  parallel: 2,
  maxSessions: 4,
  onBlockPolicy: 'stop',
  onBlockMaxWait: '35m',
  compare: 'size-mtime',
} as const;

/** Normalize a remote path: absolute, POSIX, no trailing slash, no "." or ".." segments. */
export function normalizeRemoteRoot(p: string): string | null {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..' || s.includes('\0') || s.includes('\\'))) return null;
  return '/' + parts.join('/');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

function expandEnv(value: string, path: Path, r: Reporter, opts: LoadOptions, env: NodeJS.ProcessEnv): string {
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

function readChecked(file: string, r: Reporter): string | null {
  if (!existsSync(file)) {
    r.error([], `no such file; run \`ftpsync init\` to create a starter ftpsync.yml, or pass -c FILE`);
    return null;
  }
  const st = statSync(file);
  if (!st.isFile()) {
    r.error([], 'is not a regular file');
    return null;
  }
  if (st.size > MAX_MANIFEST_BYTES) {
    r.error([], `is ${(st.size / 1024 / 1024).toFixed(1)} MB; a manifest must be under 1 MB (is this the right file?)`);
    return null;
  }
  const buf = readFileSync(file);
  if (buf.includes(0)) {
    r.error([], 'is a binary file, not YAML (it contains NUL bytes)');
    return null;
  }
  const text = buf.toString('utf8');
  if (text.trim() === '' || text.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'))) {
    r.error([], 'is empty; a manifest needs at least version, servers and syncs (see `ftpsync init`)');
    return null;
  }
  return text;
}

/** Load, validate and normalize a manifest file. Never throws for bad input: findings say what is wrong. */
export function loadManifest(fileArg: string, opts: LoadOptions = {}): LoadResult {
  const file = resolve(fileArg);
  const env = opts.env ?? process.env;
  const lc = new LineCounter();
  const pre = new Reporter(fileArg, null, lc);
  const text = readChecked(file, pre);
  if (text === null) return { manifest: null, findings: pre.findings, digest: null };
  const digest = createHash('sha256').update(text).digest('hex');

  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true });
  const r = new Reporter(fileArg, doc, lc);
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    const what = e.code === 'DUPLICATE_KEY' ? 'duplicate key: each key may appear once in a mapping' : e.message.split('\n')[0];
    r.findings.push({ severity: 'error', file: fileArg, line: pos.line, col: pos.col, message: `YAML: ${what}` });
  }
  if (doc.errors.length > 0) return { manifest: null, findings: r.findings, digest };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    r.error([], /alias/i.test(msg) ? `YAML: too many alias expansions (more than ${MAX_ALIASES}); this looks like an alias bomb` : `YAML: ${msg}`);
    return { manifest: null, findings: r.findings, digest };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    r.error([], `must be a mapping with version, servers and syncs (got ${describeValue(data)})`);
    return { manifest: null, findings: r.findings, digest };
  }

  if (!validateSchema(data)) {
    reportSchemaErrors(validateSchema.errors ?? [], data, r);
    return { manifest: null, findings: r.findings, digest };
  }
  const manifest = normalize(data as RawManifest, file, r, opts, env);
  const ok = !r.findings.some((f) => f.severity === 'error');
  return { manifest: ok ? manifest : null, findings: r.findings, digest };
}

function normalize(raw: RawManifest, file: string, r: Reporter, opts: LoadOptions, env: NodeJS.ProcessEnv): Manifest {
  const base = dirname(file);
  const fromManifest = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const servers: Record<string, ServerConfig> = {};

  for (const [name, s] of Object.entries(raw.servers)) {
    const at: Path = ['servers', name];
    const host = expandEnv(s.host, [...at, 'host'], r, opts, env);
    const user = expandEnv(s.user, [...at, 'user'], r, opts, env);
    const tls = s.tls ?? DEFAULTS.tls;
    const fw = s.firewall ?? {};
    const firewall: FirewallConfig = {
      maxConnections: fw.maxConnections ?? DEFAULTS.maxConnections,
      timeWaitMs: parseDuration(fw.timeWait ?? DEFAULTS.timeWait),
      headroom: fw.headroom ?? DEFAULTS.headroom,
      parallel: fw.parallel ?? DEFAULTS.parallel,
      maxSessions: fw.maxSessions ?? DEFAULTS.maxSessions,
      onBlock: { policy: fw.onBlock?.policy ?? DEFAULTS.onBlockPolicy, maxWaitMs: parseDuration(fw.onBlock?.maxWait ?? DEFAULTS.onBlockMaxWait) },
    };
    const server: ServerConfig = {
      name,
      host,
      port: s.port ?? (tls === 'implicit' ? 990 : 21),
      user,
      tls,
      verifyCertificate: !(s.insecure ?? false),
      mode: s.mode ?? DEFAULTS.mode,
      timeouts: { connectMs: parseDuration(s.timeouts?.connect ?? DEFAULTS.connectTimeout), dataMs: parseDuration(s.timeouts?.data ?? DEFAULTS.dataTimeout) },
      dataClose: s.dataClose ?? DEFAULTS.dataClose,
      listing: s.listing ?? DEFAULTS.listing,
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
        if (s.active.portRange[0] > s.active.portRange[1]) r.error([...at, 'active', 'portRange'], `${dotted([...at, 'active', 'portRange'])} must be [first, last] with first <= last`);
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
        r.warn([...at, 'password'], `${name}: literal password in the manifest${env.CI === 'true' ? ' (in CI!)' : ''}; use password: \${ENV_VAR} or passwordFile, and never commit a password`);
        server.password = makeSecret(s.password, 'literal');
      } else {
        server.password = makeSecret(expandEnv(s.password, [...at, 'password'], r, opts, env), `env ${refs.join(', ')}`);
      }
    } else {
      r.warn(at, `${name}: no password or passwordFile; ftpsync will log in without a password`, true);
    }
    if (!server.verifyCertificate) r.warn([...at, 'insecure'], `${name}: insecure: true turns off TLS certificate verification; anyone on the path can read your password. Use ca: with your server's certificate instead`, true);
    if (tls === 'none' && !isLoopback(host)) r.warn([...at, 'tls'], `${name}: tls: none sends the password in clear text to ${host}`, true);
    const budget = Math.floor(firewall.maxConnections * firewall.headroom) - firewall.parallel;
    if (budget < 1) r.error([...at, 'firewall'], `${name}: the budget floor(maxConnections × headroom) − parallel = ${budget} leaves no room for data connections; raise maxConnections or headroom, or lower parallel`, true);
    if (firewall.parallel > firewall.maxSessions) r.error([...at, 'firewall', 'parallel'], `${name}: parallel (${firewall.parallel}) is above maxSessions (${firewall.maxSessions}), the server's own per-IP session cap`);
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
        const clash = remoteWriters.find((w) => w.server === n && remote !== null && (w.remote === remote || isInside(w.remote, remote) || isInside(remote, w.remote)));
        if (clash) r.error([...at, 'remote'], `sync "${s.name}" and syncs[${clash.index}] both write ${clash.remote === remote ? remote : `${clash.remote} and ${remote}`} on server "${n}"; give each sync its own remote directory`);
        if (remote !== null) remoteWriters.push({ server: n, remote, index: i });
      }
    }
    syncs.push({
      name: s.name,
      servers: names,
      direction: s.direction,
      localPath,
      remotePath: remote ?? s.remote,
      delete: s.delete ?? false,
      exclude: s.exclude ?? [],
      include: s.include ?? [],
      compare: s.compare ?? DEFAULTS.compare,
      last: s.last ?? [],
    });
  });

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
  return { version: 1, file, servers, syncs, rollout: { stages, haltOnFailure: raw.rollout?.haltOnFailure ?? true } };
}

function isInside(parent: string, child: string): boolean {
  return parent === '/' ? child !== '/' : child.startsWith(`${parent}/`);
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.col}: ${f.severity}: ${f.message}`;
}
