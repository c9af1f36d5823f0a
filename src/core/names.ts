/**
 * Pure checks on single path segments. Remote listings are untrusted input: a name is one path
 * segment, never empty, ".", "..", and never containing "/", "\", NUL or a line break.
 * remote/safe-names.ts builds paths from names that pass; the diff and the walk use the rest.
 */

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

/** Temporary names: uploads and downloads land under these, then are renamed into place. */
export const TEMP_PREFIX = '.ftpsync-tmp-';
export function tempNameFor(name: string, token: string): string {
  // Keep the temporary name short enough for servers with a 255-byte limit.
  return `${TEMP_PREFIX}${token}-${name}`.slice(0, 200);
}
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}
