/**
 * Protected paths (pure): a sync's `protect` globs name target files that belong to the target
 * (uploads made on the live site, .well-known/, logs). The diff never deletes or overwrites an
 * existing target file at a protected path, whatever `delete` says; a protected path the target
 * lacks is created like any other file.
 *
 * How it differs from `exclude`: an excluded path is not compared at all (not transferred, not
 * deleted, not counted); a protected path is still seen: the plan counts the protected target
 * files, and a directory holding one is never removed.
 */
import picomatch from 'picomatch';

export interface ProtectMatcher {
  /** Is this target path (POSIX, relative to the sync root) protected, by itself or by a parent directory? */
  isProtected(path: string): boolean;
}

/** A matcher for a sync's protect globs; matches nothing when there are none. */
export function protectMatcher(globs: readonly string[]): ProtectMatcher {
  if (globs.length === 0) return { isProtected: () => false };
  const match = picomatch([...globs], { dot: true });
  // Like exclude: "logs" or "logs/" protects everything under logs/, not only the directory entry.
  const matches = (p: string) => match(p) || match(`${p}/`);
  return {
    isProtected(path) {
      if (path === '') return false;
      const parts = path.split('/');
      for (let i = 1; i <= parts.length; i++) if (matches(parts.slice(0, i).join('/'))) return true;
      return false;
    },
  };
}

/**
 * Directories the diff must not remove: every ancestor of a protected file (the rmdir would
 * only fail on a directory that is not empty).
 */
export function dirsHoldingProtected(protectedFiles: Iterable<string>): Set<string> {
  const dirs = new Set<string>();
  for (const p of protectedFiles) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return dirs;
}
