/**
 * Releases of two-phase uploads (pure): their names, what a release directory records, and what
 * rollback and pruning do with it. run/release.ts and run/rollback.ts do the renames.
 *
 * A release is a directory `<sync root>/.ftpsync-releases/<deploy id>` ("<id>.partial" until its
 * switch ended). It mirrors the sync root: each file the deploy replaced or deleted, moved there
 * by one rename. What the deploy added (files and directories that did not exist before) is
 * recorded as empty directories in `.ftpsync-added/`, one per path (`f~` or `d~` and the path,
 * URI-encoded): made with one MKD each, they cost no data connection, and a listing over the
 * control connection reads them back.
 */
import type { RemoteEntry } from '../core/tree.js';

export const PARTIAL_SUFFIX = '.partial';
export const ADDED_DIR = '.ftpsync-added';

/** A new deploy's id: its UTC time to the millisecond and a random tail; ids sort in time order. */
export function deployId(at: Date, randomHex: string): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}-${randomHex}`;
}

const ID = /^(\d{8}T\d{6,9}Z-[0-9a-f]{1,16})(\.partial)?$/;

export interface ReleaseName {
  /** The directory's name. */
  name: string;
  id: string;
  /** Its switch did not end (a crash, a failure): the next apply goes on with it. */
  partial: boolean;
}

/** The releases among the names listed in the releases directory, newest first; other names ignored. */
export function releasesIn(names: string[]): ReleaseName[] {
  const out: ReleaseName[] = [];
  for (const name of names) {
    const m = ID.exec(name);
    if (m) out.push({ name, id: m[1]!, partial: Boolean(m[2]) });
  }
  return out.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** Complete releases beyond the newest `keep`: what pruning removes. */
export function releasesToPrune(releases: ReleaseName[], keep: number): ReleaseName[] {
  return releases.filter((r) => !r.partial).slice(Math.max(0, keep));
}

export type AddedKind = 'f' | 'd';

/** The marker's name for a path the deploy added (null: too long for one name; that path is not recorded). */
export function addedMarker(kind: AddedKind, path: string): string | null {
  const name = `${kind}~${encodeURIComponent(path)}`;
  return Buffer.byteLength(name) <= 250 ? name : null;
}

export function parseAddedMarker(name: string): { kind: AddedKind; path: string } | null {
  const m = /^([fd])~(.+)$/.exec(name);
  if (!m) return null;
  try {
    return { kind: m[1] as AddedKind, path: decodeURIComponent(m[2]!) };
  } catch {
    return null;
  }
}

/** What rolling a release back does: every path relative to the sync root. */
export interface RollbackSteps {
  /** Files the deploy added: deleted. */
  removeFiles: string[];
  /** Files the deploy replaced or deleted: renamed back from the release. */
  restore: string[];
  /** Directories the deploy added, deepest first: removed once empty. */
  removeDirs: string[];
  /** The release's own directories, deepest first (after the renames they are empty). */
  releaseDirs: string[];
}

const depth = (p: string) => p.split('/').length;
const deepestFirst = (a: string, b: string) => depth(b) - depth(a) || (a < b ? -1 : a > b ? 1 : 0);
/** Parents before their children (a directory is made after the one it goes in). */
export const outermostFirst = (a: string, b: string) => depth(a) - depth(b);

/** From a listing of one release directory (paths relative to it): what rollback does. */
export function rollbackSteps(release: Map<string, Pick<RemoteEntry, 'type'>>): RollbackSteps {
  const removeFiles: string[] = [];
  const removeDirs: string[] = [];
  const restore: string[] = [];
  const releaseDirs: string[] = [];
  for (const [p, e] of release) {
    if (p.startsWith(`${ADDED_DIR}/`)) {
      const marker = p.slice(ADDED_DIR.length + 1);
      const added = marker.includes('/') ? null : parseAddedMarker(marker);
      if (added) (added.kind === 'f' ? removeFiles : removeDirs).push(added.path);
      if (e.type === 'dir') releaseDirs.push(p);
      continue;
    }
    if (e.type === 'dir') releaseDirs.push(p);
    else if (e.type === 'file') restore.push(p);
  }
  return { removeFiles: removeFiles.sort(), restore: restore.sort(), removeDirs: removeDirs.sort(deepestFirst), releaseDirs: releaseDirs.sort(deepestFirst) };
}

/** The parent directories of a path, outermost first ("a/b/c.txt" → ["a", "a/b"]). */
export function parentDirs(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
