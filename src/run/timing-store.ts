/**
 * What apply learned about a server's speed, for the next plan's ETA: the time each upload and
 * download effectively took (from throughput, see perTransferMs), minus their round trips (the
 * part that does not change with the network). The figure planned with is that of the median of
 * the recent runs, weighted by how many transfers each measured (see medianRun): one slow spell
 * of the machine or the server does not move the next ETA, and a 50-file incremental run (slower
 * per file: a cold start) barely counts against 3,000 files. Kept beside the journal in
 * .ftpsync/timing.json, keyed by host:port (and tls: workKey). Servers differ in per-transfer work
 * (docs/benchmarks.md); the first apply fixes that.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROUND_TRIPS, type LearnedWork } from '../budget/cost.js';

/** Fewer samples than this say more about start-up than about the server. */
export const MIN_SAMPLES = 20;

/** A run weighs as at most this many transfers, so no single big run outvotes the others. */
const MAX_RUN_WEIGHT = 3_000;

/**
 * The recent runs kept: the newest ones until they weigh 5 big runs (a server that changed shows
 * after 3 of them), at most 20. By weight, not by count: five 50-file incremental runs (slower
 * per file) must not push out what 3,000-file runs showed (they did, and the next big run's ETA
 * came out far too high: docs/benchmarks.md).
 */
const RECENT_WEIGHT = 5 * MAX_RUN_WEIGHT;
export const MAX_RUNS = 20;

/** The newest runs that together weigh RECENT_WEIGHT (pure), oldest first. */
export function recentRuns(runs: WorkFigure[]): WorkFigure[] {
  const kept: WorkFigure[] = [];
  let weight = 0;
  for (let i = runs.length - 1; i >= 0 && weight < RECENT_WEIGHT && kept.length < MAX_RUNS; i--) {
    kept.unshift(runs[i]!);
    weight += Math.min(MAX_RUN_WEIGHT, runs[i]!.samples);
  }
  return kept;
}

export interface TransferTimes {
  /** Effective time per successful action of that kind in one session (perTransferMs), ms; how many. */
  upload?: { eachMs: number; samples: number; tripsEach?: number };
  download?: { eachMs: number; samples: number; tripsEach?: number };
}

/** One run's work per transfer beyond its round trips, ms, how many transfers showed it, and the round trip plan measured for it. */
export interface MeasuredWork {
  download?: WorkFigure;
  upload?: WorkFigure;
}
export interface WorkFigure {
  workMs: number;
  samples: number;
  rttMs: number;
  /** Round trips per transfer the run's model subtracted (TransferTimes' tripsEach); absent: the kind's fixed count. */
  trips?: number;
}

/** One kind of transfer in a run, as the executor saw it. */
export interface TransferSpan {
  /** When the first one started and the last one ended (ms, any clock). */
  firstStartMs: number;
  lastEndMs: number;
  /** How many succeeded. */
  count: number;
  /** Time between the two when no session worked: pauses for the budget, a block waited out. */
  idleMs: number;
  /** Round trips the model gives them, summed (transferRoundTrips; absent: the kind's fixed count). */
  trips?: number;
}

/**
 * Time per transfer in one session, from throughput (pure): the span they took, without idle
 * time, times the sessions that shared it, over how many. This is what the plan's ETA adds up
 * (n transfers over `parallel` lanes). Per-transfer stopwatch times were not: on a LAN they are
 * bimodal and their trimmed mean came out well below what runs took (docs/benchmarks.md).
 */
export function perTransferMs(span: TransferSpan, sessions: number): number {
  const busy = Math.max(0, span.lastEndMs - span.firstStartMs - span.idleMs);
  return (busy * Math.max(1, Math.min(sessions, span.count))) / Math.max(1, span.count);
}

interface StoredEntry extends LearnedWork {
  /** Written before runs were kept (read once, as one run). */
  downloadSamples?: number;
  uploadSamples?: number;
  /** The recent runs the figures above are the median of, oldest first. */
  downloadRuns?: unknown;
  uploadRuns?: unknown;
  at: string;
}

export function timingKey(server: { host: string; port: number }): string {
  return `${server.host}:${server.port}`;
}

/**
 * The key of a server's transfer speed: plain FTP and FTPS on the same host and port are not the
 * same speed (a TLS data connection costs a handshake), so a switch of `tls` starts a new record.
 */
export function workKey(server: { host: string; port: number; tls: string }): string {
  return server.tls === 'none' ? timingKey(server) : `${timingKey(server)} tls:${server.tls}`;
}

export function timingStorePath(manifestFile: string): string {
  return join(dirname(manifestFile), '.ftpsync', 'timing.json');
}

function readAll(file: string): Record<string, StoredEntry> {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, StoredEntry>) : {};
  } catch {
    // Absent or unreadable: plan falls back to the lab's figures.
    return {};
  }
}

const finiteWork = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) && x >= 0 && x < 60_000 ? x : undefined);

export function readLearnedWork(file: string, key: string): LearnedWork {
  const e = readAll(file)[key];
  const out: LearnedWork = {};
  if (!e) return out;
  for (const kind of ['download', 'upload'] as const) {
    const work = finiteWork(e[`${kind}WorkMs`]);
    if (work === undefined) continue;
    out[`${kind}WorkMs`] = work;
    const rtt = finiteWork(e[`${kind}RttMs`]);
    if (rtt !== undefined) out[`${kind}RttMs`] = rtt;
    const trips = finiteTrips(e[`${kind}Trips`]);
    if (trips !== undefined) out[`${kind}Trips`] = trips;
  }
  return out;
}

