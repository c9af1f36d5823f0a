/**
 * run/tree-walk.ts: a tree listed over several sessions at once gives the tree a one-session walk
 * gives, never uses more sessions than asked, skips what it is told to, and fails with the error
 * of a listing that failed. A pool of fake sessions (the listing protocol has its own tests).
 */
import { describe, expect, it } from 'vitest';
import type { RemoteEntry } from '../../src/core/tree.js';
import { FtpsyncError } from '../../src/errors.js';
import type { RemotePool, RemoteSession } from '../../src/remote/types.js';
import { listTreeOver } from '../../src/run/tree-walk.js';

/** Directories by absolute path → their entries; each listing takes `delayMs`. */
function fakePool(dirs: Record<string, string[]>, delayMs = 5, failOn?: string) {
  let busy = 0;
  const seen = { maxBusy: 0, listed: [] as string[] };
  const entry = (name: string): RemoteEntry =>
    (name.endsWith('/') ? { name: name.slice(0, -1), type: 'dir', size: 0 } : { name, type: 'file', size: 1 }) as RemoteEntry;
  const session = {
    server: 'fake',
    async list(dir: string) {
      seen.listed.push(dir);
      await new Promise((r) => setTimeout(r, delayMs));
      if (dir === failOn)
        throw new FtpsyncError('E_FTP', `fake: ${dir}: cannot list: 550 Permission denied`, undefined, { server: 'fake', remotePath: dir, ftpCode: 550 });
      return (dirs[dir] ?? []).map(entry);
    },
  } as unknown as RemoteSession;
  const pool = {
    server: 'fake',
    async withSession<T>(fn: (s: RemoteSession) => Promise<T>): Promise<T> {
      busy++;
      seen.maxBusy = Math.max(seen.maxBusy, busy);
      try {
        return await fn(session);
      } finally {
        busy--;
      }
    },
  } as unknown as RemotePool;
  return { pool, seen };
}

const site: Record<string, string[]> = {
  '/www': ['index.html', 'a/', 'b/', 'c/', '.ftpsync.lock/'],
  '/www/a': ['x.css', 'deep/'],
  '/www/a/deep': ['y.js', 'deeper/'],
  '/www/a/deep/deeper': ['z.png'],
  '/www/b': ['1.txt', '2.txt'],
  '/www/c': [],
  '/www/.ftpsync.lock': ['pid=1'],
};

describe('listTreeOver', () => {
  it('lists the whole tree with up to `sessions` listings at once; the same tree with one', async () => {
    const four = fakePool(site);
    const tree = await listTreeOver(four.pool, '/www', 4, (p) => p === '.ftpsync.lock');
    expect([...tree.keys()].sort()).toEqual([
      'a',
      'a/deep',
      'a/deep/deeper',
      'a/deep/deeper/z.png',
      'a/deep/y.js',
      'a/x.css',
      'b',
      'b/1.txt',
      'b/2.txt',
      'c',
      'index.html',
    ]);
    expect(four.seen.maxBusy).toBe(3); // a, b and c after the root
    expect(four.seen.listed).not.toContain('/www/.ftpsync.lock');

    const one = fakePool(site);
    const same = await listTreeOver(one.pool, '/www', 1, (p) => p === '.ftpsync.lock');
    expect([...same.entries()].sort()).toEqual([...tree.entries()].sort());
    expect(one.seen.maxBusy).toBe(1);

    const two = fakePool(site);
    await listTreeOver(two.pool, '/www', 2);
    expect(two.seen.maxBusy).toBe(2);
  });

  it('fails with the error of the listing that failed', async () => {
    const { pool } = fakePool(site, 5, '/www/b');
    await expect(listTreeOver(pool, '/www', 3)).rejects.toThrow(/\/www\/b: cannot list: 550/);
  });
});
