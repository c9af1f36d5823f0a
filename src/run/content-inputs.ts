/**
 * What an upload compared by content reads from the server besides the listing: the state file,
 * and for same-size files the state does not know, the server's own hash (when it has a hash
 * command; over the control connection, so no data connection counts against the budget).
 */
import type { LocalEntry, RemoteTree } from '../core/tree.js';
import type { SyncConfig } from '../manifest/types.js';
import { needsServerHash, readState, STATE_FILE, type ContentSnapshot, type StateRead } from '../plan/state.js';
import { fileDigest } from '../local/hash.js';
import { localJoin, remoteJoin } from '../remote/safe-names.js';
import type { RemoteSession } from '../remote/types.js';
import { withPending } from './pending-state.js';

/** Hashing on the server stops after this long; files not reached are uploaded once (the plan says so). */
export const SERVER_HASH_BUDGET_MS = 120_000;

export async function readContentInputs(
  session: RemoteSession,
  sync: SyncConfig,
  local: Map<string, LocalEntry>,
  remote: RemoteTree,
  localHashes: Map<string, string>,
  o: { now?: () => number; pending?: StateRead } = {},
): Promise<ContentSnapshot> {
  const now = o.now ?? Date.now;
  // A state the server refused at the end of an earlier run adds what it knows (pending-state.ts).
  const merged = withPending(readState(await session.readSmallFile(remoteJoin(sync.remotePath, STATE_FILE))), o.pending ?? { status: 'missing' }, remote);
  const state = merged.state;
  const pendingClaims = merged.added > 0 ? { pendingClaims: merged.added } : {};
  const known = state.status === 'ok' ? state.state.files : {};
  const candidates: string[] = [];
  for (const [p, e] of local) {
    const r = remote.get(p);
    if (e.type === 'file' && r?.type === 'file' && needsServerHash(e.size, r.size, known[p])) candidates.push(p);
  }
  if (candidates.length === 0) return { state, ...pendingClaims };
  const cmd = await session.hashCommand();
  if (!cmd) return { state, serverHashCommand: null, ...pendingClaims };
  const serverHashes = new Map<string, 'same' | 'different'>();
  const deadline = now() + SERVER_HASH_BUDGET_MS;
  for (const p of candidates.sort()) {
    if (now() > deadline) break;
    const theirs = await session.fileHash(remoteJoin(sync.remotePath, p, { server: session.server }));
    if (!theirs) continue; // refused: this file stays unverified (uploaded once)
    const mine =
      theirs.command.algorithm === 'sha256'
        ? localHashes.get(p)
        : await fileDigest(localJoin(sync.localPath, p, { server: session.server }), theirs.command.algorithm);
    serverHashes.set(p, mine === theirs.hex ? 'same' : 'different');
  }
  return { state, serverHashes, serverHashCommand: cmd.label, ...pendingClaims };
}
