/**
 * The benchmark (`npm run bench`, run inside the lab's client namespace by scripts/bench.mjs):
 * ftpsync against lftp and against the limit, side by side in one run, through the firewall
 * simulator. Prints a table, writes bench/results/bench-<time>.json.
 *   --quick       one server (vsftpd), limit 100, 200 files in 4 directories (~5 min)
 *   (default)     vsftpd, pure-ftpd, proftpd at limit 300, 3,000 files in 60 directories; lftp's
 *                 paced workaround on vsftpd only (12 sleeps of 65 s per server), ftpsync's paced
 *                 normal close in --quick only (the same minutes): about 30 min in all
 *   --plan-only   only the 100,000-file plan (no lab needed)
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { planBench, type Plan100kResult } from './plan-100k.js';
import { getLab, type Lab, type LabServerName } from '../test/lab/lab-client.js';
import { compareTrees, generateTree } from '../test/lab/fixtures.js';
import { runLftpScenario } from '../test/lab/lftp-baseline.js';

const REPO = join(import.meta.dirname, '..');
const CLI = join(REPO, 'dist', 'cli', 'main.js');
const TIME_WAIT_S = 60;
const HEADROOM = 0.8;

interface Row {
  scenario: string;
  server: LabServerName;
  limit: number;
  contender: string;
  files: number;
  blocked: boolean;
  filesAtBlock: number | null;
  peak: number;
  peakTimeWait: number;
  /** Connections the contender opened (ftpsync's ledger; lftp: not measured). */
  opened: string;
  listingData: string;
  wallMs: number;
  /** Theoretical minimum for this run's counted connections; null when not applicable. */
  tStarMs: number | null;
  etaMs: number | null;
  complete: boolean;
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const planOnly = args.includes('--plan-only');

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function manifest(lab: Lab, server: LabServerName, limit: number, sync: string, extra = ''): string {
  const s = lab.servers[server];
  return `version: 1
servers:
  ${server}:
    host: ${s.host}
    port: ${s.port}
    user: ${s.user}
    password: \${LAB_PASSWORD}
    tls: none
${extra}    firewall: { maxConnections: ${limit}, timeWait: ${TIME_WAIT_S}s, headroom: ${HEADROOM}, parallel: 2, maxSessions: 4 }
syncs:
  - ${sync}
`;
}

/** plan (for ETA and T*), then apply through the simulator; the firewall measured during apply. */
async function ftpsync(lab: Lab, o: { scenario: string; server: LabServerName; limit: number; contender: string; files: number; yaml: string; work: string; check: () => boolean; planOnly?: boolean }): Promise<Row> {
  const file = join(o.work, `${o.scenario}-${o.server}-${o.contender.replace(/\W+/g, '_')}.yml`);
  writeFileSync(file, o.yaml);
  const env = { LAB_PASSWORD: lab.servers[o.server].password, CI: 'true' };
  await lab.waitQuiet();
  await lab.firewall.reset();
  await lab.firewall.configure({ limit: o.limit, blockMs: 60_000, intervalMs: 200 });
  const planStarted = Date.now();
  const planned = await run(process.execPath, [CLI, 'plan', '-c', file, '--format', 'json'], env, 120_000);
  const planMs = Date.now() - planStarted;
  const plan = JSON.parse(planned.out.slice(planned.out.indexOf('{'))) as { servers: Array<{ etaMs: number; theoreticalMinMs: number; listing: { dataConnections: number }; actions: unknown[] }> };
  const sp = plan.servers[0]!;
  if (o.planOnly) {
    const stats = await lab.firewall.stats();
    return { scenario: o.scenario, server: o.server, limit: o.limit, contender: o.contender, files: o.files, blocked: stats.blocks.length > 0, filesAtBlock: null, peak: stats.peak, peakTimeWait: stats.peakTimeWait, opened: '1 control', listingData: String(sp.listing.dataConnections), wallMs: planMs, tStarMs: null, etaMs: null, complete: sp.actions.length === 0 };
  }
  const started = Date.now();
  const r = await run(process.execPath, [CLI, 'apply', '-c', file], env, 40 * 60_000);
  const wallMs = Date.now() - started;
  const stats = await lab.firewall.stats();
  const conns = /connections (\d+) control \+ (\d+) data/.exec(r.out);
  return {
    scenario: o.scenario, server: o.server, limit: o.limit, contender: o.contender, files: o.files,
    blocked: stats.blocks.length > 0, filesAtBlock: null, peak: stats.peak, peakTimeWait: stats.peakTimeWait,
    opened: conns ? `${conns[1]} + ${conns[2]}` : '?', listingData: String(sp.listing.dataConnections),
    wallMs, tStarMs: sp.theoreticalMinMs, etaMs: sp.etaMs, complete: r.code === 0 && o.check(),
  };
}

