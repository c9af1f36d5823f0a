/**
 * The bench at internet latency (issue 19), `npm run bench -- --wan` (and part of --quick): the
 * lab's link at RTT 20/50/100 ms (quick: 50), 1,000 files of 1 B–4 KB in 10 directories to and
 * from vsftpd over plain FTP, with no limit and at a simulator limit of 100. ftpsync with
 * `parallel: 1` and `parallel: 4` against `lftp mirror [-R] -P 1` and `-P 4` (the same sessions),
 * and ftpsync with no `parallel` in the manifest (its own choice, printed from the plan).
 * The round-trip floor per file and session (floorRoundTrips): the data connect and the STOR or
 * RETR…226, the EPSV asked for ahead with the previous transfer; plus the round trip the server
 * itself waits before its 226 (vsftpd both ways, proftpd on downloads). floor = files × that × RTT
 * / sessions.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../lab/lab-client.js';
import { compareTrees, generateTree } from '../lab/fixtures.js';
import { attempt, ftpsync, lftp, manifest, medianOf, overEta, secs, type Row } from './contenders.js';

/** "No limit": the simulator counts but never blocks; the manifest's budget is out of reach. */
export const NO_LIMIT = 10_000;
const SERVER = 'vsftpd' as const;
const DIRS = 10;
const SEED = 1900;
const MAX_SMALL = 4096;
/** Round trips per file a passive transfer cannot do without: the data connect, the command…226. */
export const FLOOR_ROUND_TRIPS = 2;

/**
 * The floor on this server: vsftpd closes the data connection with SO_LINGER and answers 226 once
 * its FIN is acknowledged; proftpd answers a RETR's 226 once the client has closed (docs/benchmarks.md,
 * "Look-ahead EPSV"). Any client waits that round trip.
 */
export function floorRoundTrips(server: string, direction: 'upload' | 'download'): number {
  return FLOOR_ROUND_TRIPS + (server === 'vsftpd' || (server === 'proftpd' && direction === 'download') ? 1 : 0);
}
export const DEFAULT_PARALLEL = 'ftpsync (default parallel)';

export interface WanOptions {
  lab: Lab;
  work: string;
  rtts: number[];
  limits: number[];
  files: number;
  repeats: number;
  say: (r: Row) => void;
  /** True once the bench's time is up: the rows not started yet are left out. */
  over: () => boolean;
}

const limitLabel = (limit: number) => (limit >= NO_LIMIT ? 'none' : String(limit));

/** Bound a run by a generous multiple of what lftp's ~7 round trips per file take, never under 2 min. */
const boundMs = (files: number, rttMs: number, sessions: number) => Math.max(120_000, Math.round((files * 12 * Math.max(rttMs, 1)) / sessions) + 60_000);

