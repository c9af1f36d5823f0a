/**
 * The plan: pure data, everything `apply` needs and nothing it must recompute.
 * Serialized as-is to plan.json (schemas/plan.schema.json describes it). No secrets, ever.
 */
import type { ActionKind, Phase, PlannedAction } from '../core/actions.js';
import type { CompareMethod, Direction, ListingStrategyName } from '../manifest/types.js';
import type { ContentWhy } from './state.js';

// 2: syncs carry `deletions`, the plan records `allowDelete` (an older apply would ignore both).
// 3: two-phase uploads: `switch` actions, staged names, the `twoPhase` steps.
export const PLAN_FORMAT_VERSION = 3;

/** Two-phase uploads: the staging and the switch as separate steps, each with its estimate. */
export interface TwoPhaseSteps {
  staging: { uploads: number; etaMs: number };
  /** `replaced`: files that replace a live one (moved aside first: two renames each). */
  switch: { files: number; replaced: number; etaMs: number };
}

/** What a sync deletes on its target, in files (directories apart): the mass-delete guard's figures. */
export interface SyncDeletions {
  /** Target files the plan deletes (ftpsync's own leftover temporary files not counted). */
  files: number;
  /** Target directories the plan removes. */
  dirs: number;
  /** Files on the target the sync could delete: not excluded, not protected. */
  targetFiles: number;
  /** Files in the source (after exclude and include). */
  sourceFiles: number;
  /** Target files matching `protect`: never deleted or overwritten. */
  protected: number;
}

export interface SyncSummary {
  name: string;
  direction: Direction;
  localPath: string;
  remotePath: string;
  /** What the manifest asked for, and what it meant here ('auto': checksum for uploads, size-mtime for downloads). */
  compareRequested: CompareMethod;
  compareUsed: Exclude<CompareMethod, 'auto'>;
  /** Uploads compared by content: the state file as found, the server's hash command, why files were judged as they were. */
  content?: { state: 'ok' | 'missing' | 'invalid'; serverHash?: string | null; judged: Partial<Record<ContentWhy, number>> };
  counts: Partial<Record<ActionKind, number>> & { unchanged: number };
  bytes: number;
  deletions: SyncDeletions;
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
  /** parallel: auto: why this many sessions ("auto: round trip 50 ms"). */
  parallelChosen?: string;
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
  /** Present when the plan switches staged uploads into place. */
  twoPhase?: TwoPhaseSteps;
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
  /** Made with --allow-delete: apply runs it even where the mass-delete guard would refuse it. */
  allowDelete: boolean;
  fingerprint: PlanFingerprint;
  rollout: { stages: Array<{ name: string; servers: string[] }>; haltOnFailure: boolean };
  servers: ServerPlan[];
}