const finiteTrips = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) && x > 0 && x <= 100 ? x : undefined);

/** The work part of what was measured (pure): the time per transfer minus the round trips the model adds back. */
export function learnedFrom(times: TransferTimes, rttMs: number): MeasuredWork {
  const work = (t: { eachMs: number; samples: number; tripsEach?: number } | undefined, fixed: number): WorkFigure | undefined =>
    t && t.samples >= MIN_SAMPLES
      ? {
          workMs: Math.max(0, t.eachMs - (t.tripsEach ?? fixed) * rttMs),
          samples: t.samples,
          rttMs,
          ...(t.tripsEach !== undefined ? { trips: t.tripsEach } : {}),
        }
      : undefined;
  // What this run's transfers took in round trips (plain passive or not; staged, renamed, timed), so the model adds back the same.
  const download = work(times.download, ROUND_TRIPS.download);
  const upload = work(times.upload, ROUND_TRIPS.upload);
  return { ...(download ? { download } : {}), ...(upload ? { upload } : {}) };
}

/**
 * The run to plan with (pure): of `runs`, the one whose time per transfer (work + round trips) is
 * the median, each run weighted by its transfers (at most MAX_RUN_WEIGHT). Where the weights split
 * exactly in half, the two runs in the middle are averaged. The same run's time varies a lot
 * within minutes, and a weighted mean let one slow run move the next ETA (docs/benchmarks.md).
 */
export function medianRun(runs: WorkFigure[], trips: number): WorkFigure | undefined {
  const total = (r: WorkFigure) => r.workMs + (r.trips ?? trips) * r.rttMs;
  const weight = (r: WorkFigure) => Math.min(MAX_RUN_WEIGHT, r.samples);
  const sorted = [...runs].sort((a, b) => total(a) - total(b));
  const half = sorted.reduce((w, r) => w + weight(r), 0) / 2;
  let seen = 0;
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i]!;
    seen += weight(r);
    if (seen < half) continue;
    const next = sorted[i + 1];
    if (seen > half || !next) return r;
    const mean = (a: number, b: number) => Math.round(((a + b) / 2) * 1000) / 1000;
    const bothTrips = r.trips !== undefined && next.trips !== undefined ? { trips: mean(r.trips, next.trips) } : {};
    return { workMs: mean(r.workMs, next.workMs), samples: r.samples + next.samples, rttMs: mean(r.rttMs, next.rttMs), ...bothTrips };
  }
  return undefined;
}

/** One stored run, checked: [] when any part is missing, hostile or torn. */
function storedFigure(work: unknown, rtt: unknown, count: unknown, tripsEach?: unknown): WorkFigure[] {
  const workMs = finiteWork(work);
  const rttMs = finiteWork(rtt);
  const samples = typeof count === 'number' && Number.isFinite(count) && count >= 1 ? count : undefined;
  const trips = finiteTrips(tripsEach);
  return workMs !== undefined && rttMs !== undefined && samples !== undefined ? [{ workMs, samples, rttMs, ...(trips !== undefined ? { trips } : {}) }] : [];
}

/** The recent runs as stored (pure): bad entries dropped; a store from before runs were kept counts as one run. */
function storedRuns(entry: StoredEntry, kind: 'download' | 'upload'): WorkFigure[] {
  const list = entry[`${kind}Runs`];
  if (!Array.isArray(list)) return storedFigure(entry[`${kind}WorkMs`], entry[`${kind}RttMs`], entry[`${kind}Samples`]);
  return list.flatMap((x: unknown) => {
    const r = (x ?? {}) as Partial<Record<keyof WorkFigure, unknown>>;
    return storedFigure(r.workMs, r.rttMs, r.samples, r.trips);
  });
}

/** Merge what this run measured into the store (written to a temporary file, then renamed). */
export function recordLearnedWork(file: string, key: string, measured: MeasuredWork, now = new Date()): void {
  if (!measured.download && !measured.upload) return;
  const all = readAll(file);
  const entry: StoredEntry = { ...all[key], at: now.toISOString() };
  for (const kind of ['download', 'upload'] as const) {
    const run = measured[kind];
    if (!run) continue;
    const runs = recentRuns([...storedRuns(entry, kind), run]);
    const chosen = medianRun(runs, ROUND_TRIPS[kind])!;
    entry[`${kind}Runs`] = runs;
    entry[`${kind}WorkMs`] = chosen.workMs;
    entry[`${kind}RttMs`] = chosen.rttMs;
    if (chosen.trips !== undefined) entry[`${kind}Trips`] = chosen.trips;
    else delete entry[`${kind}Trips`];
    delete entry[`${kind}Samples`];
  }
  all[key] = entry;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
  renameSync(tmp, file);
}

/** A run's time per upload and download, from each kind's span (see perTransferMs), with their round trips each. */
export function transferTimesOf(spans: Partial<Record<'upload' | 'download', TransferSpan>>, sessions: number): TransferTimes {
  const out: TransferTimes = {};
  for (const kind of ['upload', 'download'] as const) {
    const span = spans[kind];
    if (!span) continue;
    out[kind] = { eachMs: Math.round(perTransferMs(span, sessions) * 100) / 100, samples: span.count };
    if (span.trips !== undefined) out[kind]!.tripsEach = Math.round((span.trips / Math.max(1, span.count)) * 100) / 100;
  }
  return out;
}
