/**
 * The TCP part of a scripted FTP server on loopback: `onControl` gets each control connection and
 * `track`, for the data sockets it accepts; close() destroys every socket and stops listening.
 * Clients may reset connections (ftpsync's reset close, a killed test): not the server's concern.
 */
import net from 'node:net';

export interface LoopbackServer {
  port: number;
  close(): Promise<void>;
}

export async function loopbackServer(onControl: (c: net.Socket, track: (s: net.Socket) => void) => void): Promise<LoopbackServer> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = net.createServer((c) => {
    track(c);
    onControl(c, track);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
