/**
 * How each server's TLS data connections closed in its last apply, for the next plan's cost
 * model (budget/cost.ts tlsDataCountedMs): kept beside the timing store in .ftpsync/closes.json,
 * keyed by host:port. Written from the ledger's records (who closed first, or our reset).
 */
import { dirname, join } from 'node:path';
import type { ConnectionRecord } from '../budget/ledger.js';
import type { Manifest, ObservedTlsCloses } from '../manifest/types.js';
import { readJsonStore, writeJsonStore } from './json-store.js';
import { timingKey } from './timing-store.js';

export function closeStorePath(manifestFile: string): string {
  return join(dirname(manifestFile), '.ftpsync', 'closes.json');
}

const count = (x: unknown): number | undefined => (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 1e9 ? x : undefined);

/** One server's entry, checked: undefined when any part is missing or hostile. */
export function readTlsCloses(file: string, key: string): ObservedTlsCloses | undefined {
  const e = readJsonStore(file)[key] as Partial<Record<keyof ObservedTlsCloses, unknown>> | undefined;
  if (!e || typeof e !== 'object') return undefined;
  const [reset, server, client, unknown] = [count(e.reset), count(e.server), count(e.client), count(e.unknown)];
  if (reset === undefined || server === undefined || client === undefined || unknown === undefined || typeof e.at !== 'string') return undefined;
  return { reset, server, client, unknown, at: e.at };
}

/** The data connections of a run by how they closed (pure); still-open ones are left out. */
export function tallyCloses(records: readonly ConnectionRecord[], now = new Date()): ObservedTlsCloses {
  const t: ObservedTlsCloses = { reset: 0, server: 0, client: 0, unknown: 0, at: now.toISOString() };
  for (const r of records) if (r.kind === 'data' && !r.reserved && r.closedBy && r.connectedAt !== undefined) t[r.closedBy]++;
  return t;
}

/** Replace the server's entry with this run's tally (a temporary file, then renamed). Runs without data connections change nothing. */
export function recordTlsCloses(file: string, key: string, tally: ObservedTlsCloses): void {
  if (tally.reset + tally.server + tally.client + tally.unknown === 0) return;
  writeJsonStore(file, { ...readJsonStore(file), [key]: tally });
}

/** The manifest with each FTPS server's observed closes attached (firewall.tlsCloses), for planning. */
export function withObservedTlsCloses(manifest: Manifest): Manifest {
  const file = closeStorePath(manifest.file);
  const servers: Manifest['servers'] = {};
  for (const [name, s] of Object.entries(manifest.servers)) {
    const seen = s.tls === 'none' ? undefined : readTlsCloses(file, timingKey(s));
    servers[name] = seen ? { ...s, firewall: { ...s.firewall, tlsCloses: seen } } : s;
  }
  return { ...manifest, servers };
}
