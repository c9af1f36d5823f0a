/** Map basic-ftp and socket errors to FtpsyncError with the server, remote path and reply code. */
import { FTPError } from 'basic-ftp';
import { FtpsyncError, isFtpsyncError } from '../errors.js';

export type ErrorClass = 'permanent' | 'transient' | 'session-limit' | 'maybe-blocked';

export function toFtpsyncError(e: unknown, ctx: { server: string; remotePath?: string; op: string }): FtpsyncError {
  if (isFtpsyncError(e)) return e;
  const where = `${ctx.server}${ctx.remotePath ? ` ${ctx.remotePath}` : ''}`;
  const details = { server: ctx.server, ...(ctx.remotePath ? { remotePath: ctx.remotePath } : {}) };
  if (e instanceof FTPError) {
    const reply = e.message.replace(/\s+/g, ' ').trim();
    const withCode = { ...details, ftpCode: e.code };
    if (e.code === 421)
      return new FtpsyncError(
        'E_SESSION_LIMIT',
        `${where}: ${ctx.op}: the server refused the session: ${reply}`,
        'The server caps sessions per IP (vsftpd max_per_ip, pure-ftpd -C): lower firewall.parallel and maxSessions.',
        withCode,
        { cause: e },
      );
    if (e.code === 530 && ctx.op === 'login') {
      if (/too many|clients|connections|per host|limit/i.test(reply))
        return new FtpsyncError(
          'E_SESSION_LIMIT',
          `${where}: ${ctx.op}: ${reply}`,
          'The server caps sessions per host (proftpd MaxClientsPerHost): lower firewall.parallel and maxSessions.',
          withCode,
          { cause: e },
        );
      return new FtpsyncError('E_LOGIN', `${where}: login failed: ${reply}`, 'Check the user and the password variable in the manifest.', withCode, {
        cause: e,
      });
    }
    return new FtpsyncError('E_FTP', `${where}: ${ctx.op} failed: ${reply}`, replyHint(e.code, ctx.op), withCode, { cause: e });
  }
  const err = e as NodeJS.ErrnoException & { message?: string };
  const msg = err?.message ?? String(e);
  if (
    /certificate|self[- ]signed|CERT_|unable to verify|altnames/i.test(msg) ||
    (err?.code ?? '').startsWith('ERR_TLS') ||
    (err?.code ?? '').includes('CERT')
  ) {
    return new FtpsyncError(
      'E_TLS',
      `${where}: TLS: ${msg}`,
      "The certificate could not be verified. Add your server's CA with `ca:` (or fix servername); `insecure: true` turns verification off, at a price.",
      details,
      { cause: e },
    );
  }
  if (/timeout/i.test(msg) || err?.code === 'ETIMEDOUT') return new FtpsyncError('E_TIMEOUT', `${where}: ${ctx.op}: ${msg}`, undefined, details, { cause: e });
  return new FtpsyncError('E_CONNECT', `${where}: ${ctx.op}: ${msg}`, undefined, details, { cause: e });
}

/** What to do about a refusal, where the code says it (a temporary upload name never stays in place of the file). */
function replyHint(code: number, op: string): string | undefined {
  if (code === 552 || code === 452)
    return 'The server is out of space or over the account quota: free space or raise the quota, then run apply again; files that landed are not sent again.';
  if (code === 550 && (op === 'upload' || op === 'download' || op === 'write' || op === 'delete' || op === 'mkdir' || op === 'rename'))
    return 'The server refused access to this path: check its permissions on the server (or exclude it in the sync), then run apply again.';
  return undefined;
}

/** What a failure means for what comes next (pure; the executor decides). */
export function classify(e: FtpsyncError): ErrorClass {
  switch (e.code) {
    case 'E_SESSION_LIMIT':
      return 'session-limit';
    case 'E_TIMEOUT':
    case 'E_CONNECT':
      return /ECONNREFUSED/.test(e.message) ? 'transient' : 'maybe-blocked';
    case 'E_FTP':
      return e.details.ftpCode !== undefined && e.details.ftpCode >= 400 && e.details.ftpCode < 500 ? 'transient' : 'permanent';
    default:
      return 'permanent';
  }
}
