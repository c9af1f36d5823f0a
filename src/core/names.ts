/**
 * Pure checks on single path segments. Remote listings are untrusted input: a name is one path
 * segment, never empty, ".", "..", and never containing "/", "\", NUL or a line break.
 * remote/safe-names.ts builds paths from names that pass; the diff and the walk use the rest.
 */
import { createHash } from 'node:crypto';

/** Why a name is unsafe, or null when it is a safe single segment. */
export function unsafeNameReason(name: string): string | null {
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return `is "${name}"`;
  if (name.includes('/')) return 'contains "/"';
  if (name.includes('\\')) return 'contains "\\"';
  if (name.includes('\0')) return 'contains NUL';
  if (/[\r\n]/.test(name)) return 'contains a line break';
  return null;
}

/** Where two-phase uploads keep previous releases, in a sync's remote root (run/release.ts): never synced, listed or deleted by a sync. */
export const RELEASES_DIR = '.ftpsync-releases';

/** Temporary names: uploads and downloads land under these, then are renamed into place. */
export const TEMP_PREFIX = '.ftpsync-tmp-';
export function tempNameFor(name: string, token: string): string {
  // Keep the temporary name short enough for servers with a 255-byte limit.
  return `${TEMP_PREFIX}${token}-${name}`.slice(0, 200);
}
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/**
 * Two-phase uploads stage a file under a name that says which version of it is staged (a token
 * of its size and content hash, or its mtime without one), so the next apply after a crash
 * knows a staged file it may switch instead of storing it again: same token, same size.
 */
const STAGED = /^\.ftpsync-tmp-s([0-9a-f]{12})-(.+)$/;
export function stagingToken(f: { size: number; mtimeMs?: number; sha256?: string }): string {
  return createHash('sha256')
    .update(`${f.size}:${f.sha256 ?? `mtime ${f.mtimeMs ?? ''}`}`)
    .digest('hex')
    .slice(0, 12);
}
export function stagedNameFor(name: string, token: string): string {
  return tempNameFor(name, `s${token}`);
}
/** The token and target name of a staged file's name; null for other names (and cut names). */
export function parseStagedName(name: string): { token: string; target: string } | null {
  const m = STAGED.exec(name);
  return m && name.length < 200 ? { token: m[1]!, target: m[2]! } : null;
}
