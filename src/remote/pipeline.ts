/**
 * Commands sent back to back on one control connection, their replies read after (pipelining):
 * the switch of two-phase uploads sends its renames this way, so a batch costs about one round
 * trip instead of one per command. Only for commands whose failure the next one tolerates
 * (RNFR/RNTO, MKD, DELE); the caller checks every reply. Servers read commands from the socket in
 * order; basic-ftp's reader is detached meanwhile (basic-ftp-internals.ts). A session that is not
 * ours (tests' fakes) gets the commands one by one.
 */
import type { Socket } from 'node:net';
import { detachControlReader } from './basic-ftp-internals.js';
import { FtpSession } from './ftp-session.js';
import type { RemoteSession } from './types.js';

export interface Reply {
  code: number;
  message: string;
}

export async function pipelined(session: RemoteSession, lines: string[], timeoutMs = 30_000): Promise<Reply[]> {
  if (lines.length === 0) return [];
  if (!(session instanceof FtpSession) || session.closed) {
    const out: Reply[] = [];
    for (const l of lines) out.push(await session.command(l));
    return out;
  }
  return readReplies(session.controlSocket, lines, timeoutMs);
}

/** Write every line at once; read one reply per line (multi-line replies whole). */
function readReplies(socket: Socket, lines: string[], timeoutMs: number): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const restoreReader = detachControlReader(socket);
    const replies: Reply[] = [];
    let buf = '';
    /** The code of a multi-line reply being read ("250-..." until "250 ..."). */
    let open: string | null = null;
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      restoreReader();
      if (err) reject(err);
      else resolve(replies);
    };
    const timer = setTimeout(
      () => finish(new Error(`Timeout: ${replies.length} of ${lines.length} replies to pipelined commands within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onClose = () => finish(new Error(`the server closed the control connection after ${replies.length} of ${lines.length} pipelined commands`));
    const onData = (chunk: string | Buffer) => {
      buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const m = /^(\d{3})([- ])(.*)$/.exec(line);
        if (open !== null) {
          if (m && m[1] === open && m[2] === ' ') {
            replies.push({ code: Number(open), message: m[3]! });
            open = null;
          }
        } else if (m) {
          if (m[2] === '-') open = m[1]!;
          else replies.push({ code: Number(m[1]), message: m[3]! });
        }
        if (replies.length === lines.length) {
          finish(null);
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(lines.map((l) => `${l}\r\n`).join(''));
  });
}
