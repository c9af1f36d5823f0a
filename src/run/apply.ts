/**
 * apply as a plain function: load and check a saved plan (or plan each server when its stage
 * starts), hold each server's remote lock from before its tree is read until its stage has run,
 * run the rollout stages, key each server's journal to its plan and record the transfer times it
 * measured. The CLI (cli/commands/apply.ts) adds flags, rendering and the exit code.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { learnedLimitOutgrown } from '../budget/block-diagnosis.js';
import { clientCloseLingerMs, DEFAULT_RTT_MS } from '../budget/cost.js';
import { FtpsyncError, isFtpsyncError } from '../errors.js';
import { assertKnownServers } from '../manifest/servers.js';
import type { Manifest, SyncConfig } from '../manifest/types.js';
import { fingerprintKey } from '../plan/build.js';
import { checkDeleteGuard } from '../plan/delete-guard.js';
import { localDigest, remoteDigest } from '../plan/fingerprint.js';
import { PLAN_FORMAT_VERSION, type Plan } from '../plan/types.js';
import { classify } from '../remote/errors.js';
import { makePlan, planningContext, type FtpTrace, type PlanningContext } from './context.js';
import { runServerPlan, type ServerResult } from './executor.js';
import { forgetLearnedLimit, firewallStorePath, readLearnedLimit, withLearnedLimits } from './firewall-store.js';
import { Journal } from './journal.js';
import { localStateDir, PendingStates } from './pending-state.js';
import { runTotals, type Reporter } from './progress.js';
import { releaseSyncLocks, takeSyncLocks, type HeldLocks } from './remote-lock.js';
import { runRollout } from './rollout.js';
import { snapshotSync } from './snapshot.js';
import { learnedFrom, recordLearnedWork, timingKey, timingStorePath, workKey } from './timing-store.js';
import { closeStorePath, recordTlsCloses, tallyCloses } from './close-store.js';

export interface ApplyOptions {
  manifest: Manifest;
  /** sha256 of the manifest file's bytes (a new plan's fingerprint; a saved plan is checked against it). */
  manifestDigest: string;
  /** A saved plan (`plan --out`), refused if what it was made from changed; without it each server is planned when its stage starts. */
  planFile?: string;
  /** Only these servers (--server). */
  servers?: string[];
  /** --allow-delete: run deletions the mass-delete guard would refuse (this run only). */
  allowDelete?: boolean;
  reporter: Reporter;
  /** Told when a rollout stage starts. */
  onStage?: (stage: string, servers: string[]) => void;
  /** --verbose: every FTP command and reply, per server and session. */
  trace?: FtpTrace;
}

export interface ApplyResult {
  results: ServerResult[];
  /** Servers of stages that did not run because an earlier stage failed: they keep the old release. */
  notRun: string[];
  /** Every server ran and succeeded. */
  ok: boolean;
}

/** Read a saved plan file; E_PLAN_INVALID when it is not one this version can apply. */
export function loadSavedPlan(planFile: string): Plan {
  let saved: Plan;
  try {
    saved = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
  } catch (e) {
    throw new FtpsyncError('E_PLAN_INVALID', `${planFile}: not a plan file: ${(e as Error).message}`, 'Make one with `ftpsync plan --out plan.json`.');
  }
  if (saved.formatVersion !== PLAN_FORMAT_VERSION)
    throw new FtpsyncError(
      'E_PLAN_INVALID',
      `${planFile}: plan format ${String(saved.formatVersion)} is not supported (expected ${PLAN_FORMAT_VERSION})`,
      'Make a new plan with this version of ftpsync.',
    );
  if (!Array.isArray(saved.servers))
    throw new FtpsyncError('E_PLAN_INVALID', `${planFile}: not a plan file: no servers`, 'Make one with `ftpsync plan --out plan.json`.');
  return saved;
}

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
      const input = await snapshotSync(server, sync, ctx.poolFor(server));
      const key = fingerprintKey(sp.server, sy.name);
      if (plan.fingerprint.local[key] !== localDigest(input.local, input.hashes)) changes.push(`local files of ${key} changed (${sync.localPath})`);
      if (plan.fingerprint.remote[key] !== remoteDigest(input.remote)) changes.push(`remote files of ${key} changed (${sync.remotePath} on ${sp.server})`);
    }
  }
  if (changes.length) {
    throw new FtpsyncError(
      'E_PLAN_STALE',
      `the plan is stale:\n  - ${changes.join('\n  - ')}`,
      'Make a new plan (`ftpsync plan --out plan.json`), review it, then apply that.',
    );
  }
}

