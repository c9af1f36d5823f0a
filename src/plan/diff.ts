/**
 * The diff (pure): local snapshot × remote tree × compare method → ordered actions with stages.
 * Stages make the order a deploy needs: directories before their contents (by depth), uploads,
 * then `last` uploads, deletes only after every upload landed, rmdir deepest first, the state
 * file last. Two-phase uploads (sync.twoPhase) store every file under a staged name first; a
 * switch action per file renames it into place after all of them landed (`last` ones last). A
 * staged file an interrupted apply left complete (its name's token and size match) is switched
 * without being stored again; any other temporary file is deleted.
 */
import picomatch from 'picomatch';
import type { ActionKind, ActionReason, PlannedAction } from '../core/actions.js';
import { isTempName, parseStagedName, RELEASES_DIR, stagedNameFor, stagingToken, unsafeNameReason } from '../core/names.js';
import type { LocalEntry, RemoteEntry, RemoteTree } from '../core/tree.js';
import type { SyncConfig } from '../manifest/types.js';
import { compareFor, contentNotes, freshCheckoutNote, keepsState, type ContentTally, type UsedCompare } from './compare.js';
import { dirsHoldingProtected, protectMatcher } from './protect.js';
import { judgeByContent, STATE_FILE, type StateRead } from './state.js';
import type { SyncSummary } from './types.js';

export interface DiffInput {
  server: string;
  sync: SyncConfig;
  local: Map<string, LocalEntry>;
  remote: RemoteTree;
  /** sha256 of local files (uploads with compare: checksum). */
  localHashes?: Map<string, string>;
  /** The state file as read (uploads compared by content); absent: missing. */
  state?: StateRead;
  /** The server's hash of same-size files the state does not know, compared with the local file. */
  serverHashes?: Map<string, 'same' | 'different'>;
  /** The command the server hashed with; null: it offers none. */
  serverHashCommand?: string | null;
  /** Files judged by a checksum state kept locally because the server did not take it. */
  pendingClaims?: number;
  /**
   * Other names at the sync root that are ftpsync's own and left alone (apply's lock, for a tree
   * not listed without it: run/snapshot.ts leaves the lock out of its listings).
   */
  reserved?: readonly string[];
}

export interface DiffResult {
  actions: Omit<PlannedAction, 'cost'>[];
  summary: SyncSummary;
  warnings: string[];
}

// Stage layout: mkdir by depth in [0, 99], transfers 100, last 101, switch 102, switch of `last` 103,
// deletes 104, rmdir 105.. (deepest first), state 9999.
const STAGE_TRANSFER = 100;
const STAGE_LAST = 101;
const STAGE_SWITCH = 102;
const STAGE_SWITCH_LAST = 103;
const STAGE_DELETE = 104;
const STAGE_RMDIR = 105;
const STAGE_STATE = 9999;
const MAX_DEPTH_STAGES = 99;

const depth = (p: string) => p.split('/').length;

function assertSafePath(p: string): void {
  for (const seg of p.split('/')) {
    const r = unsafeNameReason(seg);
    if (r) throw new Error(`internal: unsafe path segment ${JSON.stringify(seg)} reached the diff (${r})`);
  }
}

/** Is the remote file the same as the local one, by this compare method? */
export function sameFile(method: UsedCompare, local: LocalEntry, remote: RemoteEntry, direction: 'upload' | 'download'): boolean {
  if (local.size !== remote.size) return false;
  if (method === 'size' || method === 'checksum') return true;
  if (remote.mtimeMs === undefined) return true; // no time to compare: size decides (warned)
  // Listings round times down (minute, or day for old files) and servers may show another zone:
  // only a source newer than the target by more than the listing's precision counts as changed.
  const tolerance = Math.max(remote.mtimePrecisionMs ?? 1000, 2000);
  return direction === 'upload' ? local.mtimeMs <= remote.mtimeMs + tolerance : remote.mtimeMs <= local.mtimeMs + tolerance;
}

