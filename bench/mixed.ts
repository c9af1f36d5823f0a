/**
 * Consistent deploys at internet latency (issue 20), `npm run bench -- --mixed` (and part of
 * --quick): with the lab's link at RTT 50, a release of N files is on the server, ftpsync deploys
 * the next one (every file changed; twoPhase, its default) and reports its switch window
 * (apply's switched.windowMs: first rename onto a live name to the last), then
 * `ftpsync rollback` puts the previous release back: timed, its connections counted, the tree
 * compared byte for byte. lftp's mixed window, for contrast, is its whole upload (each file lands
 * as it is sent): from the latency rows where they ran (vsftpd), else `lftp mirror -R -P 4` here.
 */
import { appendFileSync, cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, LabServerName } from '../lab/lab-client.js';
import { compareTrees, generateTree } from '../lab/fixtures.js';
import { attempt, CLI, ftpsync, lftp, manifest, manifestFile, run, secs, type Row } from './contenders.js';

const RTT = 50;
const LIMIT = 100;
const DIRS = 10;
const SEED = 2000;
const DEPLOY = 'ftpsync deploy (twoPhase, default parallel)';
const ROLLBACK = 'ftpsync rollback';

export interface MixedOptions {
  lab: Lab;
  work: string;
  servers: LabServerName[];
  files: number;
  /** Run lftp's contrast upload here on these servers (the others take it from the latency rows). */
  lftpOn: LabServerName[];
  say: (r: Row) => void;
  /** True once the bench's time is up: the servers not started yet are left out. */
  over: () => boolean;
}

const scenarioOf = (server: LabServerName) => `RTT ${RTT} deploy over a release ${server}`;
const ignoreOurs = (p: string) => p.startsWith('.ftpsync');

