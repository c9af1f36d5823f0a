/**
 * The checksum state during an apply: what the run can claim is on the server, written to the
 * server atomically (temp + rename) every CHECKPOINT_EVERY landed files, at every pause, and at
 * the end. A run that is killed or times out loses at most one checkpoint's worth: the next plan
 * does not find those files in the state and compares them as on a first run.
 *
 * The state claims only (a) files the plan judged unchanged, hashed again when the run starts,
 * and (b) uploads that landed, with the hash the plan made of them. A file that changed between
 * plan and upload is then recorded with a hash that no longer matches it: the next plan uploads
 * it again (the safe side); the state never vouches for content the server does not have.
 */
import { sha256File } from '../local/hash.js';
import { walkLocal } from '../local/walk.js';
import type { SyncConfig } from '../manifest/types.js';
import { serializeState, STATE_FILE, type StateEntry, type SyncState } from '../plan/state.js';
import type { PlannedAction } from '../core/actions.js';
import type { ServerPlan } from '../plan/types.js';
import { localJoin, remoteJoin } from '../remote/safe-names.js';
import type { RemoteSession } from '../remote/types.js';
import type { PendingStates } from './pending-state.js';

/** Landed files between two checkpoints of a sync's state. */
export const CHECKPOINT_EVERY = 200;

/** One sync's claimable state (pure): the base, plus what landed; when a checkpoint is due. */
export class StateTracker {
  private readonly files: Map<string, StateEntry>;
  /** Changes recorded, and how many of them the last write covered. */
  private changes = 0;
  private writtenUpTo = 0;

  constructor(
    base: Record<string, StateEntry>,
    private readonly every = CHECKPOINT_EVERY,
  ) {
    this.files = new Map(Object.entries(base));
  }

  /**
   * An action of this sync completed (or an earlier run's journal says it did). A staged upload
   * claims nothing: its file is claimed when the switch renames it into place.
   */
  landed(a: Pick<PlannedAction, 'kind' | 'path' | 'size' | 'sha256' | 'staged'>): void {
    const inPlace = (a.kind === 'upload' && !a.staged) || a.kind === 'switch';
    if (inPlace && a.sha256) this.files.set(a.path, { size: a.size, sha256: a.sha256 });
    else if (inPlace || a.kind === 'delete') this.files.delete(a.path);
    else return;
    this.changes++;
  }

  /** Written only by the final write-state (two-phase: see forPlan). */
  get finalOnly(): boolean {
    return this.every === Infinity;
  }

  get due(): boolean {
    return this.changes - this.writtenUpTo >= this.every;
  }

  get hasUnwritten(): boolean {
    return this.changes > this.writtenUpTo;
  }

  /** The state as of now, and the mark to pass to written() once it is on the server. */
  snapshot(): { state: SyncState; mark: number } {
    const files: Record<string, StateEntry> = {};
    for (const p of [...this.files.keys()].sort()) files[p] = this.files.get(p)!;
    return { state: { version: 1, files }, mark: this.changes };
  }

  /** A snapshot reached the server: what landed after it is still unwritten. */
  written(mark: number): void {
    this.writtenUpTo = Math.max(this.writtenUpTo, mark);
  }
}

/** The base of a sync's state: its local files the plan does not transfer (judged unchanged), hashed now. */
export async function baseState(sync: SyncConfig, transferred: Set<string>): Promise<Record<string, StateEntry>> {
  const base: Record<string, StateEntry> = {};
  for (const [p, e] of walkLocal(sync.localPath, sync).entries) {
    if (e.type === 'file' && !transferred.has(p)) base[p] = { size: e.size, sha256: await sha256File(localJoin(sync.localPath, p)) };
  }
  return base;
}

export type WithSession = <T>(fn: (s: RemoteSession) => Promise<T>) => Promise<T>;

/** The state trackers of a server's run, and their writes (one at a time). */
export class StateCheckpoints {
  private chain: Promise<void> = Promise.resolve();
  /** Checkpoints written (the final write-state included). */
  writes = 0;

