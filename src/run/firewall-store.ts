/**
 * Limits learned from firewall blocks, per server (host:port), beside the timing store in
 * .ftpsync/firewall.json. The next plan and apply use the learned maxConnections where it is lower
 * than the manifest's and the manifest's is not confirmed; a successful run that held more (after
 * a reset, or with confirmed: true) forgets it. Deleting the file, or the server's entry, resets it.
 */
import { dirname, join } from 'node:path';
import { withLearnedLimit, type LearnedLimit } from '../budget/block-diagnosis.js';
import type { Manifest } from '../manifest/types.js';
import { readJsonStore, writeJsonStore } from './json-store.js';
import { timingKey } from './timing-store.js';

export function firewallStorePath(manifestFile: string): string {
  return join(dirname(manifestFile), '.ftpsync', 'firewall.json');
}

const count = (x: unknown): number | undefined => (typeof x === 'number' && Number.isInteger(x) && x >= 1 ? x : undefined);

/** The server's learned limit, checked: undefined when absent or malformed. */
export function readLearnedLimit(file: string, key: string): LearnedLimit | undefined {
  const e = (readJsonStore(file)[key] ?? {}) as Partial<Record<keyof LearnedLimit, unknown>>;
  const maxConnections = count(e.maxConnections);
  if (maxConnections === undefined || typeof e.at !== 'string') return undefined;
  return { maxConnections, at: e.at, limitAtLeast: count(e.limitAtLeast) ?? maxConnections, limitBelow: count(e.limitBelow) ?? maxConnections + 1 };
}

/** Record what a block taught: a lower limit replaces a higher one, never the other way round. */
export function recordLearnedLimit(file: string, key: string, learned: LearnedLimit): void {
  const all = readJsonStore(file);
  const old = readLearnedLimit(file, key);
  if (old && old.maxConnections <= learned.maxConnections) return;
  all[key] = learned;
  writeJsonStore(file, all);
}

export function forgetLearnedLimit(file: string, key: string): void {
  const all = readJsonStore(file);
  if (!(key in all)) return;
  delete all[key];
  writeJsonStore(file, all);
}

/** The manifest with each server's learned limit applied (see withLearnedLimit). */
export function withLearnedLimits(manifest: Manifest): Manifest {
  const store = firewallStorePath(manifest.file);
  const servers: Manifest['servers'] = {};
  for (const [name, s] of Object.entries(manifest.servers)) {
    servers[name] = { ...s, firewall: withLearnedLimit(s.firewall, readLearnedLimit(store, timingKey(s)), store) };
  }
  return { ...manifest, servers };
}
