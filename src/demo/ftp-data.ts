/** Moving a transfer's bytes over the demo server's data connection, closing it the way real servers do. */
import { createWriteStream } from 'node:fs';
import net from 'node:net';
import type { TransferFault } from './quirks.js';
import { Reply } from './rooted-fs.js';

/** A passive listener waiting for the session's data connection. */
export interface PassiveListener {
  server: net.Server;
  socket: Promise<net.Socket>;
}

/** The passive port range, and where the next search starts (rotating, so ports are reused last). */
export interface PassiveRange {
  host: string;
  ports: [number, number];
  next: number;
}

export function pipeToSocket(src: NodeJS.ReadableStream & { destroy(): void }, data: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    src.on('error', reject);
    data.once('error', reject);
    data.once('close', () => reject(new Error('data connection closed early')));
    src.on('end', () => {
      // Server closes first after the last byte: FIN from here, TIME_WAIT on this side.
      data.end(() => resolve());
    });
    src.pipe(data, { end: false });
  });
}

/**
 * Store a data connection's bytes; resolves with how many. Beyond `maxBytes` (a quota) the rest is
 * read and dropped, the file keeps what fitted and the transfer fails with 552, as a full quota does.
 */
export function receiveFromSocket(data: net.Socket, real: string, append: boolean, maxBytes = Infinity): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(real, { flags: append ? 'a' : 'w' });
    let bytes = 0;
    out.on('error', reject);
    data.once('error', reject);
    // Read to EOF: the client closes first after its last byte, as on real servers.
    data.on('data', (chunk: Buffer) => {
      const room = maxBytes - bytes;
      if (room > 0) out.write(room >= chunk.length ? chunk : chunk.subarray(0, room));
      bytes += chunk.length;
    });
    data.once('close', () => {
      // Closed without an end (a dropped connection): keep what came, fail the transfer.
      if (!data.readableEnded) out.end(() => reject(new Error('data connection closed early')));
    });
    data.once('end', () => {
      out.end(() => {
        data.end();
        if (bytes > maxBytes) reject(new Reply(552, 'Transfer aborted. Disk quota exceeded.'));
        else resolve(bytes);
      });
    });
  });
}

/** Open a passive listener on the next free port of the range; only `clientIp` may connect to it. */
export async function openPassive(
  range: PassiveRange,
  clientIp: string,
  timeoutMs: number,
  blocked: () => boolean,
): Promise<{ port: number; listener: PassiveListener }> {
  const [lo, hi] = range.ports;
  const span = hi - lo + 1;
  for (let i = 0; i < span; i++) {
    const port = lo + ((range.next + i) % span);
    const server = net.createServer({ pauseOnConnect: true });
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, range.host, () => resolve(true));
    });
    if (!ok) continue;
    range.next = (range.next + i + 1) % span;
    const socket = new Promise<net.Socket>((resolve, reject) => {
      const timer = setTimeout(() => {
        server.close();
        reject(new Reply(425, 'Failed to establish connection'));
      }, timeoutMs);
      server.on('connection', (data) => {
        // Only the session's own client may take its data connection (no FTP bounce/theft).
        if (normalizeIp(data.remoteAddress ?? '') !== clientIp || blocked()) {
          data.destroy();
          return;
        }
        clearTimeout(timer);
        server.close();
        resolve(data);
      });
    });
    socket.catch(() => undefined); // handled when a transfer awaits it
    return { port, listener: { server, socket } };
  }
  throw new Reply(425, 'No free passive port');
}

/** "::ffff:127.0.0.1" -> "127.0.0.1", so the counter and the blocker agree on the key. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** A listing on the data connection; end(): the server sends FIN first, as vsftpd does after a listing. */
export function sendListing(data: net.Socket, lines: string[]): Promise<void> {
  const text = lines.map((l) => `${l}\r\n`).join('');
  return new Promise<void>((resolve, reject) => {
    data.once('error', reject);
    data.end(text, () => resolve());
  });
}

/**
 * One transfer on an accepted data connection: 150, then the fault the quirks inject (a stall, a
 * restart), the work, and 226 — or 426 when the work fails for a reason that is not a reply.
 */
export async function runTransfer(
  data: net.Socket,
  fault: TransferFault,
  t: { reply(code: number, text: string): void; controlClosed(): Promise<unknown>; dropAll(): void; work(data: net.Socket): Promise<void> },
): Promise<void> {
  data.on('error', () => undefined);
  t.reply(150, 'Opening BINARY mode data connection');
  if (fault === 'stall') {
    // Nothing moves and no reply comes until the client gives up and closes the session.
    await t.controlClosed();
    data.destroy();
    return;
  }
  if (fault === 'restart') setTimeout(() => t.dropAll(), 20);
  data.resume();
  try {
    await t.work(data);
  } catch (err) {
    data.destroy();
    if (err instanceof Reply) throw err;
    throw new Reply(426, 'Connection closed; transfer aborted');
  }
  t.reply(226, 'Transfer complete');
}