async function lftp(lab: Lab, o: { scenario: string; server: LabServerName; limit: number; contender: string; files: number; dirs: number; direction: 'download' | 'upload'; work: string; mirrorOptions?: string; paced?: boolean }): Promise<Row> {
  const every = Math.floor(o.limit * HEADROOM);
  const r = await runLftpScenario(
    lab,
    {
      server: o.server, direction: o.direction, mode: 'passive', files: o.files, dirs: o.dirs, limit: o.limit,
      // A blocked lftp retries for minutes: stop it once the block is certain.
      timeoutMs: o.paced ? 40 * 60_000 : 45_000,
      seed: 3000, maxSmall: 2048,
      ...(o.mirrorOptions ? { mirrorOptions: o.mirrorOptions } : {}),
      ...(o.paced ? { paced: { every, sleepS: TIME_WAIT_S + 5 } } : {}),
    },
    o.work,
  );
  // lftp's own T*: the same formula for its counted connections (one per file and per listed directory, downloads).
  const counted = o.direction === 'download' ? o.files + o.dirs + 1 : 0;
  const tStarMs = o.direction === 'download' ? (Math.ceil(counted / every) - 1) * TIME_WAIT_S * 1000 : null;
  return {
    scenario: o.scenario, server: o.server, limit: o.limit, contender: o.contender, files: o.files,
    blocked: r.blocked, filesAtBlock: r.filesAtBlock, peak: r.peak, peakTimeWait: r.peakTimeWait,
    opened: '—', listingData: o.direction === 'download' ? String(o.dirs + 1) : '—', wallMs: r.wallMs, tStarMs, etaMs: null,
    complete: r.filesDone === o.files && !r.killedByTimeout,
  };
}

