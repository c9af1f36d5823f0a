/**
 * Run one server's plan: phases in order, each started only when the live ledger has room for
 * it (the plan's pause, corrected by what the firewall still counts), stages as barriers,
 * at most `parallel` sessions. Uploads land atomically; deletes of a sync run only if every
 * transfer of that sync landed; a block stops new connections at once. Two-phase uploads switch
 * only once every staged file of their sync landed, and then switch all of them (release.ts).
 * The caller holds the remote lock (remote-lock.ts) for the run.
 */
import type { BudgetGate } from '../budget/gate.js';
import type { ConnectionLedger } from '../budget/ledger.js';
import { SWITCH_BATCH, transferRoundTrips } from '../budget/cost.js';
import { LINGER_MS, lingers } from '../budget/schedule.js';
import type { PlannedAction } from '../core/actions.js';
import { isTempName } from '../core/names.js';
import { isFtpsyncError } from '../errors.js';
import type { ServerConfig, SyncConfig } from '../manifest/types.js';
import type { ServerPlan } from '../plan/types.js';
import { classify, toFtpsyncError } from '../remote/errors.js';
import type { RemotePool } from '../remote/types.js';
import { looksBlocked, retriedFirst, stalledError } from './block-detect.js';
import { learnFromBlock } from './block-learn.js';
import { BlockWait } from './block-wait.js';
import type { Journal } from './journal.js';
import type { Reporter } from './progress.js';
import type { PendingStates } from './pending-state.js';
import { finishReleases, Release, switchedSummary } from './release.js';
import { runAction } from './run-action.js';
import { StateCheckpoints } from './state-checkpoints.js';
import { transferTimesOf, type TransferSpan, type TransferTimes } from './timing-store.js';

export interface ServerRunDeps {
  server: ServerConfig;
  syncs: SyncConfig[];
  pool: RemotePool;
  ledger: ConnectionLedger;
  gate: BudgetGate;
  journal: Journal;
  reporter: Reporter;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Where a limit learned from a block is remembered (firewall-store.ts); absent: not remembered. */
  firewallStore?: string;
  /** Where a checksum state the server refused is kept until it takes one (pending-state.ts). */
  pendingStates?: PendingStates;
}

export interface ServerResult {
  server: string;
  ok: boolean;
  error?: string;
  done: Partial<Record<PlannedAction['kind'], number>>;
  skippedFromJournal: number;
  failed: Array<{ path: string; error: string }>;
  bytes: number;
  connections: { control: number; data: number };
  peakCounted: number;
  elapsedMs: number;
  /**
   * Set by apply: how long this process took before this server's run began, ms. For the first
   * server that is the process's start-up and its planning (or its check of a saved plan); for a
   * later one, planning it.
   */
  planMs?: number;
  /** Set by apply: how long taking this server's remote lock took (after the first login), ms; apply takes it before it plans. */
  lockMs?: number;
  /** Time per successful upload and download in this run (the next plan's ETA learns from it). */
  transferTimes?: TransferTimes;
  /**
   * The run stopped early (a block, or an unexpected error): nothing more should be sent to this
   * server now, not even the lock's removal (a same-host re-run takes a stale lock over).
   */
  halted?: boolean;
  /** A block was noticed (and waited out, or the run halted). */
  blocked?: boolean;
  /**
   * Two-phase uploads: files renamed into place, and the mixed window: from the start of the
   * first switch rename to the end of the last, ms (the only time the site mixes two releases).
   */
  switched?: { files: number; windowMs: number; releases: string[] };
}

const MAX_TRIES = 3;

