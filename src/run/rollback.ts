/**
 * `ftpsync rollback`: put the previous release back, by renames only. Per server (in rollout
 * order) and two-phase upload sync: take the lock, read the newest release (complete, or one an
 * interrupted switch left), delete what that deploy added, rename every file it replaced or
 * deleted back into place, remove the directories it added and the release itself. The state
 * file goes back with the files (it is in the release like one). Nothing is transferred: every
 * step is a control-connection command, and the listings use STAT where the server allows it.
 */
import { RELEASES_DIR, isTempName } from '../core/names.js';
import { FtpsyncError } from '../errors.js';
import { assertKnownServers } from '../manifest/servers.js';
import type { Manifest, SyncConfig } from '../manifest/types.js';
import { planOrder } from '../plan/build.js';
import { outermostFirst, parentDirs, rollbackSteps } from '../plan/release.js';
import { SWITCH_BATCH } from '../budget/cost.js';
import { removeDir } from '../remote/control-ops.js';
import { pipelined, type Reply } from '../remote/pipeline.js';
import { remoteJoin } from '../remote/safe-names.js';
import type { RemotePool } from '../remote/types.js';
import { planningContext, type FtpTrace } from './context.js';
import type { Reporter } from './progress.js';
import { listReleases, makeDirsPipelined, releasesPath } from './release.js';
import { listTreeOver } from './tree-walk.js';
import { LOCK_NAME, releaseSyncLocks, takeSyncLocks } from './remote-lock.js';

export interface RollbackOptions {
  manifest: Manifest;
  servers?: string[];
  reporter: Reporter;
  trace?: FtpTrace;
}

export interface SyncRollback {
  server: string;
  sync: string;
  /** The release put back (its id); null: the sync had none. */
  release: string | null;
  /** It was a switch an interrupted apply left unfinished. */
  partial: boolean;
  restored: number;
  removed: number;
  elapsedMs: number;
}

export interface ServerRollback {
  server: string;
  ok: boolean;
  error?: string;
  syncs: SyncRollback[];
  connections: { control: number; data: number };
}

/**
 * Items over the pool's sessions in batches, each batch's commands pipelined (remote/pipeline.ts):
 * a batch costs about one round trip. A batch whose session failed is sent once more (`again`:
 * its commands may have been carried out, so `linesFor` must send nothing that undoes them). The
 * items `ok` refuses, with their replies.
 */
async function inBatches<T>(
  items: T[],
  pool: RemotePool,
  sessions: number,
  linesFor: (item: T, again: boolean) => string[],
  ok: (replies: Reply[], again: boolean) => boolean,
): Promise<Array<{ item: T; replies: Reply[] }>> {
  const per = Math.max(1, Math.min(SWITCH_BATCH, Math.ceil(items.length / Math.max(1, sessions))));
  const queue: T[][] = [];
  for (let i = 0; i < items.length; i += per) queue.push(items.slice(i, i + per));
  const refused: Array<{ item: T; replies: Reply[] }> = [];
  const send = async (batch: T[], again: boolean) => {
    const lines = batch.map((item) => linesFor(item, again));
    const replies = await pool.withSession((s) => pipelined(s, lines.flat()));
    let at = 0;
    for (const [k, item] of batch.entries()) {
      const mine = replies.slice(at, at + lines[k]!.length);
      at += lines[k]!.length;
      if (!ok(mine, again)) refused.push({ item, replies: mine });
    }
  };
  const worker = async () => {
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      const b = batch;
      await send(b, false).catch(() => send(b, true));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(sessions, queue.length)) }, worker));
  return refused;
}

