/**
 * The cost model (pure): what each action costs in counted connections and time.
 * From docs/firewall.md: downloads and listings are closed by the server, which keeps TIME_WAIT, so
 * they count for timeWait after closing, unless the reset close is on; uploads are closed by the
 * client, so the server's socket is gone at once (counted briefly) — over plain FTP. Over FTPS
 * every data connection counts by tlsDataCountedMs: what this server's last apply observed, else
 * what the lab showed for the close in use (the reset close: nothing; the normal close: a race,
 * counted for the full timeWait). mkdir, delete, rmdir, rename go over the control connection.
 */
import type { ActionKind } from '../core/actions.js';
import { timeWaitCountedMs } from './ledger.js';
import type { ServerConfig } from '../manifest/types.js';

/**
 * How long actions take (pure). Each action is a number of round trips on the control or data
 * connection plus fixed local and server work; the round trip is what varies most between a LAN
 * and a distant host, so plan measures it (the least of 3 NOOPs) and the model scales with it.
 */
export interface TimingModel {
  /** Control-connection round trip, ms. */
  rttMs: number;
  /** Local and server work per download beyond its round trips (fork, open, write, rename), ms; below zero only when learned (see workAt). */
  downloadWorkMs: number;
  /** The same for an upload (temporary name, rename over the target, MFMT), ms. */
  uploadWorkMs: number;
  /** Throughput of one session, bytes per ms. */
  bytesPerMs: number;
  /** Work per command over the control connection (MKD, DELE, RMD), beyond its round trip, ms. */
  controlOpWorkMs: number;
}

/** Round trips per action: a download is EPSV, connect, RETR..150, 226 (downloadRoundTrips); an upload at most adds RNFR, RNTO, MFMT (uploadRoundTrips). */
export const ROUND_TRIPS = { download: 4, upload: 7, control: 1 } as const;

/**
 * An upload's round trips: EPSV, connect, STOR..150, 226. FTPS passive: the EPSV goes ahead and
 * the TLS handshake and close take its place (pure-ftpd takes 3, proftpd and vsftpd 4). Plain
 * passive, where the EPSV went with the previous transfer command and the data goes with the STOR
 * (remote/basic-ftp-internals.ts ownPassiveTransfers): connect, STOR..226, and the round trip
 * vsftpd waits for the ACK of its FIN before the 226 (pure-ftpd and proftpd take 2:
 * docs/benchmarks.md, "Look-ahead EPSV"). RNFR and RNTO unless it is staged (a two-phase upload is
 * renamed by the switch, pipelined); MFMT when it sets the time (size-mtime).
 */
export function uploadRoundTrips(a: { staged?: string | undefined; mtimeMs?: number | undefined }, server: Pick<ServerConfig, 'tls' | 'mode'>): number {
  return (dataGoesWithStore(server) ? 3 : 4) + (a.staged ? 0 : 2) + (a.mtimeMs !== undefined ? 1 : 0);
}

/**
 * A download's round trips: EPSV, connect, RETR..150, 226 — or plain passive: connect, RETR..226
 * and the round trip vsftpd and proftpd wait for the close before the 226 (pure-ftpd takes 2).
 */
export function downloadRoundTrips(server: Pick<ServerConfig, 'tls' | 'mode'>): number {
  return dataGoesWithStore(server) ? 3 : ROUND_TRIPS.download;
}

/** An upload's or a download's round trips on this server. */
export function transferRoundTrips(
  a: { kind: ActionKind; staged?: string | undefined; mtimeMs?: number | undefined },
  server: Pick<ServerConfig, 'tls' | 'mode'>,
): number | undefined {
  if (a.kind === 'upload') return uploadRoundTrips(a, server);
  return a.kind === 'download' ? downloadRoundTrips(server) : undefined;
}

