/**
 * Walk a local directory tree with a sync's excludes/includes (picomatch globs on POSIX paths
 * relative to the root). Symlinks and special files are left out and returned in `skipped`, which
 * the plan shows as warnings; an unreadable entry is an error naming its path. Directories come
 * back too (type 'dir') so the diff can create and remove them.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { isTempName } from '../core/names.js';
import type { LocalEntry, SkippedEntry } from '../core/tree.js';
import { FtpsyncError } from '../errors.js';

export interface LocalSnapshot {
  entries: Map<string, LocalEntry>;
  /** Symlinks and special files that were left out, with why. */
  skipped: SkippedEntry[];
}

export interface Filter {
  exclude: string[];
  include: string[];
}

function makeMatcher(filter: Filter): { excluded: (rel: string, isDir: boolean) => boolean; included: (rel: string) => boolean } {
  const opts = { dot: true };
  const ex = filter.exclude.length ? picomatch(filter.exclude, opts) : null;
  const inc = filter.include.length ? picomatch(filter.include, opts) : null;
  return {
    // A directory is excluded when it or "dir/" matches ("**/.git/**" prunes .git whole).
    excluded: (rel, isDir) => ex !== null && (ex(rel) || (isDir && ex(`${rel}/`))),
    included: (rel) => inc === null || inc(rel),
  };
}

function statOrThrow(path: string): Stats {
  try {
    return lstatSync(path);
  } catch (e) {
    throw new FtpsyncError('E_LOCAL_IO', `cannot read ${path}: ${(e as Error).message}`, 'Check the permissions of the local tree.', {}, { cause: e });
  }
}

export function walkLocal(root: string, filter: Filter, maxEntries = 5_000_000): LocalSnapshot {
  const entries = new Map<string, LocalEntry>();
  const skipped: SkippedEntry[] = [];
  const m = makeMatcher(filter);
  const rootStat = statOrThrow(root);
  if (!rootStat.isDirectory()) throw new FtpsyncError('E_LOCAL_IO', `${root} is not a directory`);
  const stack: string[] = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const abs = rel === '' ? root : join(root, rel);
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch (e) {
      throw new FtpsyncError(
        'E_LOCAL_IO',
        `cannot read directory ${abs}: ${(e as Error).message}`,
        'Check the permissions of the local tree.',
        {},
        { cause: e },
      );
    }
    for (const name of names.sort()) {
      if (isTempName(name)) continue; // our own partial downloads from an interrupted run
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = statOrThrow(join(abs, name));
      if (st.isSymbolicLink()) {
        skipped.push({ path: childRel, reason: 'symlink (not followed)' });
        continue;
      }
      if (st.isDirectory()) {
        if (m.excluded(childRel, true)) continue;
        entries.set(childRel, { type: 'dir', size: 0, mtimeMs: st.mtimeMs });
        stack.push(childRel);
      } else if (st.isFile()) {
        if (m.excluded(childRel, false) || !m.included(childRel)) continue;
        entries.set(childRel, { type: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs) });
      } else {
        skipped.push({ path: childRel, reason: 'not a regular file' });
      }
      if (entries.size > maxEntries) throw new FtpsyncError('E_LOCAL_IO', `${root}: more than ${maxEntries} entries; refusing to go on`);
    }
  }
  if (filter.include.length) pruneEmptyDirs(entries);
  return { entries, skipped };
}

/** With includes, keep only directories that lead to an included file. */
function pruneEmptyDirs(entries: Map<string, LocalEntry>): void {
  const needed = new Set<string>();
  for (const [p, e] of entries) {
    if (e.type !== 'file') continue;
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) needed.add(parts.slice(0, i).join('/'));
  }
  for (const [p, e] of [...entries]) if (e.type === 'dir' && !needed.has(p)) entries.delete(p);
}
