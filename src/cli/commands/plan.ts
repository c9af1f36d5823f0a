import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConnectionLedger } from '../../budget/ledger.js';
import { BudgetGate } from '../../budget/gate.js';
import { FtpsyncError } from '../../errors.js';
import type { Manifest, ServerConfig } from '../../manifest/types.js';
import { packageVersion } from '../../paths.js';
import { buildPlan, planHasChanges } from '../../plan/build.js';
import { readLearnedWork, timingKey, timingStorePath } from '../../run/timing-store.js';
import { formatJson, formatMarkdown, formatText } from '../../plan/format.js';
import type { Plan } from '../../plan/types.js';
import { createRemotePool, type FtpRemotePool } from '../../remote/pool.js';
import { DEFAULT_MANIFEST, loadManifestForCommand } from '../manifest.js';
import { out } from '../output.js';

export interface PlanningContext {
  pools: Map<string, FtpRemotePool>;
  ledgers: Map<string, ConnectionLedger>;
  gates: Map<string, BudgetGate>;
  poolFor: (server: ServerConfig) => FtpRemotePool;
  close: () => Promise<void>;
}

/** One ledger, gate and pool per server, shared by planning and applying in one run. */
export function planningContext(): PlanningContext {
  const pools = new Map<string, FtpRemotePool>();
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
        const gate = new BudgetGate(ledger, Math.floor(server.firewall.maxConnections * server.firewall.headroom));
        ledgers.set(server.name, ledger);
        gates.set(server.name, gate);
        pool = createRemotePool(server, { ledger, gate });
        pools.set(server.name, pool);
      }
      return pool;
    },
    async close() {
      for (const p of pools.values()) await p.close();
    },
  };
}

export async function makePlan(manifest: Manifest, digest: string, ctx: PlanningContext, servers?: string[]): Promise<Plan> {
  if (servers) for (const s of servers) if (!manifest.servers[s]) throw new FtpsyncError('E_USAGE', `--server ${s}: no such server in ${manifest.file}`, `Known servers: ${Object.keys(manifest.servers).join(', ')}`);
  const store = timingStorePath(manifest.file);
  return buildPlan({ manifest, manifestDigest: digest, toolVersion: packageVersion(), poolFor: ctx.poolFor, learnedWork: (s) => readLearnedWork(store, timingKey(s)), ...(servers ? { servers } : {}) });
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('Show what would change on each server, what it costs in connections, and the phases and pauses that keep it inside the firewall budget. Lists remote trees (over the control connection where the server allows); changes nothing.')
    .option('-c, --config <file>', 'manifest file', DEFAULT_MANIFEST)
    .option('--format <format>', 'text, markdown (for a pull-request comment) or json', 'text')
    .option('--out <file>', 'also save the plan as JSON, for `ftpsync apply <file>`')
    .option('--server <name...>', 'only these servers')
    .option('--detailed-exitcode', 'exit 2 when changes are planned, 0 when there are none, 1 on error')
    .action(async (opts: { config: string; format: string; out?: string; server?: string[]; detailedExitcode?: boolean }) => {
      if (!['text', 'markdown', 'json'].includes(opts.format)) throw new FtpsyncError('E_USAGE', `--format ${opts.format}: expected text, markdown or json`);
      const { manifest, result } = loadManifestForCommand(opts.config, { requireEnv: true });
      const ctx = planningContext();
      try {
        const plan = await makePlan(manifest, result.digest!, ctx, opts.server);
        if (opts.out) writeFileSync(opts.out, formatJson(plan));
        out(opts.format === 'json' ? formatJson(plan) : opts.format === 'markdown' ? formatMarkdown(plan) : formatText(plan));
        if (opts.out && opts.format !== 'json') out(`Saved the plan to ${opts.out}: run \`ftpsync apply ${opts.out}\`.`);
        process.exitCode = opts.detailedExitcode && planHasChanges(plan) ? 2 : 0;
      } finally {
        await ctx.close();
      }
    });
}
