/**
 * One planned action on one session: what each kind of action sends (run/executor.ts decides
 * when, on which session, and what a failure means).
 */
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PlannedAction } from '../core/actions.js';
import { isTempName } from '../core/names.js';
import { FtpsyncError } from '../errors.js';
import type { SyncConfig } from '../manifest/types.js';
import type { ServerPlan } from '../plan/types.js';
import { localJoin, remoteJoin } from '../remote/safe-names.js';
import type { RemoteSession } from '../remote/types.js';
import type { Release } from './release.js';
import type { StateCheckpoints } from './state-checkpoints.js';

export interface ActionContext {
  sync: SyncConfig;
  plan: ServerPlan;
  states: StateCheckpoints;
  /** The sync's release: two-phase uploads (absent otherwise). */
  release: Release | undefined;
  /** An earlier attempt of this action failed (its server session may still hold the file). */
  retry: boolean;
}

export async function runAction(s: RemoteSession, a: PlannedAction, { sync, plan, states, release, retry }: ActionContext): Promise<void> {
  const remote = () => remoteJoin(sync.remotePath, a.path, { server: plan.server });
  const local = () => localJoin(sync.localPath, a.path, { server: plan.server });
  const mtime = a.mtimeMs !== undefined ? { mtimeMs: a.mtimeMs } : {};
  switch (a.kind) {
    case 'mkdir':
      // Parents come from earlier stages and the lock made the sync root: one MKD, not one per
      // ancestor from / (a round trip each); the walk only when that MKD is refused (exists already).
      if (!(await s.mkdirExclusive(remote()))) await s.mkdir(remote());
      if (release) await release.markAdded(s, 'd', a.path);
      return;
    case 'upload':
      // Staged: stored under its staged name (not visible as the live file); the switch renames it.
      // A retry goes through a temp name of its own: the failed attempt's server session may still
      // hold the staged name (vsftpd locks a file while it is uploaded; a block hides our close).
      if (a.staged) return s.upload(local(), remoteJoin(sync.remotePath, a.staged, { server: plan.server }), { atomic: retry, ...mtime });
      return s.upload(local(), remote(), { atomic: true, ...mtime });
    case 'switch':
      if (!release) throw new FtpsyncError('E_INTERNAL', `${plan.server} ${remote()}: a switch action in a sync without twoPhase`);
      return release.switchFile(s, a);
    case 'delete':
      // Two-phase: a deleted file goes into the release (rollback puts it back); leftovers are deleted.
      if (release && !isTempName(a.path.split('/').pop()!)) {
        await release.moveAside(s, a.path);
        return;
      }
      return s.remove(remote());
    case 'rmdir':
      return s.rmdir(remote());
    case 'download': {
      const target = local();
      await mkdir(dirname(target), { recursive: true });
      return s.download(remote(), target, a.mtimeMs);
    }
    case 'mkdir-local':
      await mkdir(local(), { recursive: true });
      return;
    case 'delete-local':
      await rm(local(), { force: true });
      return;
    case 'rmdir-local':
      await rmdir(local()).catch(() => undefined);
      return;
    case 'write-state':
      return states.final(s, sync.name, release ? (session, path) => release.beforeStateWrite(session, path) : undefined);
  }
}
