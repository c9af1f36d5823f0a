/**
 * The normalized manifest: what every command works from after load → validate → normalize.
 * The raw shape is schemas/ftpsync.schema.json (the single source); a test checks that the
 * schema's properties and these types agree. Durations are milliseconds here.
 */
export type TlsMode = 'none' | 'explicit' | 'implicit';
export type TransferMode = 'passive' | 'active';
export type Direction = 'upload' | 'download';
export type CompareMethod = 'auto' | 'size-mtime' | 'size' | 'checksum';
/** How ftpsync closes data connections so the server keeps no TIME_WAIT (docs/firewall.md). */
export type DataClosePolicy = 'auto' | 'normal' | 'reset';
export type ListingStrategyName = 'stat' | 'mlsd' | 'list';

/** A secret value; `toString`/`toJSON` never reveal it. Read `.reveal()` only where it is sent. */
export interface Secret {
  reveal(): string;
  /** Where it came from, safe to print: "env FTP_PASSWORD", "file ./pw.txt", "literal". */
  readonly source: string;
}

export interface FirewallConfig {
  /** Connections per client IP the host's firewall tolerates (CSF CT_LIMIT). */
  maxConnections: number;
  /** How long a connection the server closed keeps counting, ms. */
  timeWaitMs: number;
  /** Fraction of maxConnections ftpsync may use (0 < h <= 1). */
  headroom: number;
  /** Simultaneous transfer sessions (with parallelAuto: until the plan chooses, from the round trip). */
  parallel: number;
  /** parallel: auto: the plan chooses the sessions (budget/auto-parallel.ts). */
  parallelAuto?: boolean;
  /** The FTP server's own per-IP session cap (vsftpd max_per_ip, pure-ftpd -C). */
  maxSessions: number;
  /** maxConnections is the host's known limit: a limit learned from a block never lowers it. */
  confirmed?: boolean;
  /** How often the firewall counts connections (CSF CT_INTERVAL), ms. */
  sampleIntervalMs?: number;
  /** Set when maxConnections is a limit learned from a block (.ftpsync/firewall.json), not the manifest's. */
  learned?: { manifestMaxConnections: number; at: string; store: string };
  /** How this server's TLS data connections closed in the last apply (.ftpsync/closes.json): what the plan counts them by. */
  tlsCloses?: ObservedTlsCloses;
  /** What to do when blocked: wait it out (up to maxWaitMs) then resume, or stop. */
  onBlock: { policy: 'wait' | 'stop'; maxWaitMs: number };
}

/** TLS data connections of one apply by how they closed, as the ledger saw them (budget/ledger.ts CloseSide). */
export interface ObservedTlsCloses {
  reset: number;
  server: number;
  client: number;
  unknown: number;
  at: string;
}

export interface ServerConfig {
  name: string;
  host: string;
  port: number;
  user: string;
  password?: Secret;
  tls: TlsMode;
  /** Verify the server certificate (default true). `insecure: true` in the manifest sets false. */
  verifyCertificate: boolean;
  /** Extra CA bundle (PEM file path, absolute). */
  ca?: string;
  /** TLS server name to verify against, when it differs from host. */
  servername?: string;
  mode: TransferMode;
  /** Active mode: address to advertise in PORT/EPRT and local port range to listen on. */
  active?: { address?: string; portRange?: [number, number] };
  timeouts: { connectMs: number; dataMs: number };
  dataClose: DataClosePolicy;
  /** 'auto' picks the cheapest strategy that works; otherwise force one. */
  listing: 'auto' | ListingStrategyName;
  firewall: FirewallConfig;
}

export interface SyncConfig {
  name: string;
  servers: string[];
  direction: Direction;
  /** Absolute local path. */
  localPath: string;
  /** Absolute remote path, POSIX, no trailing slash (except "/"). */
  remotePath: string;
  delete: boolean;
  exclude: string[];
  include: string[];
  compare: CompareMethod;
  /** Glob patterns transferred after everything else (e.g. index.html). */
  last: string[];
  /** Glob patterns of target files never deleted or overwritten (created when missing). */
  protect: string[];
  /** The mass-delete guard's limit (manifest maxDelete); undefined: the default. */
  maxDelete?: DeleteLimit;
  /** Uploads stage every file under a temporary name, then switch them all into place (run/release.ts). */
  twoPhase: boolean;
  /** Previous releases kept on the server for rollback (twoPhase only). */
  keepReleases: number;
  /** Where releases go (absolute remote path); unset: <remotePath>/.ftpsync-releases. */
  releasesDir?: string;
}

/** manifest maxDelete: at most this many files, or this percentage of the target's files. */
export type DeleteLimit = { count: number } | { percent: number };

export interface RolloutConfig {
  stages: Array<{ name: string; servers: string[] }>;
  haltOnFailure: boolean;
}

export interface Manifest {
  version: 1;
  /** Absolute path of the manifest file. */
  file: string;
  servers: Record<string, ServerConfig>;
  syncs: SyncConfig[];
  rollout: RolloutConfig;
}