/** Roll one sync back to before its newest release. */
export async function rollbackSync(pool: RemotePool, sync: SyncConfig, sessions: number, server: string): Promise<SyncRollback> {
  const started = performance.now();
  const root = sync.remotePath;
  const base = { server, sync: sync.name };
  const newest = (await pool.withSession((s) => listReleases(s, releasesPath(sync))))[0];
  if (!newest) return { ...base, release: null, partial: false, restored: 0, removed: 0, elapsedMs: Math.round(performance.now() - started) };
  const dir = remoteJoin(releasesPath(sync), newest.name);
  // The live tree only for a switch an interrupted apply left (its staged files are deleted too);
  // after a complete one, what a DELE or MKD finds there already is answered 550 and let be.
  const [release, live] = await Promise.all([
    listTreeOver(pool, dir, sessions),
    newest.partial ? listTreeOver(pool, root, sessions, (p) => p === LOCK_NAME || p === RELEASES_DIR) : null,
  ]);
  const steps = rollbackSteps(release);
  const liveFile = (p: string) => live === null || live.get(p)?.type === 'file';
  // What the deploy added, and staged files an interrupted staging left: deleted (DELE).
  const temps = live ? [...live].filter(([p, e]) => e.type === 'file' && isTempName(p.split('/').pop()!)).map(([p]) => p) : [];
  const doomed = [...steps.removeFiles.filter(liveFile), ...temps];
  const undeleted = await inBatches(
    doomed,
    pool,
    sessions,
    (p) => [`DELE ${remoteJoin(root, p)}`],
    ([r]) => r!.code < 300 || r!.code === 550,
  );
  if (undeleted.length)
    throw refusedAll(
      server,
      'delete',
      undeleted.map((u) => ({ path: remoteJoin(root, u.item), reply: u.replies[0]! })),
    );
  // Parents first, outermost first, on one session (a directory is made once); 550: there already.
  const parents = [...new Set(steps.restore.flatMap(parentDirs))].filter((d) => live?.get(d)?.type !== 'dir');
  if (parents.length)
    await pool.withSession((s) =>
      makeDirsPipelined(
        s,
        [...parents].sort(outermostFirst).map((d) => remoteJoin(root, d)),
      ),
    );
  const added = new Set(steps.removeFiles);
  // A live file the deploy replaced: deleted, and the release's copy takes its place (never renamed
  // onto it). Sent again after a failed session, no DELE: the live file may be the copy put back.
  const unrestored = await inBatches(
    steps.restore,
    pool,
    sessions,
    (p, again) => [
      ...(liveFile(p) && !added.has(p) && !again ? [`DELE ${remoteJoin(root, p)}`] : []),
      `RNFR ${remoteJoin(dir, p)}`,
      `RNTO ${remoteJoin(root, p)}`,
    ],
    (r, again) => r.at(-1)!.code < 300 || (again && r.at(-2)!.code === 550),
  );
  if (unrestored.length)
    throw refusedAll(
      server,
      'rename back',
      unrestored.map((u) => ({ path: remoteJoin(dir, u.item), reply: u.replies.at(-1)! })),
    );
  await pool.withSession(async (s) => {
    // Deepest first, in one pipelined burst (the order holds: the server reads them in turn).
    await pipelined(s, [...steps.removeDirs.map((d) => `RMD ${remoteJoin(root, d)}`), ...steps.releaseDirs.map((d) => `RMD ${remoteJoin(dir, d)}`)]);
    if (!(await removeDir(s, dir)))
      throw new FtpsyncError('E_FTP', `${server} ${dir}: the release could not be removed after its files were put back`, `Look at what is left in ${dir}.`, {
        server,
        remotePath: dir,
      });
  });
  return {
    ...base,
    release: newest.id,
    partial: newest.partial,
    restored: steps.restore.length,
    removed: doomed.length,
    elapsedMs: Math.round(performance.now() - started),
  };
}

function refusedAll(server: string, op: string, refused: Array<{ path: string; reply: Reply }>): FtpsyncError {
  const first = refused[0]!;
  return new FtpsyncError(
    'E_FTP',
    `${server} ${first.path}: ${op} refused: ${first.reply.code} ${first.reply.message}${
      refused.length > 1
        ? ` (and ${refused.length - 1} more: ${refused
            .slice(1, 4)
            .map((r) => r.path)
            .join(', ')}${refused.length > 4 ? ', …' : ''})`
        : ''
    }`,
    'Nothing was lost: what was not put back is still in the release directory. Fix the cause and run rollback again.',
    { server, remotePath: first.path, ftpCode: first.reply.code },
  );
}

export async function rollbackManifest(o: RollbackOptions): Promise<ServerRollback[]> {
  const { manifest, reporter } = o;
  if (o.servers) assertKnownServers(manifest, o.servers, '--server');
  const ctx = planningContext(o.trace ? { trace: o.trace } : {});
  const results: ServerRollback[] = [];
  try {
    for (const name of planOrder(manifest, o.servers)) {
      const server = manifest.servers[name]!;
      const syncs = manifest.syncs.filter((s) => s.servers.includes(name) && s.direction === 'upload' && s.twoPhase);
      if (!syncs.length) continue;
      const pool = ctx.poolFor(server);
      const result: ServerRollback = { server: name, ok: true, syncs: [], connections: { control: 0, data: 0 } };
      results.push(result);
      try {
        // Renames only, no data connection: every session the server allows (maxSessions) unless
        // the manifest sets parallel.
        const sessions = server.firewall.parallelAuto ? server.firewall.maxSessions : server.firewall.parallel;
        pool.warm(sessions);
        const held = await takeSyncLocks(pool, name, syncs, reporter);
        try {
          for (const sync of syncs) {
            const r = await rollbackSync(pool, sync, sessions, name);
            result.syncs.push(r);
            reporter.note(
              name,
              r.release === null
                ? `${sync.name}: no release to roll back to (keepReleases: ${sync.keepReleases})`
                : `${sync.name}: rolled back release ${r.release}${r.partial ? ' (its switch had not finished)' : ''}: ${r.restored} file(s) put back, ${r.removed} removed, in ${(r.elapsedMs / 1000).toFixed(1)} s`,
            );
          }
        } finally {
          await releaseSyncLocks(pool, held.locks);
        }
      } catch (e) {
        const err = e as Error & { hint?: string };
        result.ok = false;
        result.error = err.message + (err.hint ? `\nhint: ${err.hint}` : '');
      }
      result.connections = ctx.ledgers.get(name)!.totals();
    }
  } finally {
    await ctx.close();
  }
  return results;
}
