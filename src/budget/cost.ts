/**
 * The cost model (pure): what each action costs in counted connections and time.
 * From firewall.md: downloads and listings are closed by the server, which keeps TIME_WAIT, so
 * they count for timeWait after closing, unless the reset close is on (plain FTP only);
 * uploads are closed by the client, so the server's socket is gone at once (counted briefly) —
 * over plain FTP; under TLS they count for timeWait (see socket-tracking.ts);
 * mkdir, delete, rmdir, rename go over the control connection: no new connection.
 */
import { DEFAULT_CLIENT_CLOSE_LINGER_MS, timeWaitCountedMs } from './ledger.js';
import type { ServerConfig } from '../manifest/types.js';
import type { ActionKind } from '../plan/types.js';

export interface TimingModel {
  /** Per transfer: EPSV + connect + command + 226 (+ rename, MFMT), ms. */
  perTransferMs: number;
  /** Throughput of one session, bytes per ms. */
  bytesPerMs: number;
  /** A command over the control connection (MKD, DELE, RMD), ms. */
  controlOpMs: number;
}

export const DEFAULT_TIMING: TimingModel = { perTransferMs: 40, bytesPerMs: 10_000, controlOpMs: 5 };

/** floor(maxConnections × headroom), minus one live control connection per parallel session. */
export function connectionBudget(server: ServerConfig): number {
  return Math.floor(server.firewall.maxConnections * server.firewall.headroom) - server.firewall.parallel;
}

/** How long a connection the server closed keeps counting under this server's close policy. */
export function serverClosedCountedMs(server: ServerConfig): number {
  return server.dataClose === 'reset' && server.tls === 'none' ? 0 : timeWaitCountedMs(server.firewall.timeWaitMs);
}

export function actionCost(kind: ActionKind, server: ServerConfig): { connections: number; countedMs: number } {
  switch (kind) {
    case 'upload':
    case 'write-state':
      // Under TLS the lab saw the server keep TIME_WAIT for some uploads we closed: count them fully.
      return { connections: 1, countedMs: server.tls === 'none' ? DEFAULT_CLIENT_CLOSE_LINGER_MS : timeWaitCountedMs(server.firewall.timeWaitMs) };
    case 'download':
      return { connections: 1, countedMs: serverClosedCountedMs(server) };
    default:
      return { connections: 0, countedMs: 0 };
  }
}

export function actionDuration(kind: ActionKind, size: number, t: TimingModel = DEFAULT_TIMING): number {
  switch (kind) {
    case 'upload':
    case 'download':
    case 'write-state':
      return Math.round(t.perTransferMs + size / t.bytesPerMs);
    case 'mkdir':
    case 'delete':
    case 'rmdir':
      return t.controlOpMs;
    default:
      return 1;
  }
}
