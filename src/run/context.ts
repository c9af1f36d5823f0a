/**
 * What one run shares across planning and applying: per server, one connection ledger, one budget
 * gate and one session pool (the only place that makes a pool), and planning itself.
 */
import { BudgetGate } from '../budget/gate.js';
import { ConnectionLedger } from '../budget/ledger.js';
import { countedLimit } from '../core/firewall-limit.js';
import { assertKnownServers } from '../manifest/servers.js';
import type { Manifest, ServerConfig } from '../manifest/types.js';
import { packageVersion } from '../paths.js';
import { buildPlan } from '../plan/build.js';
import type { Plan } from '../plan/types.js';
import { createRemotePool } from '../remote/pool.js';
import type { RemotePool } from '../remote/types.js';
import { withLearnedLimits } from './firewall-store.js';
import { snapshotServers } from './snapshot.js';
import { readLearnedWork, timingStorePath, workKey } from './timing-store.js';
import { withObservedTlsCloses } from './close-store.js';

export interface PlanningContext {
  pools: Map<string, RemotePool>;
  ledgers: Map<string, ConnectionLedger>;
  gates: Map<string, BudgetGate>;
  poolFor: (server: ServerConfig) => RemotePool;
  close: () => Promise<void>;
}

/** What --verbose prints: one control-connection line of one session. */
export type FtpTrace = (server: string, session: number, line: string) => void;

/** One ledger, gate and pool per server, shared by planning and applying in one run. */
export function planningContext(opts: { trace?: FtpTrace } = {}): PlanningContext {
  const pools = new Map<string, RemotePool>();
  const ledgers = new Map<string, ConnectionLedger>();
  const gates = new Map<string, BudgetGate>();
  return {
    pools,
    ledgers,
    gates,
    poolFor(server) {
      let pool = pools.get(server.name);
      if (!pool) {
        const ledger = new ConnectionLedger({ timeWaitMs: server.firewall.timeWaitMs });
        const gate = new BudgetGate(ledger, countedLimit(server.firewall));
        ledgers.set(server.name, ledger);
        gates.set(server.name, gate);
        pool = createRemotePool(server, { ledger, gate, ...(opts.trace ? { trace: opts.trace } : {}) });
        pools.set(server.name, pool);
      }
      return pool;
    },
    async close() {
      for (const p of pools.values()) await p.close();
    },
  };
}

/** Plan the manifest's servers (`servers`: only these, each must exist): snapshot each, then plan. */
export async function makePlan(manifestAsLoaded: Manifest, digest: string, ctx: Pick<PlanningContext, 'poolFor'>, servers?: string[]): Promise<Plan> {
  // Limits learned from blocks: the plan schedules with them and says so (the gates use them too).
  // And how each FTPS server's data connections closed last time: the plan counts them by it.
  const manifest = withObservedTlsCloses(withLearnedLimits(manifestAsLoaded));
  if (servers) assertKnownServers(manifest, servers, '--server');
  const store = timingStorePath(manifest.file);
  const snapshots = await snapshotServers(manifest, ctx.poolFor, { ...(servers ? { servers } : {}), learnedWork: (s) => readLearnedWork(store, workKey(s)) });
  return buildPlan({ manifest, manifestDigest: digest, toolVersion: packageVersion(), ...(servers ? { servers } : {}), createdAt: new Date(), snapshots });
}
