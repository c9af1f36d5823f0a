/**
 * Remote listings are untrusted input. A name is one path segment: never empty, ".", "..", and
 * never containing "/", "\", NUL or a line break. Paths are only ever built from validated
 * segments, so nothing a server sends can escape the sync root (remote or local).
 */
import { isAbsolute, join, relative, sep } from 'node:path';
import { unsafeNameReason } from '../core/names.js';
import { FtpsyncError } from '../errors.js';

function assertSafeName(name: string, context: { server?: string; dir?: string } = {}): string {
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
