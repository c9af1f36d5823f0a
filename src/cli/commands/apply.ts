import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { FtpsyncError, isFtpsyncError } from '../../errors.js';
import { formatDuration } from '../../manifest/duration.js';
import type { Manifest } from '../../manifest/types.js';
import { fingerprintKey, readSyncInputs } from '../../plan/build.js';
import { localDigest, remoteDigest } from '../../plan/fingerprint.js';
import { formatBytes } from '../../plan/format.js';
import { PLAN_FORMAT_VERSION, type Plan } from '../../plan/types.js';
import { runServerPlan, type ServerResult } from '../../run/executor.js';
import { Journal } from '../../run/journal.js';
import { releaseSyncLocks, takeSyncLocks, type HeldLocks } from '../../run/remote-lock.js';
import { classify } from '../../remote/errors.js';
import { learnedFrom, recordLearnedWork, timingKey, timingStorePath } from '../../run/timing-store.js';
import { clientCloseLingerMs, DEFAULT_RTT_MS } from '../../budget/cost.js';
import { runRollout } from '../../run/rollout.js';
import { makeReporter } from '../../run/progress.js';
import { DEFAULT_MANIFEST, loadManifestForCommand } from '../manifest.js';
import { logLine, out } from '../output.js';
import { makePlan, planningContext, type PlanningContext } from './plan.js';

/** Refuse a saved plan whose inputs changed: say what changed (apply holds the servers' locks). */
async function checkFingerprint(plan: Plan, manifest: Manifest, digest: string, ctx: PlanningContext): Promise<void> {
  const changes: string[] = [];
  if (plan.fingerprint.manifest !== digest) changes.push(`the manifest ${manifest.file} changed`);
  for (const sp of plan.servers) {
    const server = manifest.servers[sp.server];
    if (!server) {
      changes.push(`server ${sp.server} is no longer in the manifest`);
      continue;
    }
    for (const sy of sp.syncs) {
      const sync = manifest.syncs.find((s) => s.name === sy.name);
      if (!sync) {
        changes.push(`sync ${sy.name} is no longer in the manifest`);
        continue;
      }
      const input = await readSyncInputs(server, sync, ctx.poolFor(server));
      const key = fingerprintKey(sp.server, sy.name);
      if (plan.fingerprint.local[key] !== localDigest(input.local, input.hashes)) changes.push(`local files of ${key} changed (${sync.localPath})`);
      if (plan.fingerprint.remote[key] !== remoteDigest(input.remote)) changes.push(`remote files of ${key} changed (${sync.remotePath} on ${sp.server})`);
    }
  }
  if (changes.length) {
    throw new FtpsyncError('E_PLAN_STALE', `the plan is stale:\n  - ${changes.join('\n  - ')}`, 'Make a new plan (`ftpsync plan --out plan.json`), review it, then apply that.');
  }
}

function summaryLines(results: ServerResult[], notRun: string[]): string[] {
  const lines = ['', 'Summary:'];
  for (const r of results) {
    const d = r.done;
    const did = Object.entries(d).map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing to do';
    lines.push(`  ${r.server}: ${r.ok ? 'ok' : 'FAILED'}: ${did}; ${formatBytes(r.bytes)}; skipped ${r.skippedFromJournal} (done in an earlier run); failed ${r.failed.length}; connections ${r.connections.control} control + ${r.connections.data} data, peak counted ${r.peakCounted}; ${r.planMs !== undefined ? `planned in ${formatDuration(r.planMs)}, ran ` : ''}${formatDuration(r.elapsedMs)}`);
    for (const f of r.failed.slice(0, 20)) lines.push(`    failed ${f.path}: ${f.error}`);
    if (r.error && !r.ok) lines.push(...r.error.split('\n').map((l) => `    ${l}`));
  }
  if (notRun.length) lines.push(`  not run (an earlier stage failed): ${notRun.join(', ')} — these servers still have the previous release`);
  return lines;
}