export async function mixedRows(o: MixedOptions): Promise<void> {
  const { lab, work } = o;
  const before = lab.rttMs();
  try {
    await lab.setRtt(RTT);
    for (const server of o.servers) {
      if (o.over()) return;
      const root = lab.servers[server].root;
      const scenario = scenarioOf(server);
      const previous = join(work, `mixed-a-${server}`);
      const next = join(work, `mixed-b-${server}`);
      const files = generateTree(previous, { seed: SEED, files: o.files, dirs: DIRS, depth: 2, maxSmall: 4096 });
      cpSync(previous, next, { recursive: true });
      for (const f of files) appendFileSync(join(next, f), 'next release\n');
      const tag = { scenario, server, limit: LIMIT, files: o.files, linkRttMs: RTT };
      const sync = `{ name: site, servers: [${server}], direction: upload, local: ${next}, remote: /www }`;
      const yaml = manifest(lab, server, LIMIT, sync, '    dataClose: reset\n', { parallel: null });
      const deploy = await attempt({ ...tag, contender: DEPLOY }, async () => {
        // The previous release, put on the server as a host's files are: by the server's user.
        await lab.resetRoot(server);
        cpSync(previous, join(root, 'www'), { recursive: true });
        await lab.chownRoot(server);
        return {
          ...(await ftpsync(lab, {
            ...tag,
            contender: DEPLOY,
            work,
            timeoutMs: 20 * 60_000,
            check: () => compareTrees(next, join(root, 'www'), ignoreOurs).equal,
            yaml,
          })),
          linkRttMs: RTT,
        };
      });
      o.say(deploy);
      if (deploy.complete)
        o.say(
          await attempt({ ...tag, contender: ROLLBACK }, async () => {
            await lab.armFirewall({ limit: LIMIT, blockMs: 60_000, intervalMs: 200 }, 0);
            const file = manifestFile(work, scenario, server, DEPLOY);
            const env = { LAB_PASSWORD: lab.servers[server].password, CI: 'true' };
            const started = Date.now();
            const r = await run(process.execPath, [CLI, 'rollback', '-c', file, '--json'], env, 5 * 60_000);
            const wallMs = Date.now() - started;
            const stats = await lab.firewall.stats();
            const line = r.out.split('\n').find((l) => l.startsWith('{"event":"summary"'));
            if (!line) throw new Error(`rollback printed no summary (exit ${r.code}): ${r.out.slice(-1500)}`);
            const res = (
              JSON.parse(line) as {
                results: Array<{ connections: { control: number; data: number }; syncs: Array<{ elapsedMs: number; restored: number; removed: number }> }>;
              }
            ).results[0]!;
            const s = res.syncs[0];
            const back = compareTrees(previous, join(root, 'www'), ignoreOurs);
            if (!back.equal)
              console.log(
                `${server}: left under ${join(root, 'www', '.ftpsync-releases')}: ${JSON.stringify(leftIn(join(root, 'www', '.ftpsync-releases')))}; a differing file's previous copy anywhere in the root: ${JSON.stringify(findAll(root, back.different[0] ?? '').slice(0, 5))}`,
              );
            if (!back.equal)
              console.log(
                `${server}: after rollback the tree differs from the previous release: missing ${JSON.stringify(back.missing.slice(0, 5))}, extra ${JSON.stringify(back.extra.slice(0, 5))}, different ${JSON.stringify(back.different.slice(0, 5))}; rollback said: ${r.out.slice(-800)}`,
              );
            return {
              ...tag,
              contender: ROLLBACK,
              blocked: stats.blocks.length > 0,
              filesAtBlock: null,
              peak: stats.peak,
              peakTimeWait: stats.peakTimeWait,
              opened: `${res.connections.control} + ${res.connections.data}`,
              applyMs: s?.elapsedMs ?? null,
              listingData: '—',
              wallMs,
              tStarMs: null,
              etaMs: null,
              rollback: { elapsedMs: s?.elapsedMs ?? 0, restored: s?.restored ?? 0, removed: s?.removed ?? 0, ...res.connections },
              complete: r.code === 0 && back.equal,
            };
          }),
        );
      if (o.lftpOn.includes(server))
        o.say(
          await attempt({ ...tag, contender: 'lftp mirror -R -P 4' }, async () => ({
            ...(await lftp(lab, {
              ...tag,
              contender: 'lftp mirror -R -P 4',
              dirs: DIRS,
              direction: 'upload',
              work,
              mirrorOptions: '--parallel=4',
              seed: SEED,
              maxSmall: 4096,
              timeoutMs: 10 * 60_000,
            })),
            linkRttMs: RTT,
            parallel: 4,
          })),
        );
      rmSync(previous, { recursive: true, force: true });
      rmSync(next, { recursive: true, force: true });
      await lab.resetRoot(server);
    }
  } finally {
    await lab.setRtt(before).catch((e: unknown) => console.log(`could not put the link back to RTT ${before}: ${String(e)}`));
  }
}

/** Files under a directory, by its first-level entries (what a rollback left in the releases directory). */
function leftIn(dir: string): Record<string, number> {
  const count = (d: string): number => readdirSync(d, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(d, e.name)) : 1), 0);
  try {
    return Object.fromEntries(readdirSync(dir, { withFileTypes: true }).map((e) => [e.name, e.isDirectory() ? count(join(dir, e.name)) : 1]));
  } catch {
    return {};
  }
}

/** Every path under root that ends with rel (a file's copies: live, staged, moved aside). */
function findAll(root: string, rel: string): string[] {
  const base = rel.split('/').pop() ?? '';
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 8) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name.includes(base)) out.push(p.slice(root.length));
    }
  };
  if (base) walk(root, 0);
  return out;
}

const isMixed = (r: Row) => r.scenario.startsWith(`RTT ${RTT} deploy over a release`);
/** lftp's window: its whole upload at RTT 50, here or in the latency rows (vsftpd, -P 4 preferred). */
const lftpWindow = (all: Row[], server: LabServerName): Row | undefined =>
  all.find((r) => isMixed(r) && r.server === server && r.contender.startsWith('lftp')) ??
  all.find((r) => r.scenario === `RTT ${RTT} upload` && r.server === server && r.contender === 'lftp mirror -R -P 4') ??
  all.find((r) => r.scenario === `RTT ${RTT} upload` && r.server === server && r.contender.startsWith('lftp')) ??
  // lftp's upload is the same whatever the server (each file lands as sent): vsftpd's from --wan.
  all.find((r) => r.scenario === `RTT ${RTT} upload` && r.contender === 'lftp mirror -R -P 4') ??
  all.find((r) => r.scenario === `RTT ${RTT} upload` && r.contender.startsWith('lftp'));