/** Plain FTP, passive: the data connection is open when the STOR goes, so the data goes with it. */
export function dataGoesWithStore(server: Pick<ServerConfig, 'tls' | 'mode'>): boolean {
  return server.tls === 'none' && server.mode === 'passive';
}

/** Used when no round trip was measured (unit tests, an old plan file). */
export const DEFAULT_RTT_MS = 20;

/** Per-transfer work learned from earlier applies on the same server (see run/timing-store.ts), and the round trip it was learned at. */
export interface LearnedWork {
  downloadWorkMs?: number;
  uploadWorkMs?: number;
  downloadRttMs?: number;
  uploadRttMs?: number;
  /** Round trips per transfer the learned run's model counted (absent: learned before they were kept; ROUND_TRIPS). */
  downloadTrips?: number;
  uploadTrips?: number;
}

/**
 * Round trips that differ by less than this are the same network measured twice: a LAN's NOOPs
 * vary from plan to plan, and per-transfer round trips multiply that noise into seconds of ETA
 * (docs/benchmarks.md). A LAN and a distant host differ by far more than 2 ms.
 */
function sameNetwork(rttA: number, rttB: number): boolean {
  return Math.abs(rttA - rttB) <= Math.max(2, 0.1 * Math.max(rttA, rttB));
}

/**
 * Learned work, as seen at round trip `rttMs`: on the same network the learned total per transfer
 * stands as it was, even where that leaves the work part below zero (this plan's round trip came
 * out above the learned one: clipping at zero made a blip cost several ms per transfer).
 */
function workAt(rttMs: number, workMs: number, learnedAtRttMs: number | undefined, trips: number): number {
  return learnedAtRttMs !== undefined && sameNetwork(rttMs, learnedAtRttMs) ? workMs + trips * (learnedAtRttMs - rttMs) : workMs;
}

/**
 * The model for a measured round trip. The work figures are the lab's means (docs/benchmarks.md,
 * "How the timing model was calibrated"), replaced by what earlier applies on the same server
 * (and TLS mode: run/timing-store.ts workKey) measured when there are any.
 */
export function timingFor(rttMs: number, learned: LearnedWork = {}): TimingModel {
  return {
    rttMs,
    downloadWorkMs:
      learned.downloadWorkMs !== undefined
        ? workAt(rttMs, learned.downloadWorkMs, learned.downloadRttMs, learned.downloadTrips ?? ROUND_TRIPS.download)
        : FIRST_CONTACT_WORK_MS.download,
    uploadWorkMs:
      learned.uploadWorkMs !== undefined
        ? workAt(rttMs, learned.uploadWorkMs, learned.uploadRttMs, learned.uploadTrips ?? ROUND_TRIPS.upload)
        : FIRST_CONTACT_WORK_MS.upload,
    bytesPerMs: 10_000,
    controlOpWorkMs: 1,
  };
}

/** Per-transfer work before any apply on the server has been measured (the lab's means), ms. */
const FIRST_CONTACT_WORK_MS = { download: 2.1, upload: 2.4 } as const;

const DEFAULT_TIMING: TimingModel = timingFor(DEFAULT_RTT_MS);

/**
 * apply's fixed cost on one server, besides its actions: what planning measured and apply repeats
 * (the process start, the local walk, the listing: `measuredMs`), plus what planning does not do
 * (a second login, the lock: three MKDs and two RMDs; closing).
 */
export function applySetupMs(t: TimingModel, measuredMs: number): number {
  return Math.round(measuredMs + SETUP_ROUND_TRIPS * t.rttMs + SETUP_WORK_MS);
}
/** Login (connect, banner, USER, PASS, FEAT, TYPE, OPTS, PWD), lock (MKD ×3, RMD ×2), QUIT. */
const SETUP_ROUND_TRIPS = 14;
/** The rest (second login, lock, exit), calibrated in the lab: docs/benchmarks.md, "How the timing model was calibrated". */
const SETUP_WORK_MS = 160;

