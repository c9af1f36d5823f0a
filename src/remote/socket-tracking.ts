/**
 * Report a TCP connection to the ledger: opened on connect, closed with the side that closed
 * first. That side decides what the firewall keeps counting (firewall.md): the server keeps
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

export function trackSocket(socket: Socket, ledger: ConnectionLedger, kind: ConnectionKind, purpose: string, now: () => number, opts: { alreadyOpen?: boolean } = {}): TrackedSocket {
  let id: number | null = null;
  let first: CloseSide | null = null;
  let closed = false;
  const open = () => {
    if (id === null && !closed) id = ledger.opened(kind, now(), purpose);
  };
  const close = (side: CloseSide) => {
    if (closed) return;
    closed = true;
    if (id !== null) ledger.closed(id, side, now());
  };
  if (opts.alreadyOpen || (socket.remoteAddress !== undefined && !socket.connecting)) open();
  const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  socket.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'connect' || event === 'secureConnect') open();
    else if (event === 'end' && first === null) first = 'server';
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
