/**
 * What the run does with a block it noticed: diagnose it from the ledger's history, go on with a
 * lower budget (the gate) and remember it for the next plan (firewall-store.ts), unless the
 * manifest's limit is confirmed. Returns the explanation to show.
 */
import { diagnoseBlock, learnedMaxConnections } from '../budget/block-diagnosis.js';
import type { BudgetGate } from '../budget/gate.js';
import type { ConnectionLedger } from '../budget/ledger.js';
import type { ServerConfig } from '../manifest/types.js';
import { blockExplanation } from './block-detect.js';
import { recordLearnedLimit } from './firewall-store.js';
import { timingKey } from './timing-store.js';

/** CSF's CT_INTERVAL default, for a server config made without the manifest's default. */
const DEFAULT_SAMPLE_INTERVAL_MS = 30_000;

export interface BlockLearnDeps {
  server: ServerConfig;
  ledger: ConnectionLedger;
  gate: Pick<BudgetGate, 'lower'>;
  /** .ftpsync/firewall.json of the manifest (absent: nothing is remembered). */
  store?: string;
  now: () => number;
  /** Told when the lesson could not be remembered. */
  note: (text: string) => void;
}

export function learnFromBlock(d: BlockLearnDeps, errorMessage: string, again: boolean): string {
  const fw = d.server.firewall;
  const noticedAt = d.now();
  const last = d.ledger.lastConnectedAt(noticedAt);
  const diagnosis = diagnoseBlock({
    spans: d.ledger.countedSpans(),
    lastThroughAt: last === -Infinity ? noticedAt : last,
    noticedAt,
    sampleIntervalMs: fw.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS,
  });
  const learned = learnedMaxConnections(diagnosis, fw);
  let store = d.store;
  if (!fw.confirmed) {
    d.gate.lower(Math.floor(learned.maxConnections * fw.headroom));
    if (store) {
      try {
        recordLearnedLimit(store, timingKey(d.server), {
          maxConnections: learned.maxConnections,
          at: new Date().toISOString(),
          limitAtLeast: diagnosis.limitAtLeast,
          limitBelow: diagnosis.limitBelow,
        });
      } catch (e) {
        d.note(`could not remember the learned limit: ${(e as Error).message}`);
        store = undefined;
      }
    }
  }
  return blockExplanation(d.server, { diagnosis, learned, ...(store ? { store } : {}), again }, errorMessage);
}
