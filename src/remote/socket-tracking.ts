/**
 * Report a TCP connection to the ledger: opened on connect, closed with the side that closed
 * first. That side decides what the firewall keeps counting (docs/firewall.md): the server keeps
 * TIME_WAIT when its FIN came first; a reset leaves nothing.
 *
 * basic-ftp calls removeAllListeners() on sockets it closes, so listeners would be lost: the
 * tracker hooks the socket's emit() instead, which sees every event whoever listens.
 */
import type { Socket } from 'node:net';
import type { CloseSide, ConnectionKind, ConnectionLedger } from '../budget/ledger.js';

export interface TrackedSocket {
  /** Mark that we are about to reset the connection (resetAndDestroy). */
  markReset(): void;
  /** Record the close now (when the socket object will not tell us itself). */
  closeNow(side: CloseSide): void;
}

export interface TrackOptions {
  alreadyOpen?: boolean;
  /**
   * Our FIN may cross the server's (TLS's normal close sends it right after close_notify, which
   * the server answers with its own): a close we began is recorded 'unknown' (counted for the
   * full TIME_WAIT; the lab saw the server keep it for some of these: docs/firewall.md). A
   * server FIN that came first, or our reset, is still known.
   */
  clientFinRacy?: boolean;
  /** The ledger reservation the gate gave for this connection: it becomes this connection's record. */
  reservation?: number;
}

export function trackSocket(
  socket: Socket,
  ledger: ConnectionLedger,
  kind: ConnectionKind,
  purpose: string,
  now: () => number,
  opts: TrackOptions = {},
): TrackedSocket {
  let id: number | null = null;
  let first: CloseSide | null = null;
  let closed = false;
  const open = () => {
    if (id === null && !closed) id = ledger.opened(kind, now(), purpose, opts.reservation);
  };
  const close = (side: CloseSide) => {
    if (closed) return;
    closed = true;
    if (id !== null) ledger.closed(id, opts.clientFinRacy && side === 'client' ? 'unknown' : side, now());
  };
  if (opts.alreadyOpen || (socket.remoteAddress !== undefined && !socket.connecting)) open();
  // Our end() sends our FIN (after close_notify under TLS): if the server's FIN has not come yet,
  // we closed first. TLS emits 'finish' late, sometimes after basic-ftp already destroyed the socket.
  const end = socket.end.bind(socket) as (...args: unknown[]) => Socket;
  socket.end = ((...args: unknown[]) => {
    if (first === null && !socket.readableEnded) first = 'client';
    return end(...args);
  }) as Socket['end'];
  const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  socket.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'connect' || event === 'secureConnect') open();
    else if (event === 'end' && first === null) first = 'server';
    // The server reset it before any FIN (seen on pure-ftpd's FTPS downloads under load: the data,
    // then RST where the FIN was due): its side is CLOSED at once, as after our own reset.
    else if (event === 'error' && first === null && (args[0] as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET') first = 'reset';
    else if (event === 'finish' && first === null) first = 'client';
    else if (event === 'close') close(first ?? 'unknown');
    return emit(event, ...args);
  }) as Socket['emit'];
  return {
    markReset() {
      if (first === null || first === 'server') first = 'reset';
    },
    closeNow(side) {
      close(side);
    },
  };
}