  private constructor(
    private readonly trackers: Map<string, { sync: SyncConfig; tracker: StateTracker }>,
    private readonly withSession: WithSession,
    private readonly onError: (message: string) => void,
    private readonly pending?: PendingStates,
  ) {}

  /** Trackers for the plan's syncs that keep a state (those with a write-state action). */
  static async forPlan(
    plan: ServerPlan,
    syncs: SyncConfig[],
    withSession: WithSession,
    onError: (message: string) => void,
    every = CHECKPOINT_EVERY,
    pending?: PendingStates,
  ): Promise<StateCheckpoints> {
    const trackers = new Map<string, { sync: SyncConfig; tracker: StateTracker }>();
    for (const sync of syncs) {
      const mine = plan.actions.filter((a) => a.sync === sync.name);
      if (!mine.some((a) => a.kind === 'write-state')) continue;
      const transferred = new Set(mine.filter((a) => a.kind === 'upload' || a.kind === 'switch').map((a) => a.path));
      // Two-phase: the state is switched with the files, once, at the end (a checkpoint during the
      // switch would replace the live state before the release holds the previous one).
      const twoPhase = mine.some((a) => a.kind === 'switch');
      trackers.set(sync.name, { sync, tracker: new StateTracker(await baseState(sync, transferred), twoPhase ? Infinity : every) });
    }
    return new StateCheckpoints(trackers, withSession, onError, pending);
  }

  /**
   * Record a completed action; write its sync's state when a checkpoint is due. A checkpoint that
   * fails is said and not retried here: the next one (or the final write) covers it.
   */
  async landed(a: PlannedAction): Promise<void> {
    const t = this.trackers.get(a.sync);
    if (!t) return;
    t.tracker.landed(a);
    if (t.tracker.due)
      await this.write(t, null).catch((e: unknown) => this.onError(`checkpoint of ${STATE_FILE} (sync ${t.sync.name}) failed: ${(e as Error).message}`));
  }

  /** Write every state with unwritten changes (at a pause, at the end of a run that did not finish); not a two-phase one. */
  async checkpoint(): Promise<void> {
    for (const t of this.trackers.values()) {
      if (t.tracker.hasUnwritten && !t.tracker.finalOnly)
        await this.write(t, null).catch((e: unknown) => this.onError(`checkpoint of ${STATE_FILE} (sync ${t.sync.name}) failed: ${(e as Error).message}`));
    }
  }

  /** After a block nothing more is sent: what landed is kept on this side for the next plan (pending-state.ts). */
  keepLocally(): void {
    for (const t of this.trackers.values()) if (t.tracker.hasUnwritten) this.pending?.save(t.sync.name, serializeState(t.tracker.snapshot().state));
  }

  /**
   * The write-state action: the sync's final state, on the action's session. It runs in the last
   * stage, after every landed() and checkpoint() was awaited, so no queued write needs a session.
   */
  async final(s: RemoteSession, syncName: string, before?: (s: RemoteSession, statePath: string) => Promise<void>): Promise<void> {
    const t = this.trackers.get(syncName);
    if (!t) return;
    if (before) await before(s, STATE_FILE);
    await this.write(t, s);
  }

  private write(t: { sync: SyncConfig; tracker: StateTracker }, session: RemoteSession | null): Promise<void> {
    const run = async () => {
      if (session === null && !t.tracker.hasUnwritten) return; // a queued checkpoint another one covered
      const { state, mark } = t.tracker.snapshot();
      const body = serializeState(state);
      const path = remoteJoin(t.sync.remotePath, STATE_FILE);
      // writeSmallFile stores a temporary name and renames it over the state: never half a state.
      try {
        if (session) await session.writeSmallFile(path, body);
        else await this.withSession((s) => s.writeSmallFile(path, body));
      } catch (e) {
        // Refused (quota full) or cut off: kept here, so the next plan still knows what landed.
        this.pending?.save(t.sync.name, body);
        throw e;
      }
      this.pending?.clear(t.sync.name);
      t.tracker.written(mark);
      this.writes++;
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => undefined);
    return p;
  }
}
