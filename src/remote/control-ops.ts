/**
 * File operations that travel over the control connection only (RNFR/RNTO, DELE, MKD, RMD), with
 * the reply codes checked here rather than by basic-ftp: the switch of two-phase uploads and
 * rollback rely on exactly what each reply said. A rename here never falls back to deleting its
 * target (session.rename does, for servers that refuse to rename over a file): a missing source
 * must never cost the live file.
 */
import { FtpsyncError } from '../errors.js';
import type { RemoteSession } from './types.js';

/** The error for a reply that refused an operation on a path. */
export function refused(s: RemoteSession, op: string, path: string, reply: { code: number; message: string }, hint?: string): FtpsyncError {
  return new FtpsyncError('E_FTP', `${s.server} ${path}: ${op} refused: ${reply.code} ${reply.message}`, hint, {
    server: s.server,
    remotePath: path,
    ftpCode: reply.code,
  });
}

/** RNFR from, RNTO to. Throws naming the path the server refused; `missing` when RNFR said 550. */
export async function renameExact(s: RemoteSession, from: string, to: string): Promise<void> {
  const rnfr = await s.command(`RNFR ${from}`);
  if (rnfr.code !== 350) {
    const e = refused(s, 'rename (RNFR)', from, rnfr);
    (e as FtpsyncError & { missing?: boolean }).missing = rnfr.code === 550;
    throw e;
  }
  const rnto = await s.command(`RNTO ${to}`);
  if (rnto.code >= 300) throw refused(s, `rename to ${to} (RNTO)`, from, rnto);
}

/** Did a renameExact fail because its source does not exist? */
export function sourceMissing(e: unknown): boolean {
  return Boolean((e as { missing?: boolean } | null)?.missing);
}

/** DELE; false when the file was not there (550). */
export async function deleteIfPresent(s: RemoteSession, path: string): Promise<boolean> {
  const r = await s.command(`DELE ${path}`);
  if (r.code === 550) return false;
  if (r.code >= 300) throw refused(s, 'delete', path, r);
  return true;
}

/** An MKD reply that leaves the directory there: made, or existing already (550/521). */
export function dirThere(code: number): boolean {
  return code < 300 || code === 550 || code === 521;
}

/** MKD; an existing directory is fine (550/521). */
export async function makeDir(s: RemoteSession, path: string): Promise<void> {
  const r = await s.command(`MKD ${path}`);
  if (!dirThere(r.code)) throw refused(s, 'mkdir', path, r);
}

/** RMD; false when the server refused (not empty, or gone). */
export async function removeDir(s: RemoteSession, path: string): Promise<boolean> {
  return (await s.command(`RMD ${path}`)).code < 300;
}
