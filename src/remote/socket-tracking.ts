/**
 * Report a TCP connection to the ledger: opened on connect, closed with the side that closed
 * first. That side decides what the firewall keeps counting (firewall.md): the server keeps
 * TIME_WAIT when its FIN came first; a reset leaves nothing.
 */
import type { Socket } from 'node:net';
import type { CloseSide, ConnectionKind, ConnectionLedger } from '../budget/ledger.js';

export interface TrackedSocket {
  /** Mark that we are about to reset the connection (resetAndDestroy). */
  markReset(): void;
  /** Mark that we are closing first (end/destroy before the peer's FIN). */
  markLocalClose(): void;
}

export function trackSocket(socket: Socket, ledger: ConnectionLedger, kind: ConnectionKind, purpose: string, now: () => number): TrackedSocket {
  let id: number | null = null;
  let first: CloseSide | null = null;
  const opened = () => {
    if (id === null) id = ledger.opened(kind, now(), purpose);
  };
  if (socket.remoteAddress !== undefined && !socket.connecting) opened();
  else socket.once('connect', opened);
  // TLS sockets report their own secure connect; the TCP connect already happened underneath.
  socket.once('secureConnect', opened);
  socket.once('end', () => {
    if (first === null) first = 'server';
  });
  socket.once('finish', () => {
    if (first === null) first = 'client';
  });
  socket.once('close', () => {
    if (id !== null) ledger.closed(id, first ?? 'unknown', now());
  });
  return {
    markReset() {
      if (first === null || first === 'server') first = 'reset';
    },
    markLocalClose() {
      if (first === null) first = 'client';
    },
  };
}
