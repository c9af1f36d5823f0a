/**
 * Which compare a sync uses and what the plan says about it (pure). `auto` (the default) compares
 * uploads by content (the checksum state, and the server's hash where the state cannot tell) and
 * downloads by size and modification time: a fresh CI checkout gives every file a new mtime, so
 * size-mtime would re-upload the whole site on every deploy.
 */
import type { CompareMethod, Direction } from '../manifest/types.js';
import { STATE_FILE, type ContentWhy, type StateRead } from './state.js';

export type UsedCompare = Exclude<CompareMethod, 'auto'>;

export function compareFor(requested: CompareMethod, direction: Direction): UsedCompare {
  if (requested !== 'auto') return requested;
  return direction === 'upload' ? 'checksum' : 'size-mtime';
}

/** Uploads compared by content keep the state file on the server. */
export function keepsState(used: UsedCompare, direction: Direction): boolean {
  return used === 'checksum' && direction === 'upload';
}

export type ContentTally = Partial<Record<ContentWhy, number>>;

export interface ContentNotesInput {
  /** "server/sync", the prefix of every note. */
  where: string;
  state: StateRead;
  tally: ContentTally;
  /** The command the server hashed with; null: it offers none; undefined: nothing needed hashing. */
  serverHashCommand: string | null | undefined;
  /** State entries for files the server does not have (the state claims more than is there). */
  stateMissingOnServer: number;
}

/**
 * What the plan says about a content compare: one note for a missing or unusable state (with
 * what the first-run compare did), one for drift, one for files the state does not know.
 */
export function contentNotes(o: ContentNotesInput): string[] {
  const notes: string[] = [];
  const n = (why: ContentWhy) => o.tally[why] ?? 0;
  const hashed = n('server-hash') > 0 ? `${n('server-hash')} file(s) of the same size compared by the server's ${o.serverHashCommand ?? 'hash'}` : null;
  const unverified =
    n('unverified') > 0
      ? `${n('unverified')} file(s) of the same size as the server's copy cannot be compared by content (${o.serverHashCommand ? `the server's ${o.serverHashCommand} did not answer for them in time or refused them` : 'the server offers no hash command: HASH, XSHA256, XSHA1, XMD5, XCRC'}), so they are uploaded once to record their checksums; later plans upload only what changed`
      : null;
  const head =
    o.state.status === 'missing'
      ? `no checksum state on the server yet (${STATE_FILE})`
      : o.state.status === 'invalid'
        ? `the checksum state on the server (${STATE_FILE}) is not usable (${o.state.reason}) and is ignored`
        : null;
  if (head) {
    notes.push(
      `${o.where}: ${head}: compared as on a first run: files of another size are changed; ${[hashed, unverified].filter(Boolean).join('; ') || 'no file of the same size to compare'}. apply writes the state.`,
    );
  } else if (unverified) {
    notes.push(`${o.where}: not in the checksum state: ${unverified}.`);
  }
  const drift = n('drift') + o.stateMissingOnServer;
  if (drift > 0) {
    notes.push(
      `${o.where}: the checksum state does not match the server for ${drift} file(s) (missing there, or of another size: changed outside ftpsync, or an interrupted run): they are uploaded and the state corrected.`,
    );
  }
  return notes;
}

/** Most changes are "same size, newer mtime" (at least this many): what a fresh checkout looks like. */
const FRESH_CHECKOUT_MIN = 3;

/**
 * Under size-mtime: when most uploads are files of the same size whose only difference is a newer
 * modification time, say that this looks like a fresh checkout and how to compare by content.
 */
export function freshCheckoutNote(where: string, syncName: string, sameSizeNewer: number, transfers: number): string | null {
  if (sameSizeNewer < FRESH_CHECKOUT_MIN || sameSizeNewer * 2 <= transfers) return null;
  return `${where}: ${sameSizeNewer} of ${transfers} upload(s) have the same size as the server's copy and only a newer modification time: this looks like a fresh checkout (CI), where every file gets the checkout's time. Set compare: auto (the default) or checksum in sync "${syncName}" to compare uploads by content and upload only what changed.`;
}

/**
 * Uploads compared by size-mtime on a server without MFMT: the upload's time may stand in for the
 * local file's, so the plan says what size-mtime then compares and what compares by content.
 */
export function noMfmtNote(where: string, syncName: string): string {
  return `${where}: the server offers no MFMT: ftpsync sets upload times with MDTM <time> <path> where the server takes that, else uploaded files keep the time of their upload and size-mtime compares against it (a local file changed to an older time is missed). Set compare: checksum (or auto, the upload default) in sync "${syncName}" to compare by content.`;
}