/** How long a connection the server closed keeps counting under this server's close policy. */
export function serverClosedCountedMs(server: ServerConfig, rttMs = DEFAULT_RTT_MS): number {
  if (server.tls !== 'none') return tlsDataCountedMs(server, rttMs);
  return server.dataClose === 'reset' ? 0 : timeWaitCountedMs(server.firewall.timeWaitMs);
}

/** Fewer TLS data connections than this in the last apply say too little to plan by. */
export const MIN_OBSERVED_CLOSES = 20;

/**
 * How long a TLS data connection keeps counting, on average (either direction: the reset close
 * treats both alike). The normal close races the two FINs and its outcome cannot be seen from
 * the client: the full timeWait. The reset close: what this server's last apply observed (a
 * connection not seen to end with our reset or our own FIN counts fully: after a server rejected
 * the reset close, its normal closes do), or before any apply what the lab showed on vsftpd, pure-ftpd and
 * proftpd: nothing (docs/lab.md, "TLS data connections: the close").
 */
export function tlsDataCountedMs(server: ServerConfig, rttMs = DEFAULT_RTT_MS): number {
  const full = timeWaitCountedMs(server.firewall.timeWaitMs);
  if (server.dataClose === 'normal') return full;
  const seen = server.firewall.tlsCloses;
  const total = seen ? seen.reset + seen.server + seen.client + seen.unknown : 0;
  if (!seen || total < MIN_OBSERVED_CLOSES) return 0;
  return Math.round(((seen.server + seen.unknown) * full + seen.client * clientCloseLingerMs(rttMs)) / total);
}

/**
 * How long a data connection we closed may still show on the server: its LAST_ACK lasts about one
 * round trip after our FIN; 4 round trips plus 100 ms for a slow server. An upload takes at least
 * 7 round trips, so few overlap. (A flat second paced uploads far below what the firewall saw:
 * docs/benchmarks.md, "What the bench changed".)
 */
export function clientCloseLingerMs(rttMs: number): number {
  return Math.round(100 + 4 * rttMs);
}

export function actionCost(kind: ActionKind, server: ServerConfig, rttMs = DEFAULT_RTT_MS): { connections: number; countedMs: number } {
  switch (kind) {
    case 'upload':
    case 'write-state':
      return { connections: 1, countedMs: server.tls === 'none' ? clientCloseLingerMs(rttMs) : tlsDataCountedMs(server, rttMs) };
    case 'download':
      return { connections: 1, countedMs: serverClosedCountedMs(server, rttMs) };
    default:
      return { connections: 0, countedMs: 0 };
  }
}

/** Files whose switch renames one session sends at once, pipelined (run/release.ts). */
export const SWITCH_BATCH = 100;

/** Milliseconds, not rounded: on a LAN a transfer takes 2–3 ms, and rounding each one adds up. `trips`: transferRoundTrips of an upload or download. */
export function actionDuration(kind: ActionKind, size: number, t: TimingModel = DEFAULT_TIMING, trips?: number): number {
  switch (kind) {
    case 'download':
      return (trips ?? ROUND_TRIPS.download) * t.rttMs + t.downloadWorkMs + size / t.bytesPerMs;
    case 'upload':
    case 'write-state':
      return (trips ?? ROUND_TRIPS.upload) * t.rttMs + t.uploadWorkMs + size / t.bytesPerMs;
    case 'mkdir':
    case 'delete':
    case 'rmdir':
      return ROUND_TRIPS.control * t.rttMs + t.controlOpWorkMs;
    case 'switch':
      // RNFR and RNTO, pipelined with SWITCH_BATCH files' worth: each file's share of the batch's
      // round trips (its MKDs, its renames), and the server's work on its two commands.
      return (2 * ROUND_TRIPS.control * t.rttMs) / SWITCH_BATCH + 2 * t.controlOpWorkMs;
    default:
      return 1;
  }
}
