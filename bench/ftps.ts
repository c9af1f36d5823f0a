/**
 * FTPS at plain-FTP speed (issue 18), `npm run bench -- --ftps` (and part of --quick): per server,
 * an upload and a download of N small files at a simulator limit of 100 with `timeWait: 240s` (as
 * `ftpsync init` writes it), ftpsync over explicit FTPS (dataClose auto: the TLS reset close)
 * beside ftpsync over plain FTP (dataClose reset, as probe recommends for plain FTP: auto closes
 * plain data connections normally) in the same run. The side-by-side ratio is the figure: this
 * machine is shared, absolutes drift.
 */
import { cpSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import type { Lab, LabServerName } from '../lab/lab-client.js';
import { compareTrees, generateTree } from '../lab/fixtures.js';
import { attempt, ftpsync, manifest, medianOf, overEta, secs, type Row } from './contenders.js';
import { tlsFloor, type TlsFloor } from './tls-floor.js';

const LIMIT = 100;
const TIME_WAIT_S = 240;
const PLAIN = 'ftpsync, plain FTP (dataClose reset)';
const FTPS = 'ftpsync, explicit FTPS (dataClose auto)';

export interface FtpsOptions {
  lab: Lab;
  work: string;
  servers: LabServerName[];
  files: number;
  dirs: number;
  /** The lab link's round trip for the rows (0: the veth pair); the floor is measured back at 0. */
  rttMs: number;
  repeats: number;
  say: (r: Row) => void;
  /** True once the bench's time is up: the servers not started yet are left out. */
  over: () => boolean;
}

/** The rows, then Node's own TLS floor on this machine (bench/tls-floor.ts) to read them against. */
export async function ftpsRows(o: FtpsOptions): Promise<TlsFloor | undefined> {
  const before = o.lab.rttMs();
  if (o.rttMs !== before) await o.lab.setRtt(o.rttMs);
  try {
    await serverRows(o);
  } finally {
    if (o.lab.rttMs() !== before) await o.lab.setRtt(before);
  }
  return floorOf(o.lab);
}

async function serverRows(o: FtpsOptions): Promise<void> {
  const { lab, work } = o;
  for (const server of o.servers) {
    if (o.over()) break;
    const root = lab.servers[server].root;
    const seedTree = join(work, `ftps-seed-${server}`);
    generateTree(seedTree, { seed: 1800, files: o.files, dirs: o.dirs, depth: 2, maxSmall: 2048 });
    const variants = [
      { contender: PLAIN, tls: 'none' as const, extra: '    dataClose: reset\n' },
      { contender: FTPS, tls: 'explicit' as const, extra: '' },
    ];
    const yaml = (sync: string, v: (typeof variants)[number]) => manifest(lab, server, LIMIT, sync, v.extra, { tls: v.tls, timeWaitS: TIME_WAIT_S });
    for (const v of variants) {
      const scenario = 'FTPS upload';
      const sync = `{ name: site, servers: [${server}], direction: upload, local: ${seedTree}, remote: /www }`;
      o.say(
        await attempt({ scenario, server, limit: LIMIT, contender: v.contender, files: o.files, tls: v.tls }, async () => ({
          ...(await medianOf(
            o.repeats,
            () => lab.resetRoot(server),
            () =>
              ftpsync(lab, {
                scenario,
                server,
                limit: LIMIT,
                contender: v.contender,
                files: o.files,
                work,
                timeoutMs: 20 * 60_000,
                check: () => compareTrees(seedTree, join(root, 'www'), (p) => p.startsWith('.ftpsync')).equal,
                yaml: yaml(sync, v),
              }),
          )),
          tls: v.tls,
          linkRttMs: o.rttMs,
        })),
      );
    }
    await lab.resetRoot(server);
    cpSync(seedTree, join(root, 'site'), { recursive: true });
    await lab.chownRoot(server);
    for (const v of variants) {
      const scenario = 'FTPS download';
      const down = join(work, `ftps-down-${server}`);
      const sync = `{ name: site, servers: [${server}], direction: download, local: ${down}, remote: /site }`;
      o.say(
        await attempt({ scenario, server, limit: LIMIT, contender: v.contender, files: o.files, tls: v.tls }, async () => ({
          ...(await medianOf(
            o.repeats,
            () => rmSync(down, { recursive: true, force: true }),
            () =>
              ftpsync(lab, {
                scenario,
                server,
                limit: LIMIT,
                contender: v.contender,
                files: o.files,
                work,
                timeoutMs: 20 * 60_000,
                check: () => compareTrees(join(root, 'site'), down).equal,
                yaml: yaml(sync, v),
              }),
          )),
          tls: v.tls,
          linkRttMs: o.rttMs,
        })),
      );
      rmSync(down, { recursive: true, force: true });
    }
    rmSync(seedTree, { recursive: true, force: true });
    await lab.resetRoot(server);
  }
}

function floorOf(lab: Lab): Promise<TlsFloor | undefined> {
  const tlsDir = dirname(lab.servers.vsftpd.caFile);
  return tlsFloor({
    keyFile: join(tlsDir, 'server.key'),
    certFile: join(tlsDir, 'server.crt'),
    caFile: lab.servers.vsftpd.caFile,
    serverName: 'ftpsync-lab',
    connections: 1000,
    namespace: lab.serverNamespace,
    host: lab.serverAddress,
  }).catch((e: unknown) => {
    console.log(`TLS floor not measured: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  });
}

const isFtps = (r: Row) => r.scenario.startsWith('FTPS ');
const plainOf = (rows: Row[], r: Row) =>
  rows.find((p) => isFtps(p) && p.tls === 'none' && p.server === r.server && p.scenario === r.scenario && (p.linkRttMs ?? 0) === (r.linkRttMs ?? 0));
const ratio = (a: number | null, b: number | null | undefined) => (a !== null && b ? a / b : null);
const x = (n: number | null) => (n === null ? '—' : `${n.toFixed(2)}×`);

const rtts = (rows: Row[]) => {
  const at = [...new Set(rows.map((r) => r.linkRttMs ?? 0))];
  return at.length === 1 && at[0] === 0 ? 'the veth pair (no added round trip)' : `round trip ${at.join(', ')} ms (the lab's latency link)`;
};

/** ftpsync's own CPU per file, ms. */
const clientPerFile = (r: Row) => (r.clientCpuMs !== undefined && r.files > 0 ? r.clientCpuMs / r.files : null);
/** Cores the whole machine kept busy during the apply (client, server, simulator, kernel). */
const coresBusy = (r: Row) => (r.cpu ? r.cpu.busyMs / Math.max(1, r.wallMs) : null);
const ms = (n: number | null) => (n === null ? '—' : `${n.toFixed(2)} ms`);

export function ftpsTable(all: Row[], floor?: TlsFloor): string {
  const rows = all.filter(isFtps);
  const lines = rows.map((r) => {
    const p = r.tls === 'none' ? undefined : plainOf(rows, r);
    const wallRatio = p ? x(ratio(r.wallMs, p.wallMs)) : '—';
    const etaRatio = p ? x(ratio(r.etaMs, p.etaMs)) : '—';
    const e = overEta(r);
    return `| ${r.scenario.slice(5)} | ${r.server} | ${r.contender} | ${r.files} | ${
      r.blocked
        ? `**blocked**${
            r.fullest
              ? ` (fullest sample: ${Object.entries(r.fullest)
                  .map(([k, v]) => `${v} ${k}`)
                  .join(', ')})`
              : ''
          }`
        : 'never blocked'
    } | ${r.peak} | ${r.peakTimeWait} | ${r.opened} | ${secs(r.wallMs)} | ${secs(r.etaMs)}${e !== null ? ` (wall/ETA ${e.toFixed(2)})` : ''} | ${wallRatio} | ${etaRatio} | ${ms(clientPerFile(r))} | ${coresBusy(r)?.toFixed(2) ?? '—'} | ${r.complete ? 'yes' : 'no'} |`;
  });
  return [
    `Limit ${LIMIT}, timeWait ${TIME_WAIT_S}s (init's), headroom 0.8, parallel 2, ${rtts(rows)}. Client CPU: ftpsync's own per file; machine cores busy: every process and the kernel, over the wall time (the lab's client and servers share ${cpus().length} cores).`,
    '',
    '| direction | server | contender | files | firewall | peak counted | TIME_WAIT at peak | opened (control + data) | wall | plan ETA | wall FTPS/plain | ETA FTPS/plain | client CPU per file | machine cores busy | complete |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...lines,
    ...(floor
      ? [
          '',
          `Node's own TLS connection (bench/tls-floor.ts, ${floor.connections} each, ${floor.where ?? 'loopback'}, 1 KB each): ${ms(floor.tlsMs)} of client CPU${floor.heldMs !== undefined ? `, ${ms(floor.heldMs)} over ftpsync's held stream (the reset close)` : ''}, a TCP connection ${ms(floor.tcpMs)}${floor.resumed ? ', every TLS session resumed' : ', **not every TLS session resumed**'}: an FTPS file costs the client at least plain's CPU + ${ms(floor.tlsMs - floor.tcpMs)}${floor.heldMs !== undefined ? ` (+ ${ms(floor.heldMs - floor.tcpMs)} with the reset close)` : ''}.`,
        ]
      : []),
  ].join('\n');
}

export function ftpsTargets(all: Row[], floor?: TlsFloor): string {
  const rows = all.filter(isFtps);
  const ftps = rows.filter((r) => r.tls !== 'none');
  const mark = (ok: boolean) => (ok ? 'met' : '**not met**');
  const pairs = ftps.map((r) => ({ r, p: plainOf(rows, r) }));
  const wallOver = pairs.filter(({ r, p }) => !(ratio(r.wallMs, p?.wallMs) !== null && ratio(r.wallMs, p?.wallMs)! <= 2));
  const etaOver = pairs.filter(({ r, p }) => !(ratio(r.etaMs, p?.etaMs) !== null && ratio(r.etaMs, p?.etaMs)! <= 2));
  const blocked = rows.filter((r) => r.blocked);
  const name = (r: Row) => `${r.server} ${r.scenario.slice(5)}`;
  return [
    `- never blocked (FTPS and plain): ${mark(blocked.length === 0)}${blocked.length ? `; blocked: ${blocked.map((r) => `${name(r)} ${r.contender}`).join(', ')}` : ''}`,
    `- FTPS wall ≤ 2 × plain: ${mark(wallOver.length === 0 && ftps.length > 0)}, met in ${ftps.length - wallOver.length} of ${ftps.length} (${pairs.map(({ r, p }) => `${name(r)} ${x(ratio(r.wallMs, p?.wallMs))}`).join(', ')})`,
    `- FTPS plan ETA ≤ 2 × plain: ${mark(etaOver.length === 0 && ftps.length > 0)}, met in ${ftps.length - etaOver.length} of ${ftps.length} (${pairs.map(({ r, p }) => `${name(r)} ${x(ratio(r.etaMs, p?.etaMs))}`).join(', ')})`,
    `- every FTPS run complete (trees equal, exit 0): ${mark(ftps.every((r) => r.complete))}`,
    `- client CPU per file, FTPS over plain (${floor ? `Node's TLS floor adds ${ms(floor.tlsMs - floor.tcpMs)}${floor.heldMs !== undefined ? `, ${ms(floor.heldMs - floor.tcpMs)} over the held stream` : ''}` : 'no TLS floor measured'}): ${pairs
      .map(({ r, p }) => {
        const f = clientPerFile(r);
        const q = p ? clientPerFile(p) : null;
        return `${name(r)} ${f !== null && q !== null ? `+${ms(f - q)}` : '—'}`;
      })
      .join(', ')}`,
  ].join('\n');
}