function table(rows: Row[]): string {
  const s = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);
  const lines = rows.map((r) => {
    const ratio = r.tStarMs && r.tStarMs > 0 && !r.blocked ? (r.wallMs / r.tStarMs).toFixed(2) : '—';
    const eta = r.etaMs !== null ? `${s(r.etaMs)} (${((r.wallMs / Math.max(1, r.etaMs) - 1) * 100).toFixed(0)} %)` : '—';
    return `| ${r.scenario} | ${r.server} | ${r.limit} | ${r.contender} | ${r.files} | ${r.blocked ? `**yes** (${r.filesAtBlock ?? '?'} files)` : 'no'} | ${r.peak} | ${r.peakTimeWait} | ${r.opened} | ${r.listingData} | ${s(r.wallMs)} | ${s(r.tStarMs)} | ${ratio} | ${eta} | ${r.complete ? 'yes' : 'no'} |`;
  });
  return [
    '| scenario | server | limit | contender | files | blocked | peak counted | TIME_WAIT at peak | opened (control + data) | listing data conns | wall | T* | wall/T* | plan ETA (off by) | complete |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}

function planTable(p: Plan100kResult): string {
  return `| files | directories | plan time | peak RSS | actions | listing data connections |\n|---|---|---|---|---|---|\n| ${p.files.toLocaleString('en')} | ${p.dirs} | ${(p.planMs / 1000).toFixed(2)} s | ${p.peakRssMb} MB | ${p.actions} | ${p.listingDataConnections} |`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
  const rows: Row[] = [];
  const plan100k = await planBench(quick ? 20_000 : 100_000);
  console.log(`plan for ${plan100k.files} unchanged files: ${plan100k.planMs} ms, peak RSS ${plan100k.peakRssMb} MB, ${plan100k.actions} actions`);
  if (!planOnly) {
    const lab = getLab();
    const servers: LabServerName[] = quick ? ['vsftpd'] : ['vsftpd', 'pure-ftpd', 'proftpd'];
    const limit = quick ? 100 : 300;
    const files = quick ? 200 : 3000;
    const dirs = quick ? 4 : 60;
    const work = mkdtempSync(join(tmpdir(), 'ftpsync-bench-'));
    const say = (r: Row) => {
      rows.push(r);
      console.log(`${r.scenario} ${r.server} ${r.contender}: ${r.blocked ? 'BLOCKED' : 'not blocked'}, peak ${r.peak} (${r.peakTimeWait} TIME_WAIT), ${(r.wallMs / 1000).toFixed(1)} s, complete ${r.complete}`);
    };
    try {
      for (const server of servers) {
        const root = lab.servers[server].root;
        // 1. Download: the tree on the server, an empty local directory.
        const seedTree = join(work, `seed-${server}`);
        generateTree(seedTree, { seed: 3000, files, dirs, depth: 2, maxSmall: 2048 });
        const prepareRemote = async () => {
          await lab.resetRoot(server);
          cpSync(seedTree, join(root, 'site'), { recursive: true });
          await lab.chownRoot(server);
        };
        await prepareRemote();
        const down = join(work, `down-${server}`);
        say(await ftpsync(lab, { scenario: '1 download', server, limit, contender: 'ftpsync (probe defaults: dataClose reset)', files, work, check: () => compareTrees(join(root, 'site'), down).equal, yaml: manifest(lab, server, limit, `{ name: site, servers: [${server}], direction: download, local: ${down}, remote: /site }`, '    dataClose: reset\n') }));
        rmSync(down, { recursive: true, force: true });
        // The paced normal close takes ceil(N/B) windows of a minute: shown in --quick only, where N is small.
        if (quick) {
          const downNormal = join(work, `down-normal-${server}`);
          say(await ftpsync(lab, { scenario: '1 download', server, limit, contender: 'ftpsync (normal close, paced)', files, work, check: () => compareTrees(join(root, 'site'), downNormal).equal, yaml: manifest(lab, server, limit, `{ name: site, servers: [${server}], direction: download, local: ${downNormal}, remote: /site }`) }));
          rmSync(downNormal, { recursive: true, force: true });
        }
        say(await lftp(lab, { scenario: '1 download', server, limit, contender: 'lftp mirror (defaults)', files, dirs, direction: 'download', work }));
        if (!quick) say(await lftp(lab, { scenario: '1 download', server, limit, contender: 'lftp mirror --parallel=1', files, dirs, direction: 'download', work, mirrorOptions: '--parallel=1' }));
        if (quick || server === 'vsftpd') say(await lftp(lab, { scenario: '1 download', server, limit, contender: `lftp --script + sleep ${TIME_WAIT_S + 5}s every ${Math.floor(limit * HEADROOM)} files`, files, dirs, direction: 'download', work, paced: true }));

        // 2. Upload to an empty remote (lftp first: its scenario empties the server, and ftpsync's
        // upload is the starting point of the incremental one).
        say(await lftp(lab, { scenario: '2 upload', server, limit, contender: 'lftp mirror -R (defaults)', files, dirs, direction: 'upload', work }));
        await lab.resetRoot(server);
        say(await ftpsync(lab, { scenario: '2 upload', server, limit, contender: 'ftpsync', files, work, check: () => compareTrees(seedTree, join(root, 'www')).equal, yaml: manifest(lab, server, limit, `{ name: site, servers: [${server}], direction: upload, local: ${seedTree}, remote: /www, delete: true }`) }));

        // 3. Incremental: 50 files changed and 10 deleted (quick: 10 and 2), against the uploaded tree.
        const changed = quick ? 10 : 50;
        const deleted = quick ? 2 : 10;
        const seedFiles = generateTree(join(work, 'scratch'), { seed: 3000, files, dirs, depth: 2, maxSmall: 2048 });
        rmSync(join(work, 'scratch'), { recursive: true, force: true });
        for (let i = 0; i < changed; i++) writeFileSync(join(seedTree, seedFiles[i * 3]!), `changed ${i} ${Date.now()}\n`);
        for (let i = 0; i < deleted; i++) rmSync(join(seedTree, seedFiles[seedFiles.length - 1 - i * 5]!), { force: true });
        say(await ftpsync(lab, { scenario: `3 incremental (${changed} changed, ${deleted} deleted)`, server, limit, contender: 'ftpsync', files: changed, work, check: () => compareTrees(seedTree, join(root, 'www'), (p) => p.startsWith('.ftpsync')).equal, yaml: manifest(lab, server, limit, `{ name: site, servers: [${server}], direction: upload, local: ${seedTree}, remote: /www, delete: true }`) }));

        // 4. Plan only, unchanged tree: what listing costs.
        say(await ftpsync(lab, { scenario: '4 plan, unchanged', server, limit, contender: 'ftpsync plan', files, work, planOnly: true, check: () => true, yaml: manifest(lab, server, limit, `{ name: site, servers: [${server}], direction: upload, local: ${seedTree}, remote: /www, delete: true }`) }));
        rmSync(seedTree, { recursive: true, force: true });
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
      await lab.firewall.configure({ limit: null, intervalMs: 1000 });
      await lab.firewall.reset();
    }
  }
  const totalS = Math.round((Date.now() - started) / 1000);
  const report = [`machine: ${machine}`, `mode: ${planOnly ? 'plan-only' : quick ? 'quick' : 'full'}; bench wall time ${Math.floor(totalS / 60)} min ${totalS % 60} s`, '', rows.length ? table(rows) : '', '', planTable(plan100k)].join('\n');
  console.log(`\n${report}`);
  mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
  const out = join(REPO, 'bench', 'results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify({ machine, mode: planOnly ? 'plan-only' : quick ? 'quick' : 'full', totalS, rows, plan100k }, null, 2));
  console.log(`\nresults: ${out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
