/**
 * What apply learned about a server's speed, for the next plan's ETA: the time each upload and
 * download effectively took (from throughput, see perTransferMs), minus their round trips (the
 * part that does not change with the network), weighted by how many transfers each run measured,
 * so a 50-file incremental run (slower per file: a cold start) barely moves what 3,000 files showed.
 * Kept beside the journal in .ftpsync/timing.json, keyed by host:port. Servers differ by ±30 % in
 * per-transfer work (docs/benchmarks.md); one apply fixes that.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROUND_TRIPS, type LearnedWork } from '../budget/cost.js';

/** Fewer samples than this say more about start-up than about the server. */
export const MIN_SAMPLES = 20;

/** Earlier runs weigh as at most this many transfers, so a server that changed shows within a run or two. */
export const MAX_PAST_SAMPLES = 2_000;

export interface TransferTimes {
  /** Effective time per successful action of that kind in one session (perTransferMs), ms; how many. */
  upload?: { eachMs: number; samples: number };
  download?: { eachMs: number; samples: number };
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
}

/**
 * Time per transfer in one session, from throughput (pure): the span they took, without idle
 * time, times the sessions that shared it, over how many. This is what the plan's ETA adds up
 * (n transfers over `parallel` lanes). Per-transfer stopwatch times were not: on the lab's LAN most
 * transfers took ~1 ms and a few 10+ ms (event loop, disk, the other session), and the mean of
 * them without the slowest 5 % came out at 1.6 ms where the runs took 2.5 ms per transfer.
 */
export function perTransferMs(span: TransferSpan, sessions: number): number {
  const busy = Math.max(0, span.lastEndMs - span.firstStartMs - span.idleMs);
  return (busy * Math.max(1, Math.min(sessions, span.count))) / Math.max(1, span.count);
}

interface StoredEntry extends LearnedWork {
  downloadSamples?: number;
  uploadSamples?: number;
  at: string;
}

export function timingKey(server: { host: string; port: number }): string {
  return `${server.host}:${server.port}`;
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
  }
  return out;
}

/** The work part of what was measured (pure): the time per transfer minus the round trips the model adds back. */
export function learnedFrom(times: TransferTimes, rttMs: number): MeasuredWork {
  const work = (t: { eachMs: number; samples: number } | undefined, trips: number): WorkFigure | undefined =>
    t && t.samples >= MIN_SAMPLES ? { workMs: Math.max(0, t.eachMs - trips * rttMs), samples: t.samples, rttMs } : undefined;
  const download = work(times.download, ROUND_TRIPS.download);
  const upload = work(times.upload, ROUND_TRIPS.upload);
  return { ...(download ? { download } : {}), ...(upload ? { upload } : {}) };
}

/** The stored figure and this run's, weighted by samples (the past capped at MAX_PAST_SAMPLES). Pure. */
export function mergeWork(past: { workMs: unknown; samples: unknown; rttMs?: unknown }, now: WorkFigure): WorkFigure {
  const pastWork = finiteWork(past.workMs);
  const pastSamples = pastWork === undefined ? 0 : Math.min(MAX_PAST_SAMPLES, Math.max(0, Number(past.samples) || 0));
  // A figure stored without its round trip (an older version) is taken as measured at this run's.
  const pastRtt = finiteWork(past.rttMs) ?? now.rttMs;
  const samples = pastSamples + now.samples;
  const weighted = (p: number, n: number) => Math.round(((p * pastSamples + n * now.samples) / samples) * 1000) / 1000;
  return { workMs: weighted(pastWork ?? 0, now.workMs), samples, rttMs: weighted(pastRtt, now.rttMs) };
}

/** Merge what this run measured into the store (written to a temporary file, then renamed). */
export function recordLearnedWork(file: string, key: string, measured: MeasuredWork, now = new Date()): void {
  if (!measured.download && !measured.upload) return;
  const all = readAll(file);
  const entry: StoredEntry = { ...all[key], at: now.toISOString() };
  for (const kind of ['download', 'upload'] as const) {
    const run = measured[kind];
    if (!run) continue;
    const merged = mergeWork({ workMs: entry[`${kind}WorkMs`], samples: entry[`${kind}Samples`], rttMs: entry[`${kind}RttMs`] }, run);
    entry[`${kind}WorkMs`] = merged.workMs;
    entry[`${kind}Samples`] = merged.samples;
    entry[`${kind}RttMs`] = merged.rttMs;
  }
  all[key] = entry;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
  renameSync(tmp, file);
}