export async function runServerPlan(plan: ServerPlan, d: ServerRunDeps): Promise<ServerResult> {
  const now = d.now ?? Date.now;
  const sleep = d.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = now();
  const result: ServerResult = {
    server: plan.server,
    ok: true,
    done: {},
    skippedFromJournal: 0,
    failed: [],
    bytes: 0,
    connections: { control: 0, data: 0 },
    peakCounted: 0,
    elapsedMs: 0,
  };
  const byId = new Map(plan.actions.map((a) => [a.id, a]));
  const syncByName = new Map(d.syncs.map((s) => [s.name, s]));
  const failedSyncs = new Set<string>();
  /** Syncs whose switch began: it goes on to the end, whatever fails meanwhile. */
  const switching = new Set<string>();
  const window = { files: 0 };
  let successes = 0;
  /** Switches retried one by one after their batch's session failed. */
  const singly = new Set<string>();
  // Batches spread the switch over every session; at most SWITCH_BATCH renames in flight on one.
  const switchBatch = Math.max(1, Math.min(SWITCH_BATCH, Math.ceil(plan.actions.filter((a) => a.kind === 'switch').length / Math.max(1, plan.parallel))));
  const switchInBatch = async (batch: PlannedAction[], queue: PlannedAction[]) => {
    const release = releases.get(batch[0]!.sync)!;
    let outcome: Array<Error | null>;
    try {
      outcome = await d.pool.withSession((s) => release.switchBatch(s, batch));
    } catch (e) {
      // The session failed mid-batch: each of its files again on its own (Release.switchFile
      // first looks whether the file was switched already).
      d.reporter.note(plan.server, `switch: ${(e as Error).message}; its ${batch.length} file(s) again one by one`);
      for (const b of batch) singly.add(b.id);
      queue.unshift(...batch);
      return;
    }
    for (const [i, b] of batch.entries()) {
      const err = outcome[i];
      if (err) {
        result.failed.push({ path: `${b.sync}:${b.path}`, error: err.message });
        failedSyncs.add(b.sync);
        d.reporter.note(plan.server, `failed: switch ${b.path}: ${err.message}`);
        continue;
      }
      window.files++;
      d.journal.record(b.id);
      await states.landed(b);
      result.done.switch = (result.done.switch ?? 0) + 1;
      successes++;
      d.reporter.progress(plan.server, b, d.ledger.counted(now()), d.gate.limit);
    }
  };
  const peakTimer = setInterval(() => (result.peakCounted = Math.max(result.peakCounted, d.ledger.counted(now()))), 250);
  // Each kind's span for the next plan's ETA; idleMs grows while no session works (pauses, blocks).
  const spans: Partial<Record<'upload' | 'download', TransferSpan & { idleAtStart: number }>> = {};
  let idleMs = 0;

  const blocks = new BlockWait({
    server: plan.server,
    onBlock: d.server.firewall.onBlock,
    gate: d.gate,
    explain: (err, again) =>
      learnFromBlock(
        {
          server: d.server,
          ledger: d.ledger,
          gate: d.gate,
          now,
          note: (t) => d.reporter.note(plan.server, t),
          ...(d.firewallStore ? { store: d.firewallStore } : {}),
        },
        err.message,
        again,
      ),
    reporter: d.reporter,
    probe: () => d.pool.withSession((s) => s.list(d.syncs[0]?.remotePath ?? '/')),
    now,
    sleep,
    onIdle: (ms) => (idleMs += ms),
  });

  // The checksum state is written every CHECKPOINT_EVERY landed files and at every pause (state-checkpoints.ts).
  const states = await StateCheckpoints.forPlan(
    plan,
    d.syncs,
    (fn) => d.pool.withSession(fn),
    (m) => d.reporter.note(plan.server, m),
    undefined,
    d.pendingStates,
  );
  // Two-phase syncs that change the site (switch, delete, mkdir): their release, opened when first
  // needed. A run that only rewrites the state or removes leftovers makes none (it would push the
  // previous release out).
  const changesSite = (a: PlannedAction) => a.kind === 'switch' || a.kind === 'mkdir' || (a.kind === 'delete' && !isTempName(a.path.split('/').pop()!));
  const releases = new Map<string, Release>();
  for (const sync of d.syncs)
    if (sync.direction === 'upload' && sync.twoPhase && plan.actions.some((a) => a.sync === sync.name && changesSite(a)))
      releases.set(
        sync.name,
        new Release(
          sync,
          (fn) => d.pool.withSession(fn),
          (t) => d.reporter.note(plan.server, `${sync.name}: ${t}`),
        ),
      );
  try {
    // apply warmed the pool when it planned; a saved plan's run logs its sessions in here.
    d.pool.setMaxSessions(plan.parallel);
    d.pool.warm(Math.min(plan.parallel, plan.actions.length));

    for (const phase of plan.phases) {
      if (blocks.halted) break;
      // Pause: until the live ledger has room for this phase (as the plan computed, but measured).
      // Only connections that keep counting TIME_WAIT-scale times need their room at once, and only
      // a TIME_WAIT-scale wait is taken whole, before the phase. Uploads and reset downloads stop
      // counting within round trips: they are left to the gate, which admits each connection as a
      // slot frees. (Waiting for a whole phase's room for them stalled every phase, and made an
      // upload phase wait out the lock read's TIME_WAIT: docs/benchmarks.md.)
      const lingering = phase.actionIds.reduce((n, id) => {
        const a = byId.get(id)!;
        return lingers(a.cost.countedMs) ? n + a.cost.connections : n;
      }, 0);
      const want = Math.min(lingering, d.gate.limit - plan.parallel);
      if (want > 0) {
        const at = d.ledger.earliestSlot(now(), d.gate.limit, want);
        // Pauses TIME_WAIT-scale and longer are waited out whole, before the phase starts.
        if (at - now() >= LINGER_MS && at !== Infinity) {
          await states.checkpoint();
          d.reporter.pause(plan.server, at - now(), d.ledger.counted(now()), d.gate.limit);
          const pauseStarted = now();
          // The sessions stay logged in through the pause (a NOOP when due): no reconnects to count.
          while (now() < at) {
            await d.pool.keepIdleAlive();
            await sleep(Math.min(1000, Math.max(0, at - now())));
          }
          idleMs += now() - pauseStarted;
        }
      }
      d.reporter.phase(plan.server, phase.index + 1, plan.phases.length, phase.actionIds.length, phase.connections);
      // Stages inside a phase run one after another; actions of a stage run in parallel.
      const stages = new Map<number, PlannedAction[]>();
      for (const id of phase.actionIds) {
        const a = byId.get(id)!;
        if (!stages.has(a.stage)) stages.set(a.stage, []);
        stages.get(a.stage)!.push(a);
      }
      for (const stage of [...stages.keys()].sort((x, y) => x - y)) {
        if (blocks.halted) break;
        const queue = [...stages.get(stage)!];
        const worker = async () => {
          for (let a = queue.shift(); a && !blocks.halted; a = queue.shift()) {
            if (d.journal.has(a.id)) {
              await states.landed(a);
              result.skippedFromJournal++;
              continue;
            }
            // No deletion (and no state claim) when a transfer of the sync failed; no switch
            // when a staged upload failed (once begun, a switch is finished).
            if (failedSyncs.has(a.sync) && ['delete', 'rmdir', 'delete-local', 'rmdir-local', 'write-state'].includes(a.kind)) continue;
            if (a.kind === 'switch' && failedSyncs.has(a.sync) && !switching.has(a.sync)) continue;
            const sync = syncByName.get(a.sync)!;
            if (a.kind === 'switch' && !switching.has(a.sync)) {
              switching.add(a.sync);
              d.reporter.note(plan.server, `${a.sync}: switching: renaming the staged files into place`);
            }
            if (a.kind === 'switch' && !singly.has(a.id)) {
              // The switch goes in pipelined batches, one per session at a time (Release.switchBatch).
              const batch = [a];
              for (let next = queue[0]; next && batch.length < switchBatch; next = queue[0]) {
                if (next.kind !== 'switch' || next.sync !== a.sync || d.journal.has(next.id) || singly.has(next.id)) break;
                batch.push(queue.shift()!);
              }
              await switchInBatch(batch, queue);
              continue;
            }
            let tries = 0;
            for (let attempt = 1; ; attempt++) {
              const t0 = now();
              try {
                const idleAtT0 = idleMs;
                const retry = tries++ > 0;
                await d.pool.withSession((s) => runAction(s, a!, { sync, plan, states, release: releases.get(a!.sync), retry }));
                if (a.kind === 'switch') window.files++;
                d.journal.record(a.id);
                await states.landed(a);
                result.done[a.kind] = (result.done[a.kind] ?? 0) + 1;
                if (a.kind === 'upload' || a.kind === 'download') {
                  const span = (spans[a.kind] ??= { firstStartMs: t0, lastEndMs: t0, count: 0, idleMs: 0, idleAtStart: idleAtT0 });
                  span.firstStartMs = Math.min(span.firstStartMs, t0);
                  span.lastEndMs = now();
                  span.idleMs = idleMs - span.idleAtStart;
                  span.count++;
                  span.trips = (span.trips ?? 0) + (transferRoundTrips(a, d.server) ?? 0);
                  result.bytes += a.size;
                }
                successes++;
                d.reporter.progress(plan.server, a, d.ledger.counted(now()), d.gate.limit);
                break;
              } catch (e) {
                let err = isFtpsyncError(e) ? e : toFtpsyncError(e, { server: plan.server, remotePath: a.path, op: a.kind });
                const cls = classify(err);
                if (looksBlocked({ errorClass: cls, successesBefore: successes, reset: retriedFirst(err.message), attempt })) {
                  // Every worker that hits the block waits on the same wait; a lifted block retries the action.
                  const outcome = await blocks.waitOut(err, t0);
                  if (outcome === 'retry') {
                    attempt = 0;
                    continue;
                  }
                  if (outcome === 'stop') break;
                  err = stalledError(err);
                }
                if (cls === 'session-limit' && attempt < MAX_TRIES) {
                  d.pool.setMaxSessions(Math.max(1, plan.parallel - attempt));
                  d.reporter.note(plan.server, `the server capped sessions (${err.message}); going on with fewer`);
                  await sleep(1000 * attempt);
                  continue;
                }
                if ((cls === 'transient' || cls === 'maybe-blocked') && attempt < MAX_TRIES) {
                  await sleep(500 * 2 ** attempt);
                  continue;
                }
                result.failed.push({ path: `${a.sync}:${a.path}`, error: err.hint ? `${err.message}; hint: ${err.hint}` : err.message });
                failedSyncs.add(a.sync);
                d.reporter.note(plan.server, `failed: ${a.kind} ${a.path}: ${err.message}`);
                break;
              }
            }
          }
        };
        await Promise.all(Array.from({ length: Math.max(1, plan.parallel) }, worker));
      }
    }
    if (!blocks.halted) await finishReleases(releases, failedSyncs, (m) => d.reporter.note(plan.server, m));
    // A run that did not finish keeps what landed (not after a block: nothing more is sent then).
    if (!blocks.halted) await states.checkpoint();
    else states.keepLocally();
  } catch (e) {
    blocks.halted = isFtpsyncError(e) ? e : toFtpsyncError(e, { server: plan.server, op: 'apply' });
  } finally {
    clearInterval(peakTimer);
  }
  result.connections = d.ledger.totals();
  result.peakCounted = Math.max(result.peakCounted, d.ledger.counted(now()));
  result.elapsedMs = now() - started;
  result.transferTimes = transferTimesOf(spans, plan.parallel);
  if (blocks.noticed) result.blocked = true;
  if (window.files > 0) result.switched = switchedSummary(releases, syncByName, window.files);
  const halted = blocks.halted;
  if (halted) {
    result.ok = false;
    result.halted = true;
    result.error = halted.message + (halted.hint ? `\nhint: ${halted.hint}` : '');
  } else if (result.failed.length) {
    result.ok = false;
    result.error = `${result.failed.length} action(s) failed`;
  }
  if (result.ok) d.journal.clear();
  else d.journal.close();
  return result;
}
