/**
 * The plan: pure data, everything `apply` needs and nothing it must recompute.
 * Serialized as-is to plan.json (schemas/plan.schema.json describes it). No secrets, ever.
 */
import type { CompareMethod, Direction, ListingStrategyName } from '../manifest/types.js';

export const PLAN_FORMAT_VERSION = 1;

export type ActionKind =
  | 'mkdir' // remote mkdir (upload)
  | 'upload'
  | 'delete' // remote file delete (upload with delete: true)
  | 'rmdir' // remote rmdir
  | 'download'
  | 'mkdir-local'
  | 'delete-local'
  | 'rmdir-local'
  | 'write-state'; // update the remote checksum state file

export type ActionReason = 'new' | 'changed' | 'extraneous' | 'state';

export interface PlannedAction {
  /** Stable, unique in the plan: `${server}/${sync}/${kind}/${path}`. */
  id: string;
  server: string;
  sync: string;
  kind: ActionKind;
  /** POSIX path relative to the sync root ("" for the root itself). Validated, never escapes it. */
  path: string;
  /** Bytes to transfer (0 for non-transfers). */
  size: number;
  reason: ActionReason;
  /** Local mtime (ms) for uploads/downloads, to set on the other side where supported. */
  mtimeMs?: number;
  /** Content hash (sha256 hex) for uploads when compare is checksum. */
  sha256?: string;
  /** New TCP connections this action opens that the firewall counts, and for how long after close. */
  cost: { connections: number; countedMs: number };
  /**
   * Ordering barrier within its sync: every action of a lower stage completes before this one
   * starts (mkdir by depth, uploads, `last` uploads, deletes, rmdir deepest first, state file).
   */
  stage: number;
}

export interface Phase {
  index: number;
  actionIds: string[];
  /** Counted connections opened in this phase. */
  connections: number;
  /** When the phase starts, ms after apply starts (pauses included). */
  startMs: number;
  /** Estimated duration of the phase's work, ms. */
  estimatedMs: number;
  /** Pause after this phase so counted connections drain below the budget, ms (0 for the last). */
  pauseAfterMs: number;
}

export interface SyncSummary {
  name: string;
  direction: Direction;
  localPath: string;
  remotePath: string;
  /** What compare actually used: e.g. 'checksum' may fall back to 'size-mtime' without a state file. */
  compareRequested: CompareMethod;
  compareUsed: CompareMethod;
  counts: Partial<Record<ActionKind, number>> & { unchanged: number };
  bytes: number;
}

export interface ServerPlan {
  server: string;
  host: string;
  /** floor(maxConnections × headroom) minus what control connections reserve. */
  budget: number;
  maxConnections: number;
  headroom: number;
  timeWaitMs: number;
  parallel: number;
  listing: { strategy: ListingStrategyName; dataConnections: number };
  syncs: SyncSummary[];
  actions: PlannedAction[];
  phases: Phase[];
  /** Counted connections across all phases. */
  countedConnections: number;
  /** Control round trip measured at plan time, ms: the timing model's basis. */
  rttMs?: number;
  /** (ceil(N/B) − 1) × timeWait + transfer time (without apply's fixed setup). */
  theoreticalMinMs: number;
  /** Estimated time for apply on this server: the schedule plus the fixed setup (login, lock, re-listing). */
  etaMs: number;
  /** The schedule's guarantee: etaMs ≤ this (theoretical minimum + what the order requires). */
  boundMs: number;
  warnings: string[];
}

export interface PlanFingerprint {
  /** sha256 of the manifest file's bytes. */
  manifest: string;
  /** sha256 over (path, size, mtime[, sha256]) of every local file considered, per sync. */
  local: Record<string, string>;
  /** sha256 over the normalized remote listing, per server/sync. */
  remote: Record<string, string>;
}

export interface Plan {
  formatVersion: typeof PLAN_FORMAT_VERSION;
  createdAt: string;
  tool: { name: 'ftpsync'; version: string };
  manifestFile: string;
  fingerprint: PlanFingerprint;
  rollout: { stages: Array<{ name: string; servers: string[] }>; haltOnFailure: boolean };
  servers: ServerPlan[];
}