/** The journal belongs to exactly one plan: same manifest, same local and remote trees. */
const journalKey = (p: Plan) => createHash('sha256').update(JSON.stringify(p.fingerprint)).digest('hex');

export async function applyManifest(options: ApplyOptions): Promise<ApplyResult> {
  // Limits learned from earlier blocks apply to planning and to the gates (firewall-store.ts).
  const o = { ...options, manifest: withLearnedLimits(options.manifest) };
  const { manifest, reporter } = o;
  const ctx = planningContext(o.trace ? { trace: o.trace } : {});
  const syncsOf = (name: string): SyncConfig[] => manifest.syncs.filter((s) => s.servers.includes(name));
  /** Locks taken and not yet given back, by server. */
  const held = new Map<string, HeldLocks>();
  try {
    let saved: Plan | null = null;
    if (o.planFile) {
      saved = loadSavedPlan(o.planFile);
      if (o.servers) saved = { ...saved, servers: saved.servers.filter((s) => o.servers!.includes(s.server)) };
      // Before any server is contacted: the plan's own figures say what it deletes.
      checkDeleteGuard(saved, manifest.syncs, { allowDelete: Boolean(o.allowDelete), manifestFile: manifest.file, savedPlan: o.planFile });
      // Every server of the plan is locked before the plan is checked, and stays locked until
      // its stage has run: nothing changes the trees between the check and the run.
      for (const sp of saved.servers) {
        const server = manifest.servers[sp.server];
        if (server) held.set(sp.server, await takeSyncLocks(ctx.poolFor(server), sp.server, syncsOf(sp.server), reporter));
      }
      await checkFingerprint(saved, manifest, o.manifestDigest, ctx);
    } else if (o.servers) {
      assertKnownServers(manifest, o.servers, '--server');
    }
    const savedPlan = saved;
    const rollout = savedPlan?.rollout ?? {
      stages: manifest.rollout.stages
        .map((st) => ({ name: st.name, servers: st.servers.filter((n) => !o.servers || o.servers.includes(n)) }))
        .filter((st) => st.servers.length > 0),
      haltOnFailure: manifest.rollout.haltOnFailure,
    };
    const targets = savedPlan ? savedPlan.servers.map((sp) => sp.server) : rollout.stages.flatMap((st) => st.servers);
    // The first stage's planning is counted from the process's start (performance.now()'s origin).
    let stagesStarted = 0;
    const { results, notRun } = await runRollout(
      rollout,
      targets,
      async (name) => {
        const r = await applyServer(name, { o, ctx, held, savedPlan, syncs: syncsOf(name), planStarted: stagesStarted > 1 ? performance.now() : 0 });
        reporter.serverEnd?.(r);
        return r;
      },
      (name, servers) => {
        stagesStarted++;
        o.onStage?.(name, servers);
      },
    );
    return { results, notRun, ok: results.every((r) => r.ok) && notRun.length === 0 };
  } finally {
    // Servers whose stage did not run (an earlier one failed, or the saved plan was refused).
    for (const [name, h] of held) await releaseSyncLocks(ctx.poolFor(manifest.servers[name]!), h.locks);
    await ctx.close();
  }
}

interface ServerRun {
  o: ApplyOptions;
  ctx: PlanningContext;
  held: Map<string, HeldLocks>;
  savedPlan: Plan | null;
  syncs: SyncConfig[];
  /** performance.now() when this server's stage started (0: count from the process's start). */
  planStarted: number;
}

