/**
 * Remote listings are untrusted input. A name is one path segment: never empty, ".", "..", and
 * never containing "/", "\", NUL or a line break. Paths are only ever built from validated
 * segments, so nothing a server sends can escape the sync root (remote or local).
 */
import { isAbsolute, join, relative, sep } from 'node:path';
import { FtpsyncError } from '../errors.js';

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

export function assertSafeName(name: string, context: { server?: string; dir?: string } = {}): string {
  const reason = unsafeNameReason(name);
  if (reason) {
    const where = context.dir !== undefined ? ` in ${context.dir}` : '';
    throw new FtpsyncError(
      'E_UNSAFE_NAME',
      `${context.server ? `${context.server}: ` : ''}the server listed an unsafe name ${JSON.stringify(name)}${where}: it ${reason}`,
      'ftpsync never uses such a name to build a path. Remove or rename that entry on the server.',
      { ...(context.server ? { server: context.server } : {}), ...(context.dir ? { remotePath: context.dir } : {}) },
    );
  }
  return name;
}

/** Split a relative POSIX path into validated segments ("" → []). */
export function safeSegments(rel: string, context: { server?: string; dir?: string } = {}): string[] {
  if (rel === '') return [];
  return rel.split('/').map((seg) => assertSafeName(seg, context));
}

/** Join a remote root ("/www") and a relative path ("a/b.txt") from validated parts. */
export function remoteJoin(root: string, rel: string, context: { server?: string } = {}): string {
  const segs = safeSegments(rel, { ...context, dir: root });
  const base = root === '/' ? '' : root.replace(/\/+$/, '');
  return segs.length === 0 ? root || '/' : `${base}/${segs.join('/')}`;
}

/** Join a local root and a relative POSIX path; throws if the result would leave the root. */
export function localJoin(root: string, rel: string, context: { server?: string } = {}): string {
  const segs = safeSegments(rel, context);
  const full = join(root, ...segs);
  const back = relative(root, full);
  if (back.startsWith('..') || isAbsolute(back) || back.split(sep).includes('..')) {
    throw new FtpsyncError('E_UNSAFE_NAME', `${rel} would be written outside ${root}`, 'This is a bug or a hostile listing; nothing was written.');
  }
  return full;
}

/** The directory part and the name of a remote path. */
export function remoteSplit(path: string): { dir: string; name: string } {
  const i = path.lastIndexOf('/');
  return { dir: i <= 0 ? '/' : path.slice(0, i), name: path.slice(i + 1) };
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
