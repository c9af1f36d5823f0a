/**
 * What apply learned about a server's speed, for the next plan's ETA: the mean upload and
 * download time of the last successful apply (slowest 5 % left out), minus their round trips (the
 * part that does not change with the network). Kept beside the journal in .ftpsync/timing.json,
 * keyed by host:port. Servers differ by ±30 % in per-transfer work (docs/benchmarks.md); one apply fixes that.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROUND_TRIPS, type LearnedWork } from '../budget/cost.js';

/** Fewer samples than this say more about start-up than about the server. */
export const MIN_SAMPLES = 20;

export interface TransferTimes {
  /** Mean duration of the run's successful actions of that kind (slowest 5 % out), ms; how many. */
  upload?: { meanMs: number; samples: number };
  download?: { meanMs: number; samples: number };
}

interface StoredEntry extends LearnedWork {
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

/** A LearnedWork with only the figures that are known (exactOptionalPropertyTypes). */
function learnedWork(down: number | undefined, up: number | undefined): LearnedWork {
  return { ...(down !== undefined ? { downloadWorkMs: down } : {}), ...(up !== undefined ? { uploadWorkMs: up } : {}) };
}

export function readLearnedWork(file: string, key: string): LearnedWork {
  const e = readAll(file)[key];
  return e ? learnedWork(finiteWork(e.downloadWorkMs), finiteWork(e.uploadWorkMs)) : {};
}

/** The work part of what was measured (pure): the mean minus the round trips the model adds back. */
export function learnedFrom(times: TransferTimes, rttMs: number): LearnedWork {
  const work = (t: { meanMs: number; samples: number } | undefined, trips: number) => (t && t.samples >= MIN_SAMPLES ? Math.max(0, Math.round((t.meanMs - trips * rttMs) * 10) / 10) : undefined);
  return learnedWork(work(times.download, ROUND_TRIPS.download), work(times.upload, ROUND_TRIPS.upload));
}

/** Merge what this run learned into the store (written to a temporary file, then renamed). */
export function recordLearnedWork(file: string, key: string, learned: LearnedWork, now = new Date()): void {
  if (learned.downloadWorkMs === undefined && learned.uploadWorkMs === undefined) return;
  const all = readAll(file);
  all[key] = { ...all[key], ...learned, at: now.toISOString() };
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
  renameSync(tmp, file);
}