/** One server's stage: lock, plan (without a saved plan), run, record timing; the lock is kept only after a block. */
async function applyServer(name: string, { o, ctx, held, savedPlan, syncs, planStarted }: ServerRun): Promise<ServerResult> {
  const { manifest, reporter } = o;
  const server = manifest.servers[name]!;
  const pool = ctx.poolFor(server);
  let r: ServerResult | undefined;
  let failure: unknown;
  try {
    // Without a saved plan each server is planned when its stage starts: a server that is
    // down fails on its own, after the stages before it have landed. The other sessions
    // log in while the lock is taken and planning lists (once a login worked).
    if (!savedPlan) pool.warm(server.firewall.parallel);
    // The lock comes first: the diff is never made while another apply changes the tree.
    if (!held.has(name)) held.set(name, await takeSyncLocks(pool, name, syncs, reporter));
    const plan = savedPlan ?? (await makePlan(manifest, o.manifestDigest, ctx, [name]));
    const sp = plan.servers.find((x) => x.server === name)!;
    // Refused before anything runs on this server: nothing is deleted or changed there.
    checkDeleteGuard({ servers: [sp], allowDelete: plan.allowDelete }, syncs, { allowDelete: Boolean(o.allowDelete), manifestFile: manifest.file });
    // What planning found (unsafe names ignored, plain FTP, ...) is said here too: apply
    // is often run without a plan step in front of it.
    for (const w of sp.warnings) reporter.note(name, `warning: ${w.startsWith(`${name}: `) ? w.slice(name.length + 2) : w}`);
    const journal = new Journal(join(dirname(manifest.file), '.ftpsync', `journal-${name}.jsonl`), journalKey(plan));
    // The plan's cost model counted our closed uploads for a few round trips: so does the ledger.
    const rttMs = sp.rttMs ?? DEFAULT_RTT_MS;
    ctx.ledgers.get(name)!.setClientCloseLinger(clientCloseLingerMs(rttMs));
    const planMs = Math.round(performance.now() - planStarted);
    const firewallStore = firewallStorePath(manifest.file);
    reporter.serverStart?.(
      name,
      runTotals(sp, (id) => journal.has(id)),
    );
    r = {
      ...(await runServerPlan(sp, {
        server,
        syncs,
        pool,
        ledger: ctx.ledgers.get(name)!,
        gate: ctx.gates.get(name)!,
        journal,
        reporter,
        firewallStore,
        pendingStates: new PendingStates(localStateDir(manifest.file), name),
      })),
      planMs,
      lockMs: held.get(name)!.tookMs,
    };
    // What the sessions learned while running (rename onto a file refused, no MFMT), said once.
    for (const w of pool.warnings()) if (!sp.warnings.includes(w)) reporter.note(name, `warning: ${w.startsWith(`${name}: `) ? w.slice(name.length + 2) : w}`);
    // A run without a block that held more than a learned limit (after a reset, or confirmed) outgrew it.
    if (r.ok && !r.blocked && learnedLimitOutgrown(readLearnedLimit(firewallStore, timingKey(server)), r.peakCounted))
      forgetLearnedLimit(firewallStore, timingKey(server));
    // The next plan's ETA uses this server's measured speed instead of the lab's.
    if (r.ok && r.transferTimes) {
      try {
        recordLearnedWork(timingStorePath(manifest.file), workKey(server), learnedFrom(r.transferTimes, rttMs));
      } catch (e) {
        reporter.note(name, `could not record its transfer times for the next ETA: ${(e as Error).message}`);
      }
    }
    // And how its TLS data connections closed, which the next plan counts them by.
    if (server.tls !== 'none') {
      try {
        recordTlsCloses(closeStorePath(manifest.file), timingKey(server), tallyCloses(ctx.ledgers.get(name)!.all()));
      } catch (e) {
        reporter.note(name, `could not record how its TLS data connections closed: ${(e as Error).message}`);
      }
    }
    return r;
  } catch (e) {
    failure = e;
    const err = e as Error & { hint?: string };
    return {
      server: name,
      ok: false,
      error: err.message + (err.hint ? `\nhint: ${err.hint}` : ''),
      done: {},
      skippedFromJournal: 0,
      failed: [],
      bytes: 0,
      connections: ctx.ledgers.get(name)?.totals() ?? { control: 0, data: 0 },
      peakCounted: 0,
      elapsedMs: 0,
    };
  } finally {
    // A run that halted (a block, an unexpected error) or could not reach the server leaves
    // its lock: nothing more is sent to that server now; a re-run here takes it over.
    const blocked = r?.halted || (isFtpsyncError(failure) && classify(failure) === 'maybe-blocked');
    if (!blocked) await releaseSyncLocks(pool, held.get(name)?.locks ?? []);
    held.delete(name);
  }
}
