/**
 * The one error type of ftpsync. Thrown anywhere, caught once in cli/.
 * `message` names what it is about (file:line:col, server, remote path);
 * `hint` says what to do next. Neither ever contains a secret.
 */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_MANIFEST_READ'
  | 'E_MANIFEST_SYNTAX'
  | 'E_MANIFEST_INVALID'
  | 'E_ENV_MISSING'
  | 'E_LOCAL_IO'
  | 'E_UNSAFE_NAME'
  | 'E_CONNECT'
  | 'E_TLS'
  | 'E_LOGIN'
  | 'E_FTP'
  | 'E_SESSION_LIMIT'
  | 'E_BLOCKED'
  | 'E_TIMEOUT'
  | 'E_PLAN_STALE'
  | 'E_PLAN_INVALID'
  | 'E_DELETE_GUARD'
  | 'E_LOCKED'
  | 'E_EXISTS'
  | 'E_INTERNAL';

export interface FtpsyncErrorDetails {
  /** Manifest file position, 1-based. */
  file?: string;
  line?: number;
  col?: number;
  /** Server name from the manifest (never its password). */
  server?: string;
  remotePath?: string;
  /** FTP reply code, when the server sent one. */
  ftpCode?: number;
}

export class FtpsyncError extends Error {
  override readonly name = 'FtpsyncError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    readonly details: FtpsyncErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isFtpsyncError(e: unknown): e is FtpsyncError {
  return e instanceof FtpsyncError;
}
