/**
 * A remote tree listed over several of the pool's sessions at once: each directory listed goes to
 * the next free session, so a tree of D directories costs about D / sessions listings in a row
 * (each one or two round trips) instead of D. For rollback, whose every round trip is time the
 * site spends half restored.
 */
import type { RemoteTree } from '../core/tree.js';
import { FtpsyncError } from '../errors.js';
import { remoteJoin } from '../remote/safe-names.js';
import type { RemotePool } from '../remote/types.js';

/** Bounded: a hostile server could list directories forever. */
const MAX_DIRECTORIES = 1_000_000;

export async function listTreeOver(pool: RemotePool, root: string, sessions: number, skip: (path: string) => boolean = () => false): Promise<RemoteTree> {
  const tree: RemoteTree = new Map();
  const queue: string[] = [''];
  let listed = 0;
  let running = 0;
  return new Promise((resolve, reject) => {
    let failed = false;
    const next = () => {
      if (failed) return;
      if (queue.length === 0 && running === 0) return resolve(tree);
      while (running < Math.max(1, sessions) && queue.length > 0) {
        const rel = queue.shift()!;
        if (++listed > MAX_DIRECTORIES) {
          failed = true;
          return reject(new FtpsyncError('E_FTP', `${root}: more than a million directories; refusing to go on`));
        }
        running++;
        pool
          .withSession((s) => s.list(rel === '' ? root : remoteJoin(root, rel)))
          .then((entries) => {
            for (const e of entries) {
              const path = rel === '' ? e.name : `${rel}/${e.name}`;
              if (skip(path)) continue;
              tree.set(path, e);
              if (e.type === 'dir') queue.push(path);
            }
            running--;
            next();
          })
          .catch((e: unknown) => {
            failed = true;
            reject(e as Error);
          });
      }
    };
    next();
  });
}
