/**
 * The checksum state ftpsync keeps in a sync's remote root (pure): what it is, how it is read,
 * and how a file is judged changed or not by it. The state is checked against the listing on
 * every plan, so a state that no longer matches the server is seen, never trusted silently.
 */

/** The state file's name in a sync's remote root; never synced, never deleted by a sync. */
export const STATE_FILE = '.ftpsync-state.json';

export interface StateEntry {
  size: number;
  sha256: string;
}

/** What ftpsync knows is on the server: per file, the size and sha256 of what it uploaded or verified. */
export interface SyncState {
  version: 1;
  files: Record<string, StateEntry>;
}

/** The state file as read: usable, absent (a first run), or present but not usable (why). */
export type StateRead = { status: 'ok'; state: SyncState } | { status: 'missing' } | { status: 'invalid'; reason: string };

const SHA256_HEX = /^[0-9a-f]{64}$/;
const MAX_REASON = 80;

/** What a content compare read from the server besides the listing (run/content-inputs.ts reads it). */
export interface ContentSnapshot {
  state: StateRead;
  /** Same-size files the state does not know, judged by the server's hash. */
  serverHashes?: Map<string, 'same' | 'different'>;
  /** The server's hash command (its label); null: it offers none; absent: nothing needed hashing. */
  serverHashCommand?: string | null;
  /** Files judged by a state kept locally because the server did not take it (run/pending-state.ts). */
  pendingClaims?: number;
}

/** Read the remote state file's bytes (null: no such file). Never throws: a bad file is `invalid`, with the reason. */
export function readState(content: Buffer | null): StateRead {
  if (!content) return { status: 'missing' };
  let j: unknown;
  try {
    j = JSON.parse(content.toString('utf8'));
  } catch (e) {
    return { status: 'invalid', reason: `not JSON (${(e as Error).message.slice(0, MAX_REASON)})` };
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) return { status: 'invalid', reason: 'not a JSON object' };
  const o = j as { version?: unknown; files?: unknown };
  if (o.version !== 1)
    return { status: 'invalid', reason: `version ${JSON.stringify(o.version)?.slice(0, MAX_REASON) ?? 'missing'} (this ftpsync writes version 1)` };
  if (!o.files || typeof o.files !== 'object' || Array.isArray(o.files)) return { status: 'invalid', reason: 'no "files" object' };
  const files: Record<string, StateEntry> = {};
  for (const [p, v] of Object.entries(o.files as Record<string, unknown>)) {
    const e = v as { size?: unknown; sha256?: unknown } | null;
    if (!e || typeof e.size !== 'number' || !Number.isInteger(e.size) || e.size < 0 || typeof e.sha256 !== 'string' || !SHA256_HEX.test(e.sha256)) {
      return { status: 'invalid', reason: `bad entry for ${JSON.stringify(p.slice(0, MAX_REASON))}` };
    }
    files[p] = { size: e.size, sha256: e.sha256 };
  }
  return { status: 'ok', state: { version: 1, files } };
}

/** The state's bytes as written to the server. */
export function serializeState(state: SyncState): Buffer {
  return Buffer.from(JSON.stringify(state));
}

/**
 * Why a file counts as changed or unchanged when uploads compare by content:
 * - `size`: local and server sizes differ (no hashing needed);
 * - `state`: the state records this size and the local content's hash (unchanged);
 * - `content`: the state records another hash: the local file changed;
 * - `drift`: the state records another size than the server has: the server's copy is not what ftpsync left there;
 * - `server-hash`: not in the state; the server's hash of its copy said same or different;
 * - `unverified`: not in the state and the server cannot hash: uploaded once, then recorded.
 */
export type ContentWhy = 'size' | 'state' | 'content' | 'drift' | 'server-hash' | 'unverified';

export interface ContentFacts {
  localSize: number;
  remoteSize: number;
  /** sha256 of the local file (absent: not hashed, which never counts as the same). */
  localSha256: string | undefined;
  /** The state's entry for this path (absent: no state, or the state does not know the file). */
  entry: StateEntry | undefined;
  /** The server's own hash of its copy compared with the local file's: same, different, or not asked. */
  serverHash: 'same' | 'different' | undefined;
}

/** Is the server's copy of a file (present on both sides) the same content as the local file? */
export function judgeByContent(f: ContentFacts): { changed: boolean; why: ContentWhy } {
  if (f.localSize !== f.remoteSize) return { changed: true, why: 'size' };
  if (f.entry) {
    if (f.entry.size !== f.remoteSize) return { changed: true, why: 'drift' };
    return f.localSha256 !== undefined && f.entry.sha256 === f.localSha256 ? { changed: false, why: 'state' } : { changed: true, why: 'content' };
  }
  if (f.serverHash) return { changed: f.serverHash === 'different', why: 'server-hash' };
  return { changed: true, why: 'unverified' };
}

/**
 * Files whose server copy must be hashed by the server to be judged: same size on both sides
 * and unknown to the state (every other case is decided by size or by the state).
 */
export function needsServerHash(localSize: number, remoteSize: number, entry: StateEntry | undefined): boolean {
  return localSize === remoteSize && entry === undefined;
}
