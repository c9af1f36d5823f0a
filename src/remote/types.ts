/**
 * The small interfaces the planner and executor use for remote access. One implementation:
 * the basic-ftp adapter in this folder. Every connection it opens is reported to the ledger
 * and, before opening, waits on the gate so the budget is never exceeded.
 */
import type { ConnectionKind, ConnectionLedger } from '../budget/ledger.js';
import type { RemoteEntry, RemoteTree } from '../core/tree.js';
import type { ListingStrategyName } from '../manifest/types.js';
import type { HashCommand } from './file-hash.js';
import type { TlsCloseSequence } from './tls-close.js';

export interface ListingResult {
  tree: RemoteTree;
  strategy: ListingStrategyName;
  /** Data connections the listing opened (0 for STAT). */
  dataConnections: number;
}

/**
 * Asked before every new TCP connection. Resolves when the budget has room for one more, with
 * the ledger reservation holding that slot (hand it to trackSocket; release it if the connection
 * is never made); rejects (E_BLOCKED) when the executor has decided to stop opening connections.
 */
export interface ConnectionGate {
  acquire(kind: ConnectionKind, purpose: string): Promise<number>;
}

export interface ServerFacts {
  /** Which listing strategies work on this server, cheapest first. */
  listing: ListingStrategyName[];
  mfmt: boolean;
  /** MDTM with a time argument sets mtime (vsftpd). */
  mdtmSet: boolean;
}

export interface TransferOptions {
  /** Upload to a temporary name in the same directory, then rename over the target. */
  atomic: boolean;
  /** Set the remote mtime after upload (when the server allows). */
  mtimeMs?: number;
}

export interface ServerFileHash {
  command: HashCommand;
  /** Lower-case hex digest. */
  hex: string;
}

export interface RemoteSession {
  readonly server: string;
  /** List one directory (absolute remote path). */
  list(dir: string): Promise<RemoteEntry[]>;
  /**
   * List a whole tree below root with the cheapest strategy that works. `skip`: relative paths
   * to leave out, with everything below them (ftpsync's lock directory).
   */
  listTree(root: string, skip?: (path: string) => boolean): Promise<ListingResult>;
  upload(localFile: string, remotePath: string, options: TransferOptions): Promise<void>;
  /** Download to a temporary local file next to localFile, then rename. */
  download(remotePath: string, localFile: string, mtimeMs?: number): Promise<void>;
  /** Create remotePath and its missing parents; one that exists already is fine. */
  mkdir(remotePath: string): Promise<void>;
  /**
   * One MKD of exactly remotePath: true if this call created it, false if the server refused
   * (it exists, or it is not allowed: the caller looks). The server's mkdir is atomic, so of
   * two callers at most one gets true: the lock is built on it.
   */
  mkdirExclusive(remotePath: string): Promise<boolean>;
  remove(remotePath: string): Promise<void>;
  rmdir(remotePath: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** The server's command to hash a file (FEAT), null: it offers none. */
  hashCommand(): Promise<HashCommand | null>;
  /** The server's hash of a file, over the control connection; null: no hash command, or it refused. */
  fileHash(remotePath: string): Promise<ServerFileHash | null>;
  /** Small files (state file, lock): null when absent. */
  readSmallFile(remotePath: string): Promise<Buffer | null>;
  writeSmallFile(remotePath: string, content: Buffer): Promise<void>;
  facts(): Promise<ServerFacts>;
  /** One command over the control connection (no data connection); its reply whatever the code. */
  command(line: string): Promise<{ code: number; message: string }>;
  /** The control connection's round trip, ms: the least of `noops` NOOPs (default 3; plan's timing model). */
  roundTripMs(noops?: number): Promise<number>;
  close(): Promise<void>;
}

export interface RemotePool {
  readonly server: string;
  readonly ledger: ConnectionLedger;
  /** Runs fn with a session no other task uses meanwhile; at most `parallel` sessions exist. */
  withSession<T>(fn: (session: RemoteSession) => Promise<T>): Promise<T>;
  /** Warnings the sessions collected (unsafe names ignored, rename fallback, no MFMT). */
  warnings(): string[];
  /** Shrink the pool after the server capped sessions; idle sessions beyond it are closed. */
  setMaxSessions(n: number): void;
  /**
   * Keep up to n sessions logged in, logging them in in the background, so their logins overlap
   * with other work (a login takes as long as many small uploads: docs/benchmarks.md).
   * Only once a login on this pool has succeeded: a wrong password then fails once, not n times
   * (CSF counts failed FTP logins, LF_FTPD). A failure is left to the next task, which opens its
   * own session and reports the error.
   */
  warm(n: number): void;
  /**
   * During a pause: a NOOP on each idle session quiet for the keepalive interval (keepalive.ts), so
   * the server's idle timeout does not drop it (a reconnect would be a counted connection).
   */
  keepIdleAlive(): Promise<void>;
  /** The keepalive interval now (learned from the server's idle timeout when it showed one), ms. */
  keepaliveIntervalMs(): number;
  close(): Promise<void>;
}

/** What a pool's sessions share about their server, filled on first use. */
export interface SharedServerFacts {
  features?: Map<string, string>;
  listing?: ListingStrategyName;
  /** Listing strategies that answered with something other than a listing: not tried again on this server. */
  refused?: Set<ListingStrategyName>;
  /**
   * How STAT lists a directory, once settled: `STAT -a .` where that lists everything `STAT .`
   * does (pure-ftpd without -D lists dot names such as .htaccess only with -a), else `STAT .`.
   */
  statCommand?: 'STAT -a .' | 'STAT .';
  /** The server refused to set a modification time (MFMT or MDTM-set): not asked again. */
  mtimeRefused?: boolean;
  /** The server refused RNTO onto an existing file (IIS, FileZilla Server): replace-file.ts moves the old one aside. */
  renameOntoRefused?: boolean;
  warnings: Set<string>;
  /**
   * Temporary upload names whose upload failed with the connection gone, so nothing could remove
   * them then: the next session that stores a file removes them (a DELE, no data connection).
   */
  strayTemps?: Set<string>;
  /** The close sequence for TLS data connections, once set for this run (a server that rejected 'reset' gets 'normal'). */
  tlsClose?: TlsCloseSequence;
  /** Why the server is not sent the next EPSV with a transfer command (data-connection.ts PassiveLookahead). */
  lookaheadRefused?: string;
  /** Transfers each way checked for a short file under the reset close so far (close-fallback.ts). */
  closeChecked?: { upload: number; download: number };
}
