/**
 * The bench's contenders and its table, shared by every mode (bench/run.ts, bench/ftps.ts,
 * bench/wan.ts): ftpsync (plan, then apply, measured at the firewall simulator) and lftp mirror,
 * each run from a clean start, each giving one Row.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Lab, LabServerName, SocketCount } from '../lab/lab-client.js';
import { runLftpScenario } from '../lab/lftp-baseline.js';

export const REPO = join(import.meta.dirname, '..');
export const CLI = join(REPO, 'dist', 'cli', 'main.js');
export const TIME_WAIT_S = 60;
export const HEADROOM = 0.8;

export interface Row {
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
  /** ftpsync: apply's own elapsed time for the server (the process wall minus start-up and planning). */
  applyMs: number | null;
  /**
   * Uploads: how long the site mixed two releases. ftpsync (two-phase): its switch, from the first
   * rename to the last (apply's switched.windowMs); lftp: its whole run (each file lands as sent).
   */
  mixedMs?: number | null;
  listingData: string;
  wallMs: number;
  /**
   * Theoretical minimum for this run's counted connections; null when not applicable. ftpsync:
   * the plan's (pauses + transfer time, firewall.md) plus planMs: no sync transfers before it knows what changed.
   */
  tStarMs: number | null;
  /**
   * ftpsync: the plan's own theoretical minimum (pauses + transfers), and how long apply itself
   * took to plan (from its process's start to its first action, less the lock: apply takes its
   * lock before it lists, and the lock is apply's overhead, not part of the minimum).
   */
  transferMinMs?: number;
  planMs?: number;
  /** ftpsync: how long apply took to take its remote lock (before planning), ms. */
  lockMs?: number;
  etaMs: number | null;
  /** ftpsync: the round trip plan measured (its timing model's basis), ms. */
  rttMs?: number;
  /** ftpsync: the sessions the plan used (its `parallel`); lftp: its -P. */
  parallel?: number;
  /** ftpsync with parallel: auto: why the plan chose that many sessions. */
  parallelChosen?: string;
  /** The lab link's round trip during the run (lab.setRtt), ms; absent: 0. */
  linkRttMs?: number;
  /** Rollback rows: what `ftpsync rollback --json` reported (its own time, files, connections). */
  rollback?: { elapsedMs: number; restored: number; removed: number; control: number; data: number };
  /** ftpsync: the server-side sockets by state in the fullest sample taken every 500 ms during apply. */
  fullest?: Record<string, number>;
  /** FTPS rows: the manifest's tls. */
  tls?: 'none' | 'explicit' | 'implicit';
  complete: boolean;
  /** The whole machine's CPU during apply (all cores, every process): time stolen by the hypervisor, and time busy. */
  cpu?: MachineCpu;
  /** ftpsync's apply process's own CPU (user + system, all its threads: bench/client-cpu.mjs), ms. */
  clientCpuMs?: number;
  /** Repeated contenders: every run's wall time, plan ETA and T* (the row itself is the median run). */
  runs?: Array<{ wallMs: number; etaMs: number | null; tStarMs: number | null; rttMs?: number; lockMs?: number; cpu?: MachineCpu; clientCpuMs?: number }>;
  /** Repeated contenders: the median over the runs of each run's wall/T* and wall/ETA (each run against its own plan and T*). */
  wallOverTStar?: number | null;
  wallOverEta?: number | null;
}

export interface MachineCpu {
  stealMs: number;
  busyMs: number;
}

/**
 * The machine's CPU time since boot, summed over its cores (/proc/stat's first line, in USER_HZ
 * ticks of 10 ms): busy (user, nice, system, irq, softirq) and steal (time a core was ready but
 * the hypervisor ran another guest). The lab's namespaces share it. Recorded per run so that a
 * slow run can be told apart: this machine's own load, or time taken from it.
 */
export function machineCpuNow(): MachineCpu | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return { busyMs: (user + nice + system + irq + softirq) * 10, stealMs: steal * 10 };
  } catch {
    return null; // not Linux
  }
}
export const cpuSince = (a: MachineCpu | null): MachineCpu | undefined => {
  const b = machineCpuNow();
  return a && b ? { busyMs: b.busyMs - a.busyMs, stealMs: b.stealMs - a.stealMs } : undefined;
};