export function diffSync(input: DiffInput): DiffResult {
  const { server, sync } = input;
  const warnings: string[] = [];
  const actions: Omit<PlannedAction, 'cost'>[] = [];
  const counts: SyncSummary['counts'] = { unchanged: 0 };
  let bytes = 0;
  const lastMatch = sync.last.length ? picomatch(sync.last, { dot: true }) : () => false;
  const exMatch = sync.exclude.length ? picomatch(sync.exclude, { dot: true }) : () => false;
  const incMatch = sync.include.length ? picomatch(sync.include, { dot: true }) : () => true;
  const add = (kind: ActionKind, path: string, stage: number, reason: ActionReason, extra: Partial<PlannedAction> = {}) => {
    assertSafePath(path || '.');
    actions.push({ id: `${server}/${sync.name}/${kind}/${path}`, server, sync: sync.name, kind, path, size: 0, reason, stage, ...extra });
    counts[kind] = (counts[kind] ?? 0) + 1;
  };

  const compareUsed = compareFor(sync.compare, sync.direction);
  const byContent = keepsState(compareUsed, sync.direction);
  const stateRead: StateRead = input.state ?? { status: 'missing' };
  const stateFiles = stateRead.status === 'ok' ? stateRead.state.files : {};
  const tally: ContentTally = {};
  let stateMissingOnServer = 0;
  let sameSizeNewer = 0;

  // Remote paths the sync manages: not ours (state file, reserved names), not excluded, inside includes.
  const remote = new Map<string, RemoteEntry>();
  const twoPhase = sync.direction === 'upload' && sync.twoPhase;
  /** Temporary files found, by path; staged ones also by their target's path (reused or deleted below). */
  const temps: string[] = [];
  const staged = new Map<string, { path: string; token: string; size: number }>();
  for (const [p, e] of input.remote) {
    const name = p.split('/').pop()!;
    if (p === STATE_FILE || input.reserved?.includes(p) || p === RELEASES_DIR || p.startsWith(`${RELEASES_DIR}/`)) continue;
    if (e.type === 'symlink' || e.type === 'other') {
      warnings.push(`${server}/${sync.name}: ${p} is a ${e.type} on the server; left alone`);
      continue;
    }
    if (isTempName(name)) {
      // Left by an interrupted run: a partial file (removed), or a staged one the switch may use.
      if (sync.direction !== 'upload') continue;
      temps.push(p);
      const st = e.type === 'file' ? parseStagedName(name) : null;
      if (st && twoPhase) staged.set(p.slice(0, p.length - name.length) + st.target, { path: p, token: st.token, size: e.size });
      continue;
    }
    if (exMatch(p) || (e.type === 'dir' && exMatch(`${p}/`)) || [...ancestors(p)].some((a) => exMatch(a) || exMatch(`${a}/`))) continue;
    if (e.type === 'file' && !incMatch(p)) continue;
    remote.set(p, e);
  }

  const [src, dst] = sync.direction === 'upload' ? [input.local, remote] : [remote, input.local];
  const mkdirKind: ActionKind = sync.direction === 'upload' ? 'mkdir' : 'mkdir-local';
  const xferKind: ActionKind = sync.direction === 'upload' ? 'upload' : 'download';
  const delKind: ActionKind = sync.direction === 'upload' ? 'delete' : 'delete-local';
  const rmdirKind: ActionKind = sync.direction === 'upload' ? 'rmdir' : 'rmdir-local';
  // Protected target files are never overwritten nor deleted, nor the directories holding them.
  const prot = protectMatcher(sync.protect);
  const protectedFiles = [...dst].filter(([p, e]) => e.type === 'file' && prot.isProtected(p)).map(([p]) => p);
  const keptDirs = dirsHoldingProtected(protectedFiles);

  const reused = new Set<string>();
  const sorted = [...src.keys()].sort();
  for (const p of sorted) {
    const s = src.get(p)!;
    const d = dst.get(p);
    if (s.type === 'dir') {
      if (!d) add(mkdirKind, p, Math.min(depth(p) - 1, MAX_DEPTH_STAGES), 'new');
      else if (d.type !== 'dir') warnings.push(`${server}/${sync.name}: ${p} is a directory on one side and a file on the other; left alone`);
      continue;
    }
    if (d && d.type === 'dir') {
      warnings.push(`${server}/${sync.name}: ${p} is a file on one side and a directory on the other; left alone`);
      continue;
    }
    if (d && prot.isProtected(p)) continue;
    let changed: boolean;
    if (!d) {
      changed = true;
      if (byContent && stateFiles[p]) stateMissingOnServer++;
    } else if (byContent) {
      const v = judgeByContent({
        localSize: s.size,
        remoteSize: d.size,
        localSha256: input.localHashes?.get(p),
        entry: stateFiles[p],
        serverHash: input.serverHashes?.get(p),
      });
      tally[v.why] = (tally[v.why] ?? 0) + 1;
      changed = v.changed;
    } else {
      const [l, r] = sync.direction === 'upload' ? [s as LocalEntry, d as RemoteEntry] : [d as LocalEntry, s as RemoteEntry];
      changed = !sameFile(compareUsed, l, r, sync.direction);
      if (changed && sync.direction === 'upload' && l.size === r.size) sameSizeNewer++;
    }
    if (!changed) {
      counts.unchanged++;
      continue;
    }
    const isLast = lastMatch(p) || lastMatch(p.split('/').pop()!);
    const extra: Partial<PlannedAction> = { size: s.size };
    // An upload sets the remote mtime (MFMT/MDTM, a round trip per file) only where the next
    // compare reads it; a download sets the local one (no round trip).
    if (s.mtimeMs !== undefined && (sync.direction === 'download' || compareUsed === 'size-mtime')) extra.mtimeMs = s.mtimeMs;
    const hash = input.localHashes?.get(p);
    if (hash) extra.sha256 = hash;
    if (!twoPhase) {
      add(xferKind, p, isLast ? STAGE_LAST : STAGE_TRANSFER, d ? 'changed' : 'new', extra);
      bytes += s.size;
      continue;
    }
    const token = stagingToken({ size: s.size, ...extra });
    const found = staged.get(p);
    const name = p.split('/').pop()!;
    const stagedPath = p.slice(0, p.length - name.length) + stagedNameFor(name, token);
    if (found && found.token === token && found.size === s.size && found.path === stagedPath) {
      reused.add(found.path);
    } else {
      // A cut-short staged copy under the same name is simply stored over.
      if (found?.path === stagedPath) reused.add(found.path);
      add(xferKind, p, STAGE_TRANSFER, d ? 'changed' : 'new', { ...extra, staged: stagedPath });
      bytes += s.size;
    }
    add('switch', p, isLast ? STAGE_SWITCH_LAST : STAGE_SWITCH, d ? 'changed' : 'new', { ...extra, staged: stagedPath });
  }
  // Temporary files no switch uses: never a real file, always removed.
  for (const p of temps) if (!reused.has(p)) add('delete', p, STAGE_DELETE, 'extraneous');

  let deletedFiles = 0;
  let deletedDirs = 0;
  if (sync.delete) {
    const gone = [...dst.keys()].filter((p) => !src.has(p) && !prot.isProtected(p) && !keptDirs.has(p)).sort();
    const goneFiles = gone.filter((x) => dst.get(x)!.type !== 'dir');
    for (const p of goneFiles) add(delKind, p, STAGE_DELETE, 'extraneous');
    const dirs = gone.filter((x) => dst.get(x)!.type === 'dir').sort((a, b) => depth(b) - depth(a) || a.localeCompare(b));
    deletedFiles = goneFiles.length;
    deletedDirs = dirs.length;
    const maxDepth = dirs.length ? depth(dirs[0]!) : 0;
    for (const p of dirs) add(rmdirKind, p, STAGE_RMDIR + (maxDepth - depth(p)), 'extraneous');
  }

  // The state is (re)written when anything changes, when it is not usable, and when the server's
  // hash vouched for files it did not know (so the next plan need not ask again).
  if (byContent && (actions.length > 0 || stateRead.status !== 'ok' || (tally['server-hash'] ?? 0) > 0)) {
    add('write-state', STATE_FILE, STAGE_STATE, 'state');
  }
  const where = `${server}/${sync.name}`;
  if (byContent) warnings.push(...contentNotes({ where, state: stateRead, tally, serverHashCommand: input.serverHashCommand, stateMissingOnServer }));
  if (byContent && input.pendingClaims)
    warnings.push(
      `${where}: ${input.pendingClaims} file(s) that landed in an earlier run whose checksum state the server did not take (quota full, or the run stopped) are judged by the state ftpsync kept for them in .ftpsync/; apply writes it to the server.`,
    );
  const fresh = freshCheckoutNote(where, sync.name, sameSizeNewer, counts[xferKind] ?? 0);
  if (fresh) warnings.push(fresh);

  actions.sort((a, b) => a.stage - b.stage || a.path.localeCompare(b.path));
  const summary: SyncSummary = {
    name: sync.name,
    direction: sync.direction,
    localPath: sync.localPath,
    remotePath: sync.remotePath,
    compareRequested: sync.compare,
    compareUsed,
    counts,
    bytes,
    deletions: {
      files: deletedFiles,
      dirs: deletedDirs,
      targetFiles: [...dst].filter(([p, e]) => e.type === 'file' && !prot.isProtected(p)).length,
      sourceFiles: [...src.values()].filter((e) => e.type === 'file').length,
      protected: protectedFiles.length,
    },
  };
  if (byContent)
    summary.content = { state: stateRead.status, ...(input.serverHashCommand !== undefined ? { serverHash: input.serverHashCommand } : {}), judged: tally };
  if (compareUsed === 'size-mtime' && [...remote.values()].some((e) => e.type === 'file' && e.mtimeMs === undefined)) {
    warnings.push(`${server}/${sync.name}: the server's listing has no modification times; files of equal size count as unchanged. Use compare: checksum.`);
  }
  return { actions, summary, warnings };
}

function* ancestors(p: string): Generator<string> {
  const parts = p.split('/');
  for (let i = 1; i < parts.length; i++) yield parts.slice(0, i).join('/');
}
