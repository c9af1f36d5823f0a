/**
 * What the ledger records for how a connection ended, with a loopback TCP server that closes it
 * each way: its FIN first (it keeps TIME_WAIT), or a reset before any FIN (it keeps nothing).
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConnectionLedger, type CloseSide } from '../../src/budget/ledger.js';
import { trackSocket } from '../../src/remote/socket-tracking.js';

async function closedBy(serverSide: (s: net.Socket) => void): Promise<CloseSide | undefined> {
  // The server sends once the client has spoken and closes once the client has read it: the close
  // comes alone on a connected socket, as a data connection's does (a RST that arrives together
  // with unread data reads as an end of stream in Node: the conservative 'server').
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => {
      s.write('some data');
      s.once('data', () => serverSide(s));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1', () => socket.write('go'));
    trackSocket(socket, ledger, 'data', 'test', Date.now);
    socket.once('data', () => socket.write('read it'));
    socket.on('error', () => {});
    await new Promise<void>((r) => socket.once('close', () => r()));
    return ledger.all()[0]?.closedBy;
  } finally {
    server.close();
  }
}

describe('socket tracking: how the server ended the connection', () => {
  it("its FIN first: 'server' (it keeps TIME_WAIT)", async () => {
    expect(await closedBy((s) => s.end())).toBe('server');
  });

  it("a reset before any FIN: 'reset' (its socket is closed at once)", async () => {
    expect(await closedBy((s) => s.resetAndDestroy())).toBe('reset');
  });
});