/** What bench/client-cpu.mjs wrote as the process exited (absent: it did not get to exit normally). */
function readClientCpu(file: string): number | undefined {
  try {
    const cpuMs = (JSON.parse(readFileSync(file, 'utf8')) as { cpuMs?: unknown }).cpuMs;
    return typeof cpuMs === 'number' ? cpuMs : undefined;
  } catch {
    return undefined;
  }
}

export function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; out: string }> {
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

/** How a manifest differs from the bench's default one (plain FTP, timeWait 60 s, parallel 2). */
export interface ManifestOptions {
  tls?: 'none' | 'explicit' | 'implicit';
  timeWaitS?: number;
  /** Sessions; null leaves parallel out of the manifest (ftpsync's own default or choice). */
  parallel?: number | null;
}

export function manifest(lab: Lab, server: LabServerName, limit: number, sync: string, extra = '', o: ManifestOptions = {}): string {
  const s = lab.servers[server];
  const tls = o.tls ?? 'none';
  const port = tls === 'implicit' ? s.implicitTlsPort : s.port;
  const parallel = o.parallel === undefined ? 2 : o.parallel;
  return `version: 1
servers:
  ${server}:
    host: ${s.host}
    port: ${port}
    user: ${s.user}
    password: \${LAB_PASSWORD}
    tls: ${tls}
${tls === 'none' ? '' : `    ca: ${s.caFile}\n`}${extra}    firewall: { maxConnections: ${limit}, timeWait: ${o.timeWaitS ?? TIME_WAIT_S}s, headroom: ${HEADROOM},${parallel === null ? '' : ` parallel: ${parallel},`} maxSessions: 4 }
syncs:
  - ${sync}
`;
}

/**
 * How long to leave the server alone before a contender's process starts. proftpd's master process
 * accepts no connection for 400 ms after one of its sessions ends (strace: two 200 ms sleeps after
 * each SIGCHLD), so a process that logs in right after another one logged out waits up to that
 * long for its banner. Back to back, apply's wait depended on how soon it followed its own plan:
 * proftpd's incremental came out 100-200 ms over its ETA in every full run, and a plan that
 * followed an apply measured the wait into its ETA. Every server gets the same pause.
 */
const SETTLE_MS = 500;
export const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/**
 * One contender, or a row saying it failed (a plan that printed no JSON, a crashed process): one
 * failure must not lose the rest of a half-hour run.
 */
export async function attempt(
  fallback: Omit<
    Row,
    'blocked' | 'filesAtBlock' | 'peak' | 'peakTimeWait' | 'opened' | 'applyMs' | 'listingData' | 'wallMs' | 'tStarMs' | 'etaMs' | 'complete'
  >,
  once: () => Promise<Row>,
): Promise<Row> {
  try {
    return await once();
  } catch (e) {
    console.log(`${fallback.scenario} ${fallback.server} ${fallback.contender}: FAILED: ${e instanceof Error ? e.message.slice(0, 2000) : String(e)}`);
    return {
      ...fallback,
      blocked: false,
      filesAtBlock: null,
      peak: 0,
      peakTimeWait: 0,
      opened: '?',
      applyMs: null,
      listingData: '—',
      wallMs: 0,
      tStarMs: null,
      etaMs: null,
      complete: false,
    };
  }
}

/** Where ftpsync() writes a row's manifest (a later rollback reads the same one). */
export const manifestFile = (work: string, scenario: string, server: LabServerName, contender: string) =>
  join(work, `${scenario}-${server}-${contender}`.replace(/\W+/g, '_') + '.yml');

/** plan (for ETA and T*), then apply through the simulator; the firewall measured during apply. */
export async function ftpsync(
  lab: Lab,
  o: {
    scenario: string;
    server: LabServerName;
    limit: number;
    contender: string;
    files: number;
    yaml: string;
    work: string;
    check: () => boolean;
    planOnly?: boolean;
    /** Bound on apply's process (default 40 min). */
    timeoutMs?: number;
  },
): Promise<Row> {
  const file = manifestFile(o.work, o.scenario, o.server, o.contender);
  writeFileSync(file, o.yaml);
  const env = { LAB_PASSWORD: lab.servers[o.server].password, CI: 'true' };
  // A run the simulator blocked leaves sessions hanging (ESTABLISHED, CLOSE_WAIT) that never
  // drain by themselves: reset them, as lftp's scenarios do, before waiting for a quiet start.
  await lab.dropClientSockets();
  await lab.armFirewall({ limit: o.limit, blockMs: 60_000, intervalMs: 200 }, 0);
  await settle();
  const planStarted = Date.now();
  const planned = await run(process.execPath, [CLI, 'plan', '-c', file, '--format', 'json'], env, 120_000);
  const planWallMs = Date.now() - planStarted;
  if (!planned.out.includes('{')) throw new Error(`plan printed no JSON (exit ${planned.code}): ${planned.out.slice(-1500)}`);
  const plan = JSON.parse(planned.out.slice(planned.out.indexOf('{'))) as {
    servers: Array<{
      etaMs: number;
      theoreticalMinMs: number;
      rttMs?: number;
      parallel?: number;
      parallelChosen?: string;
      listing: { dataConnections: number };
      actions: unknown[];
    }>;
  };
  const sp = plan.servers[0]!;
  if (o.planOnly) {
    const stats = await lab.firewall.stats();
    return {
      scenario: o.scenario,
      server: o.server,
      limit: o.limit,
      contender: o.contender,
      files: o.files,
      blocked: stats.blocks.length > 0,
      filesAtBlock: null,
      peak: stats.peak,
      peakTimeWait: stats.peakTimeWait,
      opened: '1 + 0',
      applyMs: null,
      listingData: String(sp.listing.dataConnections),
      wallMs: planWallMs,
      tStarMs: null,
      etaMs: null,
      complete: sp.actions.length === 0,
    };
  }
  await settle();
  const started = Date.now();
  const cpuAtStart = machineCpuNow();
  // The server-side sockets by state, sampled: the fullest sample says what the peak was made of.
  let fullest: SocketCount | null = null;
  let applying = true;
  const sampling = (async () => {
    while (applying) {
      const c = await lab.serverSockets().catch(() => null);
      if (c && (!fullest || c.total > fullest.total)) fullest = c;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  const cpuFile = `${file}.client-cpu.json`;
  rmSync(cpuFile, { force: true });
  const r = await run(
    process.execPath,
    [CLI, 'apply', '-c', file, '--json'],
    { ...env, NODE_OPTIONS: `--import ${pathToFileURL(join(REPO, 'bench', 'client-cpu.mjs')).href}`, FTPSYNC_BENCH_CPU_FILE: cpuFile },
    o.timeoutMs ?? 40 * 60_000,
  );
  const wallMs = Date.now() - started;
  const clientCpuMs = readClientCpu(cpuFile);
  applying = false;
  await sampling;
  const cpu = cpuSince(cpuAtStart);
  const stats = await lab.firewall.stats();
  const summary = r.out
    .split('\n')
    .filter((l) => l.startsWith('{"event":"summary"'))
    .map(
      (l) =>
        JSON.parse(l) as {
          results: Array<{
            connections: { control: number; data: number };
            elapsedMs: number;
            planMs?: number;
            lockMs?: number;
            switched?: { windowMs: number };
          }>;
        },
    )[0]?.results[0];
  if (!summary) console.log(r.out.slice(-2000));
  // A sync cannot transfer before it knows what changed: T* starts with apply's own planning
  // (its process's start, the local walk, the remote listing), measured inside that process.
  // Its lock (taken before it lists) stays on the run's side, as when it was taken after planning.
  const lockMs = summary?.lockMs ?? 0;
  const applyPlanMs = summary?.planMs !== undefined ? summary.planMs - lockMs : undefined;
  return {
    scenario: o.scenario,
    server: o.server,
    limit: o.limit,
    contender: o.contender,
    files: o.files,
    blocked: stats.blocks.length > 0,
    filesAtBlock: null,
    peak: stats.peak,
    peakTimeWait: stats.peakTimeWait,
    opened: summary ? `${summary.connections.control} + ${summary.connections.data}` : '?',
    applyMs: summary?.elapsedMs ?? null,
    mixedMs: summary?.switched?.windowMs ?? null,
    listingData: String(sp.listing.dataConnections),
    wallMs,
    tStarMs: applyPlanMs !== undefined ? sp.theoreticalMinMs + applyPlanMs : null,
    transferMinMs: sp.theoreticalMinMs,
    ...(applyPlanMs !== undefined ? { planMs: applyPlanMs, lockMs } : {}),
    etaMs: sp.etaMs,
    ...(sp.rttMs !== undefined ? { rttMs: sp.rttMs } : {}),
    ...(sp.parallel !== undefined ? { parallel: sp.parallel } : {}),
    ...(sp.parallelChosen !== undefined ? { parallelChosen: sp.parallelChosen } : {}),
    ...(cpu ? { cpu } : {}),
    ...(clientCpuMs !== undefined ? { clientCpuMs } : {}),
    ...(fullest ? { fullest: (fullest as SocketCount).byState } : {}),
    complete: r.code === 0 && o.check(),
  };
}

export async function lftp(
  lab: Lab,
  o: {
    scenario: string;
    server: LabServerName;
    limit: number;
    contender: string;
    files: number;
    dirs: number;
    direction: 'download' | 'upload';
    work: string;
    mirrorOptions?: string;
    paced?: boolean;
    /** The tree (default: seed 3000, files of up to 2 KB, as ftpsync's in bench/run.ts). */
    seed?: number;
    maxSmall?: number;
    /** Bound on lftp (default 2 min; paced 40 min). */
    timeoutMs?: number;
  },
): Promise<Row> {
  const every = Math.floor(o.limit * HEADROOM);
  await settle();
  const r = await runLftpScenario(
    lab,
    {
      server: o.server,
      direction: o.direction,
      mode: 'passive',
      files: o.files,
      dirs: o.dirs,
      limit: o.limit,
      // A blocked lftp retries for minutes: stop it once the block is certain.
      timeoutMs: o.timeoutMs ?? (o.paced ? 40 * 60_000 : 120_000),
      stopAfterBlockMs: 3000,
      seed: o.seed ?? 3000,
      maxSmall: o.maxSmall ?? 2048,
      ...(o.mirrorOptions ? { mirrorOptions: o.mirrorOptions } : {}),
      ...(o.paced ? { paced: { every, sleepS: TIME_WAIT_S + 5 } } : {}),
    },
    o.work,
  );
  // lftp's own T*: the same formula for its counted connections (one per file and per listed directory, downloads).
  const counted = o.direction === 'download' ? o.files + o.dirs + 1 : 0;
  const tStarMs = o.direction === 'download' ? (Math.ceil(counted / every) - 1) * TIME_WAIT_S * 1000 : null;
  return {
    scenario: o.scenario,
    server: o.server,
    limit: o.limit,
    contender: o.contender,
    files: o.files,
    blocked: r.blocked,
    filesAtBlock: r.filesAtBlock,
    peak: r.peak,
    peakTimeWait: r.peakTimeWait,
    opened: '—',
    applyMs: null,
    mixedMs: o.direction === 'upload' ? r.wallMs : null,
    listingData: o.direction === 'download' ? String(o.dirs + 1) : '—',
    wallMs: r.wallMs,
    tStarMs,
    etaMs: null,
    complete: r.filesDone === o.files && !r.killedByTimeout,
  };
}

export const secs = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);
export const isFtpsyncApply = (r: Row) => r.contender.startsWith('ftpsync') && r.etaMs !== null;
/** wall/T* and wall/ETA: the median of each run's own ratio where the row was repeated. */
export const overTStar = (r: Row): number | null =>
  r.wallOverTStar !== undefined ? r.wallOverTStar : r.tStarMs && r.tStarMs > 0 ? r.wallMs / r.tStarMs : null;
export const overEta = (r: Row): number | null => (r.wallOverEta !== undefined ? r.wallOverEta : r.etaMs !== null ? r.wallMs / Math.max(1, r.etaMs) : null);
export const pct = (ratio: number) => `${((ratio - 1) * 100).toFixed(0)} %`;
/** Runs with less than this share of the machine's CPU stolen count as quiet. */
export const QUIET = 0.02;
/** Share of the machine's CPU (all cores over the run's wall time) the hypervisor took during one run. */
export const stolenShare = (run: { wallMs: number; cpu?: MachineCpu }): number | null =>
  run.cpu ? run.cpu.stealMs / (Math.max(1, run.wallMs) * cpus().length) : null;
/** The median element by `by` (the lower middle one of an even count). */
export const middle = <T>(xs: T[], by: (x: T) => number): T => [...xs].sort((a, b) => by(a) - by(b))[Math.floor((xs.length - 1) / 2)]!;
export const middleOf = (xs: number[]): number => middle(xs, (x) => x);
/** A row's stolen share: the median over its runs. */
export const rowStolen = (r: Row): number | null => {
  const xs = (r.runs ?? [r]).map(stolenShare).filter((x): x is number => x !== null);
  return xs.length ? middleOf(xs) : null;
};
export const stolenNote = (r: Row): string => {
  const s = rowStolen(r);
  return s === null ? '' : ` (${(s * 100).toFixed(1)} % stolen)`;
};

/** Uploads: how long the site mixed two releases (lftp: its whole run); '—' for other rows and older results. */
export const mixed = (r: Row): string =>
  r.mixedMs === undefined || r.mixedMs === null ? '—' : r.mixedMs < 10_000 ? `${(r.mixedMs / 1000).toFixed(2)} s` : secs(r.mixedMs);

export function table(rows: Row[]): string {
  const lines = rows.map((r) => {
    const t = overTStar(r);
    const e = overEta(r);
    const ratio = t !== null && !r.blocked ? t.toFixed(2) : '—';
    const eta = r.etaMs !== null && e !== null ? `${secs(r.etaMs)} (${pct(e)})` : '—';
    const spread =
      r.runs && r.runs.length > 1
        ? `; median of ${r.runs.length}: ${secs(Math.min(...r.runs.map((x) => x.wallMs)))}–${secs(Math.max(...r.runs.map((x) => x.wallMs)))}`
        : '';
    const wall = (r.applyMs !== null ? `${secs(r.wallMs)} (${secs(r.applyMs)})` : secs(r.wallMs)) + spread;
    const tStar =
      r.planMs !== undefined && r.transferMinMs !== undefined ? `${secs(r.tStarMs)} (${secs(r.planMs)} + ${secs(r.transferMinMs)})` : secs(r.tStarMs);
    return `| ${r.scenario} | ${r.server} | ${r.limit} | ${r.contender} | ${r.files} | ${r.blocked ? `**yes** (${r.filesAtBlock ?? '?'} files)` : 'no'} | ${r.peak} | ${r.peakTimeWait} | ${r.opened} | ${r.listingData} | ${wall} | ${tStar} | ${ratio} | ${eta} | ${mixed(r)} | ${r.complete ? 'yes' : 'no'} |`;
  });
  return [
    '| scenario | server | limit | contender | files | blocked | peak counted | TIME_WAIT at peak | opened (control + data) | listing data conns | wall (apply) | T* (ftpsync: plan + minimum) | wall/T* | plan ETA (off by) | mixed window (uploads) | complete |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}

/**
 * Run a contender n times, each from the same start (`prepare`), and report the run with the median
 * wall time, and the median of each run's wall/T* and wall/ETA (each run against the T* and the
 * plan measured with it: a slow spell of the machine slows both); the safety figures are the worst
 * of all runs (any block, the highest peak, every run complete). On this shared machine the same
 * run's time varies by up to 1.8× within an hour (docs/benchmarks.md), more than the ETA target
 * allows: one run cannot decide it.
 */
export async function medianOf(n: number, prepare: () => void | Promise<void>, once: () => Promise<Row>): Promise<Row> {
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    await prepare();
    const r = await once();
    if (n > 1)
      console.log(
        `  run ${i + 1} of ${n}: ${secs(r.wallMs)}, T* ${secs(r.tStarMs)}, plan ETA ${secs(r.etaMs)}, peak ${r.peak}${r.cpu ? `, machine busy ${secs(r.cpu.busyMs)}, stolen ${secs(r.cpu.stealMs)}` : ''}`,
      );
    rows.push(r);
  }
  const medianRatio = (ratio: (r: Row) => number | null): number | null => {
    const xs = rows.map(ratio).filter((x): x is number => x !== null);
    return xs.length === rows.length ? middleOf(xs) : null;
  };
  const median = middle(rows, (r) => r.wallMs);
  return {
    ...median,
    wallOverTStar: medianRatio(overTStar),
    wallOverEta: medianRatio(overEta),
    blocked: rows.some((r) => r.blocked),
    peak: Math.max(...rows.map((r) => r.peak)),
    peakTimeWait: Math.max(...rows.map((r) => r.peakTimeWait)),
    complete: rows.every((r) => r.complete),
    runs: rows.map((r) => ({
      wallMs: r.wallMs,
      etaMs: r.etaMs,
      tStarMs: r.tStarMs,
      ...(r.rttMs !== undefined ? { rttMs: r.rttMs } : {}),
      ...(r.lockMs !== undefined ? { lockMs: r.lockMs } : {}),
      ...(r.cpu ? { cpu: r.cpu } : {}),
      ...(r.clientCpuMs !== undefined ? { clientCpuMs: r.clientCpuMs } : {}),
    })),
  };
}
