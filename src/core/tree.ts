/**
 * The two trees a sync compares: the local walk's entries and a remote listing's entries, keyed
 * by POSIX path relative to the sync root. A leaf shared by local/, remote/ and plan/.
 */

export interface LocalEntry {
  type: 'file' | 'dir';
  size: number;
  mtimeMs: number;
}

export type RemoteEntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface RemoteEntry {
  /** A single validated path segment (no '/', '\\', NUL, '.', '..'). */
  name: string;
  type: RemoteEntryType;
  size: number;
  /** Modification time (ms since epoch, UTC) when known. */
  mtimeMs?: number;
  /** How precise mtimeMs is: 1000 for MLSD/MDTM, 60_000 for LIST "Mon dd HH:MM", 86_400_000 for "Mon dd yyyy". */
  mtimePrecisionMs?: number;
  linkTarget?: string;
}

/** A remote tree keyed by POSIX path relative to the sync root ("a/b.txt"; directories included). */
export type RemoteTree = Map<string, RemoteEntry>;

/** A local path the walk left out (a symlink, a special file), with why. */
export interface SkippedEntry {
  path: string;
  reason: string;
}