const twoDecimals = (ms: number | null | undefined) => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);

export function mixedTable(all: Row[]): string {
  const deploys = all.filter((r) => isMixed(r) && r.contender === DEPLOY);
  const lines = deploys.map((d) => {
    const rb = all.find((r) => isMixed(r) && r.server === d.server && r.contender === ROLLBACK);
    const l = lftpWindow(all, d.server);
    return `| ${d.server} | ${d.files} | ${d.parallel ?? '?'}${d.parallelChosen ? ` (${d.parallelChosen})` : ''} | ${twoDecimals(d.mixedMs)} | ${secs(d.wallMs)} | ${d.opened} | ${rb ? twoDecimals(rb.wallMs) : '—'} | ${rb?.rollback ? twoDecimals(rb.rollback.elapsedMs) : '—'} | ${rb?.rollback ? `${rb.rollback.restored} back, ${rb.rollback.removed} removed` : '—'} | ${rb?.opened ?? '—'} | ${rb ? (rb.complete ? 'yes' : '**no**') : '—'} | ${l ? `${secs(l.wallMs)} (${l.contender}${l.server === d.server ? '' : `, ${l.server}`}${l.complete ? '' : ', incomplete'})` : '—'} |`;
  });
  return [
    `Link RTT ${RTT} ms, limit ${LIMIT}; a release of N files on the server, every file changed locally; deploy = apply with twoPhase (default) and no parallel in the manifest.`,
    '',
    '| server | files | sessions | switch window | deploy wall | deploy connections (control + data) | rollback wall (process) | rollback own time | rollback files | rollback connections (control + data) | previous tree back, byte-equal | lftp whole-run window |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}

export function mixedTargets(all: Row[]): string {
  const deploys = all.filter((r) => isMixed(r) && r.contender === DEPLOY);
  const rbs = all.filter((r) => isMixed(r) && r.contender === ROLLBACK);
  const mark = (ok: boolean) => (ok ? 'met' : '**not met**');
  const winOk = deploys.filter((d) => d.complete && d.mixedMs !== null && d.mixedMs !== undefined && d.mixedMs <= 2000);
  const rbWallOk = rbs.filter((r) => r.complete && r.wallMs <= 2000);
  const rbOwnOk = rbs.filter((r) => r.complete && r.rollback && r.rollback.elapsedMs <= 2000);
  const rbNoData = rbs.filter((r) => r.rollback && r.rollback.data === 0);
  return [
    `- switch window ≤ 2 s at RTT ${RTT}: ${mark(deploys.length > 0 && winOk.length === deploys.length)}, met in ${winOk.length} of ${deploys.length} (${deploys.map((d) => `${d.server} ${twoDecimals(d.mixedMs)}`).join(', ')})`,
    `- rollback ≤ 2 s, whole process (start, login, lock, renames): ${mark(rbs.length > 0 && rbWallOk.length === rbs.length)}, met in ${rbWallOk.length} of ${rbs.length}; its own time (renames, from rollback's summary): met in ${rbOwnOk.length} of ${rbs.length} (${rbs.map((r) => `${r.server} ${twoDecimals(r.wallMs)} / ${twoDecimals(r.rollback?.elapsedMs)}`).join(', ')})`,
    `- rollback opens 0 data connections: ${mark(rbs.length > 0 && rbNoData.length === rbs.length)} (${rbs.map((r) => `${r.server} ${r.opened}`).join(', ')})`,
    `- rollback restores the previous tree byte for byte: ${mark(rbs.length > 0 && rbs.every((r) => r.complete))}; deploys complete: ${deploys.filter((d) => d.complete).length} of ${deploys.length}`,
  ].join('\n');
}
