/**
 * The I/O half of planning: walk each sync's local tree (and hash it for compare: checksum), list
 * the remote tree with the cheapest strategy, read the checksum state file and measure the round
 * trip. plan/build.ts turns what this returns into a plan.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LearnedWork } from '../budget/cost.js';
import { RELEASES_DIR } from '../core/names.js';
import type { LocalEntry, RemoteTree } from '../core/tree.js';
import { FtpsyncError } from '../errors.js';
import { sha256File } from '../local/hash.js';
import { walkLocal, type LocalSnapshot } from '../local/walk.js';
import type { Manifest, ServerConfig, SyncConfig } from '../manifest/types.js';
import { planOrder, type ServerSnapshot, type SyncInputs } from '../plan/build.js';
import { compareFor, keepsState } from '../plan/compare.js';
import type { ServerPlan } from '../plan/types.js';
import type { RemotePool } from '../remote/types.js';
import { readContentInputs } from './content-inputs.js';
import { localStateDir, PendingStates } from './pending-state.js';
import { LOCK_NAME } from './remote-lock.js';

export async function snapshotSync(server: ServerConfig, sync: SyncConfig, pool: RemotePool, pending?: PendingStates): Promise<SyncInputs> {
  const started = performance.now();
  const walked: LocalSnapshot =
    sync.direction === 'download' && !existsSync(sync.localPath) ? { entries: new Map<string, LocalEntry>(), skipped: [] } : walkLocal(sync.localPath, sync);
  const local = walked.entries;
  let hashes: Map<string, string> | undefined;
  const byContent = keepsState(compareFor(sync.compare, sync.direction), sync.direction);
  if (byContent) {
    hashes = new Map();
    for (const [p, e] of local) if (e.type === 'file') hashes.set(p, await sha256File(join(sync.localPath, ...p.split('/'))));
  }
  return pool.withSession(async (session) => {
    // Round trips measured before and after the listing: apply's other sessions log in at the
    // start, and the server's work for their logins inflated the first NOOPs (docs/benchmarks.md).
    const rttBefore = await session.roundTripMs();
    let remote: RemoteTree = new Map();
    let strategy: ServerPlan['listing']['strategy'] = 'stat';
    let dataConnections = 0;
    try {
      // The lock apply holds while it lists, and the releases kept for rollback, are not part of the tree.
      const listed = await session.listTree(sync.remotePath, (p) => p === LOCK_NAME || p === RELEASES_DIR);
      remote = listed.tree;
      strategy = listed.strategy;
      dataConnections = listed.dataConnections;
    } catch (e) {
      // A remote root that does not exist yet is an empty tree (an upload creates it).
      if (!(e instanceof FtpsyncError && e.details.ftpCode === 550)) throw e;
      if (sync.direction === 'download')
        throw new FtpsyncError('E_FTP', `${server.name}: remote directory ${sync.remotePath} does not exist`, `Check syncs "${sync.name}" remote:.`, {
          server: server.name,
          remotePath: sync.remotePath,
          ftpCode: 550,
        });
    }
    const content = byContent ? await readContentInputs(session, sync, local, remote, hashes!, pending ? { pending: pending.read(sync.name) } : {}) : undefined;
    const bySizeMtime = sync.direction === 'upload' && compareFor(sync.compare, sync.direction) === 'size-mtime';
    const serverMfmt = bySizeMtime ? (await session.facts()).mfmt : undefined;
    const rttMs = Math.min(rttBefore, await session.roundTripMs(2));
    return {
      local,
      skipped: walked.skipped,
      remote,
      ...(hashes ? { hashes } : {}),
      ...(content ? { content } : {}),
      listingStrategy: strategy,
      listingDataConnections: dataConnections,
      ...(serverMfmt !== undefined ? { serverMfmt } : {}),
      rttMs,
      readMs: Math.round(performance.now() - started),
    };
  });
}

export interface SnapshotOptions {
  /** Only these servers (--server). */
  servers?: string[];
  /** Per-transfer work an earlier apply measured on a server (the ETA's calibration). */
  learnedWork?: (server: ServerConfig) => LearnedWork;
}

/** Read every planned server's syncs, server by server in rollout order. */
export async function snapshotServers(manifest: Manifest, poolFor: (server: ServerConfig) => RemotePool, o: SnapshotOptions = {}): Promise<ServerSnapshot[]> {
  // Time since this process started (performance.now()'s origin): Node, modules, the manifest.
  let processStartMs = Math.round(performance.now());
  const snapshots: ServerSnapshot[] = [];
  for (const name of planOrder(manifest, o.servers)) {
    const server = manifest.servers[name]!;
    const syncs = manifest.syncs.filter((s) => s.servers.includes(name));
    const pool = poolFor(server);
    const inputs: SyncInputs[] = [];
    const pending = new PendingStates(localStateDir(manifest.file), name);
    for (const sync of syncs) inputs.push(await snapshotSync(server, sync, pool, pending));
    const learned = o.learnedWork?.(server);
    snapshots.push({ server, syncs, inputs, poolWarnings: pool.warnings(), ...(learned ? { learned } : {}), processStartMs });
    processStartMs = 0;
  }
  return snapshots;
}