export async function wanRows(o: WanOptions): Promise<void> {
  const { lab, work } = o;
  const root = lab.servers[SERVER].root;
  const before = lab.rttMs();
  const seedTree = join(work, 'wan-seed');
  generateTree(seedTree, { seed: SEED, files: o.files, dirs: DIRS, depth: 2, maxSmall: MAX_SMALL });
  try {
    for (const rtt of o.rtts) {
      await lab.setRtt(rtt);
      for (const limit of o.limits) {
        const tag = { server: SERVER, limit, files: o.files, linkRttMs: rtt };
        const ours = async (
          scenario: string,
          contender: string,
          parallel: number | null,
          sync: string,
          prepare: () => void | Promise<void>,
          check: () => boolean,
        ) =>
          o.say(
            await attempt({ scenario, contender, ...tag }, async () => ({
              ...(await medianOf(o.repeats, prepare, () =>
                ftpsync(lab, {
                  scenario,
                  server: SERVER,
                  limit,
                  contender,
                  files: o.files,
                  work,
                  timeoutMs: 2 * boundMs(o.files, rtt, parallel ?? 1),
                  check,
                  yaml: manifest(lab, SERVER, limit, sync, '    dataClose: reset\n', { parallel }),
                }),
              )),
              linkRttMs: rtt,
            })),
          );
        const theirs = async (scenario: string, direction: 'upload' | 'download', sessions: number) =>
          !o.over() &&
          o.say(
            await attempt({ scenario, contender: `lftp mirror${direction === 'upload' ? ' -R' : ''} -P ${sessions}`, ...tag }, async () => ({
              ...(await lftp(lab, {
                scenario,
                server: SERVER,
                limit,
                contender: `lftp mirror${direction === 'upload' ? ' -R' : ''} -P ${sessions}`,
                files: o.files,
                dirs: DIRS,
                direction,
                work,
                mirrorOptions: `--parallel=${sessions}`,
                seed: SEED,
                maxSmall: MAX_SMALL,
                timeoutMs: boundMs(o.files, rtt, sessions),
              })),
              linkRttMs: rtt,
              parallel: sessions,
            })),
          );

        // Uploads to an empty remote (two-phase by default: the rows carry the switch window).
        const up = `RTT ${rtt} upload`;
        const upSync = `{ name: site, servers: [${SERVER}], direction: upload, local: ${seedTree}, remote: /www }`;
        const upCheck = () => compareTrees(seedTree, join(root, 'www'), (p) => p.startsWith('.ftpsync')).equal;
        for (const sessions of [1, 4]) {
          await theirs(up, 'upload', sessions);
          await ours(up, `ftpsync parallel: ${sessions}`, sessions, upSync, () => lab.resetRoot(SERVER), upCheck);
        }
        await ours(up, DEFAULT_PARALLEL, null, upSync, () => lab.resetRoot(SERVER), upCheck);

        // Downloads into an empty directory: ftpsync first (lftp's scenario writes its own tree over the root).
        const down = `RTT ${rtt} download`;
        const local = join(work, 'wan-down');
        await lab.resetRoot(SERVER);
        cpSync(seedTree, join(root, 'site'), { recursive: true });
        await lab.chownRoot(SERVER);
        const downSync = `{ name: site, servers: [${SERVER}], direction: download, local: ${local}, remote: /site }`;
        const empty = () => rmSync(local, { recursive: true, force: true });
        const downCheck = () => compareTrees(join(root, 'site'), local).equal;
        for (const sessions of [1, 4]) await ours(down, `ftpsync parallel: ${sessions}`, sessions, downSync, empty, downCheck);
        await ours(down, DEFAULT_PARALLEL, null, downSync, empty, downCheck);
        empty();
        for (const sessions of [1, 4]) await theirs(down, 'download', sessions);
        await lab.resetRoot(SERVER);
      }
    }
  } finally {
    rmSync(seedTree, { recursive: true, force: true });
    await lab.setRtt(before).catch((e: unknown) => console.log(`could not put the link back to RTT ${before}: ${String(e)}`));
  }
}

const isWan = (r: Row) => /^RTT \d+ (upload|download)$/.test(r.scenario);
/** files × the server's floor round trips × RTT / sessions. */
export const floorMs = (r: Row): number | null =>
  r.linkRttMs && r.parallel ? (r.files * floorRoundTrips(r.server, r.scenario.endsWith('upload') ? 'upload' : 'download') * r.linkRttMs) / r.parallel : null;
const sessionsOf = (r: Row) => r.parallel ?? null;
const lftpPeer = (rows: Row[], r: Row) =>
  rows.find((l) => l.contender.startsWith('lftp') && l.scenario === r.scenario && l.limit === r.limit && l.parallel === r.parallel);