export function registerApply(program: Command): void {
  program
    .command('apply [plan]')
    .description('Carry out a plan: without PLAN, plan and apply now; with a saved plan.json, first refuse it if the manifest, local files or remote listing changed since. Runs rollout stages in order, each server inside its firewall budget, resumable after a crash.')
    .option('-c, --config <file>', 'manifest file', DEFAULT_MANIFEST)
    .option('--server <name...>', 'only these servers')
    .option('--json', 'one JSON event per line')
    .action(async (planFile: string | undefined, opts: { config: string; server?: string[]; json?: boolean }) => {
      const { manifest, result } = loadManifestForCommand(opts.config, { requireEnv: true });
      const ctx = planningContext();
      const reporter = makeReporter({ json: Boolean(opts.json), line: out });
      const syncsOf = (name: string) => manifest.syncs.filter((s) => s.servers.includes(name));
      /** Locks taken and not yet given back, by server. */
      const held = new Map<string, HeldLocks>();
      try {
        const keyOf = (p: Plan) => createHash('sha256').update(JSON.stringify(p.fingerprint)).digest('hex');
        let saved: Plan | null = null;
        if (planFile) {
          try {
            saved = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
          } catch (e) {
            throw new FtpsyncError('E_PLAN_INVALID', `${planFile}: not a plan file: ${(e as Error).message}`, 'Make one with `ftpsync plan --out plan.json`.');
          }
          if (saved.formatVersion !== PLAN_FORMAT_VERSION) throw new FtpsyncError('E_PLAN_INVALID', `${planFile}: plan format ${String(saved.formatVersion)} is not supported (expected ${PLAN_FORMAT_VERSION})`, 'Make a new plan with this version of ftpsync.');
          if (!Array.isArray(saved.servers)) throw new FtpsyncError('E_PLAN_INVALID', `${planFile}: not a plan file: no servers`, 'Make one with `ftpsync plan --out plan.json`.');
          if (opts.server) saved = { ...saved, servers: saved.servers.filter((s) => opts.server!.includes(s.server)) };
          // Every server of the plan is locked before the plan is checked, and stays locked until
          // its stage has run: nothing changes the trees between the check and the run.
          for (const sp of saved.servers) {
            const server = manifest.servers[sp.server];
            if (server) held.set(sp.server, await takeSyncLocks(ctx.poolFor(server), sp.server, syncsOf(sp.server), reporter));
          }
          await checkFingerprint(saved, manifest, result.digest!, ctx);
        } else if (opts.server) {
          for (const s of opts.server) if (!manifest.servers[s]) throw new FtpsyncError('E_USAGE', `--server ${s}: no such server in ${manifest.file}`, `Known servers: ${Object.keys(manifest.servers).join(', ')}`);
        }
        const savedPlan = saved;
        const rollout = savedPlan?.rollout ?? {
          stages: manifest.rollout.stages.map((st) => ({ name: st.name, servers: st.servers.filter((n) => !opts.server || opts.server.includes(n)) })).filter((st) => st.servers.length > 0),
          haltOnFailure: manifest.rollout.haltOnFailure,
        };
        const targets = savedPlan ? savedPlan.servers.map((sp) => sp.server) : rollout.stages.flatMap((st) => st.servers);
        // The first stage's planning is counted from the process's start (performance.now()'s origin).
        let stagesStarted = 0;
        const { results, notRun } = await runRollout(
          rollout,
          targets,
          async (name): Promise<ServerResult> => {
            const server = manifest.servers[name]!;
            const pool = ctx.poolFor(server);
            const syncs = syncsOf(name);
            const planStarted = stagesStarted > 1 ? performance.now() : 0;
            let r: ServerResult | undefined;
            let failure: unknown;
            try {
              // Without a saved plan each server is planned when its stage starts: a server that is
              // down fails on its own, after the stages before it have landed. The other sessions
              // log in while the lock is taken and planning lists (once a login worked).
              if (!savedPlan) pool.warm(server.firewall.parallel);
              // The lock comes first: the diff is never made while another apply changes the tree.
              if (!held.has(name)) held.set(name, await takeSyncLocks(pool, name, syncs, reporter));
              const plan = savedPlan ?? (await makePlan(manifest, result.digest!, ctx, [name]));
              const sp = plan.servers.find((x) => x.server === name)!;
              // What planning found (unsafe names ignored, plain FTP, ...) is said here too: apply
              // is often run without a plan step in front of it.
              for (const w of sp.warnings) reporter.note(name, `warning: ${w.startsWith(`${name}: `) ? w.slice(name.length + 2) : w}`);
              // The journal belongs to exactly this plan: same manifest, same local and remote trees.
              const journal = new Journal(join(dirname(manifest.file), '.ftpsync', `journal-${name}.jsonl`), keyOf(plan));
              // The plan's cost model counted our closed uploads for a few round trips: so does the ledger.
              const rttMs = sp.rttMs ?? DEFAULT_RTT_MS;
              ctx.ledgers.get(name)!.setClientCloseLinger(clientCloseLingerMs(rttMs));
              const planMs = Math.round(performance.now() - planStarted);
              r = { ...(await runServerPlan(sp, { server, syncs, pool, ledger: ctx.ledgers.get(name)!, gate: ctx.gates.get(name)!, journal, reporter })), planMs, lockMs: held.get(name)!.tookMs };
              // The next plan's ETA uses this server's measured speed instead of the lab's.
              if (r.ok && r.transferTimes) {
                try {
                  recordLearnedWork(timingStorePath(manifest.file), timingKey(server), learnedFrom(r.transferTimes, rttMs));
                } catch (e) {
                  reporter.note(name, `could not record its transfer times for the next ETA: ${(e as Error).message}`);
                }
              }
              return r;
            } catch (e) {
              failure = e;
              const err = e as Error & { hint?: string };
              return { server: name, ok: false, error: err.message + (err.hint ? `\nhint: ${err.hint}` : ''), done: {}, skippedFromJournal: 0, failed: [], bytes: 0, connections: ctx.ledgers.get(name)?.totals() ?? { control: 0, data: 0 }, peakCounted: 0, elapsedMs: 0 };
            } finally {
              // A run that halted (a block, an unexpected error) or could not reach the server leaves
              // its lock: nothing more is sent to that server now; a re-run here takes it over.
              const blocked = r?.halted || (isFtpsyncError(failure) && classify(failure) === 'maybe-blocked');
              if (!blocked) await releaseSyncLocks(pool, held.get(name)?.locks ?? []);
              held.delete(name);
            }
          },
          (name, servers) => {
            stagesStarted++;
            if (!opts.json) logLine(`stage ${name}: ${servers.join(', ')}`);
          },
        );
        if (opts.json) out(JSON.stringify({ event: 'summary', results, notRun }));
        else for (const l of summaryLines(results, notRun)) out(l);
        process.exitCode = results.every((r) => r.ok) && notRun.length === 0 ? 0 : 1;
      } finally {
        // Servers whose stage did not run (an earlier one failed, or the saved plan was refused).
        for (const [name, h] of held) await releaseSyncLocks(ctx.poolFor(manifest.servers[name]!), h.locks);
        await ctx.close();
      }
    });
}
