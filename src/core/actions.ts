/**
 * The shapes plan/ produces and budget/ and run/ consume: what one action is and how actions are
 * grouped into phases. A leaf: it imports nothing, so plan/ and budget/ both depend on it and not
 * on each other.
 */

export type ActionKind =
  | 'mkdir' // remote mkdir (upload)
  | 'upload'
  | 'delete' // remote file delete (upload with delete: true)
  | 'rmdir' // remote rmdir
  | 'download'
  | 'mkdir-local'
  | 'delete-local'
  | 'rmdir-local'
  | 'write-state' // update the remote checksum state file
  | 'switch'; // rename a staged upload into place (two-phase uploads: run/release.ts)

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
  /**
   * Two-phase uploads: where the file is staged, relative to the sync root (a temporary name
   * beside its target). An upload stores it there; the switch renames it into place.
   */
  staged?: string;
  /** Content hash (sha256 hex) for uploads when compare is checksum. */
  sha256?: string;
  /** New TCP connections this action opens that the firewall counts, and for how long after close. */
  cost: { connections: number; countedMs: number };
  /**
   * Ordering barrier within its sync: every action of a lower stage completes before this one
   * starts (mkdir by depth, uploads, `last` uploads, the switch, its `last` files, deletes,
   * rmdir deepest first, state file).
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