export function wanTable(all: Row[]): string {
  const rows = all.filter(isWan);
  const lines = rows.map((r) => {
    const f = floorMs(r);
    const e = overEta(r);
    const peer = r.contender.startsWith('ftpsync parallel') ? lftpPeer(rows, r) : undefined;
    const vsLftp = peer && !peer.blocked && peer.complete ? `${(r.wallMs / peer.wallMs).toFixed(2)}` : peer ? 'lftp blocked/incomplete' : '—';
    return `| ${r.linkRttMs ?? 0} | ${r.scenario.replace(/^RTT \d+ /, '')} | ${limitLabel(r.limit)} | ${r.contender} | ${sessionsOf(r) ?? '?'}${r.parallelChosen ? ` (${r.parallelChosen})` : ''} | ${r.blocked ? `**yes** (${r.filesAtBlock ?? '?'} files)` : 'no'} | ${r.peak} (${r.peakTimeWait}) | ${secs(r.wallMs)} | ${secs(f)} | ${f ? (r.wallMs / f).toFixed(2) : '—'} | ${r.etaMs !== null && e !== null ? `${secs(r.etaMs)} (${((e - 1) * 100).toFixed(0)} %)` : '—'} | ${vsLftp} | ${r.mixedMs !== undefined && r.mixedMs !== null && r.contender.startsWith('ftpsync') ? `${(r.mixedMs / 1000).toFixed(2)} s` : '—'} | ${r.complete ? 'yes' : 'no'} |`;
  });
  return [
    `vsftpd, plain FTP, ${rows[0]?.files ?? '?'} files of 1 B–4 KB in ${DIRS} directories; floor = files × ${floorRoundTrips(SERVER, 'upload')} round trips (vsftpd: ${FLOOR_ROUND_TRIPS} and its close) × RTT / sessions.`,
    '',
    '| RTT ms | direction | limit | contender | sessions | blocked | peak counted (TIME_WAIT) | wall | round-trip floor | wall/floor | plan ETA (wall off by) | wall / lftp same -P | switch window | complete |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}

export function wanTargets(all: Row[]): string {
  const rows = all.filter(isWan);
  const mark = (ok: boolean) => (ok ? 'met' : '**not met**');
  const ours = rows.filter((r) => r.contender.startsWith('ftpsync'));
  const blocked = ours.filter((r) => r.blocked);
  const pairs = ours
    .filter((r) => r.contender.startsWith('ftpsync parallel'))
    .map((r) => ({ r, l: lftpPeer(rows, r) }))
    .filter((p): p is { r: Row; l: Row } => p.l !== undefined && !p.l.blocked && p.l.complete);
  const slow = pairs.filter(({ r, l }) => r.wallMs > 0.8 * l.wallMs);
  const name = (r: Row) => `RTT ${r.linkRttMs} ${r.scenario.replace(/^RTT \d+ /, '')} @${limitLabel(r.limit)} P${r.parallel}`;
  const auto = ours.filter((r) => r.contender === DEFAULT_PARALLEL && r.linkRttMs === 50 && r.scenario.endsWith('upload'));
  const autoOk = auto.filter((r) => floorMs(r) !== null && r.wallMs <= 1.25 * floorMs(r)!);
  const timed = ours.filter((r) => (r.linkRttMs ?? 0) >= 20 && overEta(r) !== null);
  const etaOff = timed.filter((r) => Math.abs(overEta(r)! - 1) > 0.1);
  return [
    `- ftpsync never blocked: ${mark(blocked.length === 0)} (${ours.length} rows${blocked.length ? `; blocked: ${blocked.map(name).join(', ')}` : ''})`,
    `- same sessions, ftpsync wall ≤ 0.8 × lftp's: ${mark(slow.length === 0 && pairs.length > 0)}, met in ${pairs.length - slow.length} of ${pairs.length} pairs where lftp completed unblocked (${pairs.map(({ r, l }) => `${name(r)} ${(r.wallMs / l.wallMs).toFixed(2)}`).join(', ')})`,
    `- automatic parallel, 1,000-file upload at RTT 50 within 1.25 × the floor for its sessions: ${mark(auto.length > 0 && autoOk.length === auto.length)} (${auto.map((r) => `@${limitLabel(r.limit)}: parallel ${r.parallel ?? '?'}, wall/floor ${floorMs(r) ? (r.wallMs / floorMs(r)!).toFixed(2) : '—'}`).join(', ')})`,
    `- plan ETA within ±10 % of wall at RTT ≥ 20: ${mark(etaOff.length === 0 && timed.length > 0)}, met in ${timed.length - etaOff.length} of ${timed.length}${etaOff.length ? `; off: ${etaOff.map((r) => `${name(r)}${r.contender === DEFAULT_PARALLEL ? ' (default)' : ''} ${((overEta(r)! - 1) * 100).toFixed(0)} %`).join(', ')}` : ''}`,
    `- every ftpsync run complete: ${mark(ours.every((r) => r.complete))}`,
  ].join('\n');
}
