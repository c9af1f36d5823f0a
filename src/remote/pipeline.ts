/**
 * Commands sent back to back on one control connection, their replies read after (pipelining):
 * the switch of two-phase uploads sends its renames this way, so a batch costs about one round
 * trip instead of one per command. Only for commands whose failure the next one tolerates
 * (RNFR/RNTO, MKD, DELE); the caller checks every reply. Servers read commands from the socket in
 * order; basic-ftp's reader is detached meanwhile (basic-ftp-internals.ts). Not every server
 * answers pipelined commands: the first use on a server sends a rename of a name that does not
 * exist and a NOOP at once and waits a moment; a server that does not answer them all (or later
 * leaves a batch unanswered) gets every command one by one for the rest of the run, and the
 * session that waited is closed (late replies would confuse it). A session that is not ours
 * (tests' fakes) gets the commands one by one.
 */
import type { Socket } from 'node:net';
import { detachControlReader } from './basic-ftp-internals.js';
import { FtpSession } from './ftp-session.js';
import type { RemoteSession } from './types.js';

export interface Reply {
  code: number;
  message: string;
}

/** How long the replies to the first pipelined commands on a server may take, and how long a batch may go without a reply, ms. */
const PROBE_MS = 3000;
const BATCH_MS = 5000;
const PROBE = ['RNFR .ftpsync-pipelining-probe', 'RNTO .ftpsync-pipelining-probe-2', 'NOOP'];

/** Per server name: does it answer pipelined commands (the probe's answer, shared by its sessions)? */
const answers = new Map<string, Promise<boolean>>();

async function oneByOne(session: RemoteSession, lines: string[]): Promise<Reply[]> {
  const out: Reply[] = [];
  for (const l of lines) out.push(await session.command(l));
  return out;
}

export async function pipelined(session: RemoteSession, lines: string[]): Promise<Reply[]> {
  if (lines.length === 0) return [];
  if (!(session instanceof FtpSession) || session.closed || lines.length === 1) return oneByOne(session, lines);
  let probe = answers.get(session.server);
  if (!probe) {
    probe = readReplies(session.controlSocket, PROBE, PROBE_MS).then(
      () => true,
      async () => {
        await session.close();
        return false;
      },
    );
    answers.set(session.server, probe);
  }
  if (!(await probe)) {
    if (session.closed) throw new Error(`${session.server}: no answer to pipelined commands: the switch sends one command at a time`);
    return oneByOne(session, lines);
  }
  try {
    return await readReplies(session.controlSocket, lines, BATCH_MS);
  } catch (e) {
    answers.set(session.server, Promise.resolve(false));
    await session.close();
    throw e;
  }
}

/**
 * Commands in flight at once: a window, not the whole batch. Bounded in bytes as well as in lines:
 * proftpd reads its control socket in chunks of about 4 KB and takes a CR at the end of one chunk
 * and the LF at the start of the next for no line end, so it merges two commands into one and
 * answers one reply short. Each window is about one round trip (docs/benchmarks.md, "Pipelining").
 */
export const PIPELINE_WINDOW = { lines: 128, bytes: 3000 };
/** One write at most this long (whole lines), so a TCP segment rarely ends inside a line. */
const WRITE_BYTES = 1400;

/** Send the lines a window ahead of their replies; read one reply per line (multi-line replies whole). */
export function readReplies(socket: Socket, lines: string[], timeoutMs: number): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const restoreReader = detachControlReader(socket);
    const replies: Reply[] = [];
    const wire = lines.map((l) => `${l}\r\n`);
    const sizes = wire.map((w) => Buffer.byteLength(w));
    let sent = 0;
    let inFlightBytes = 0;
    /** Send what the window has room for (at least one line when nothing is in flight). */
    const refill = () => {
      let chunk = '';
      let chunkBytes = 0;
      while (sent < lines.length && sent - replies.length < PIPELINE_WINDOW.lines) {
        const size = sizes[sent]!;
        if (sent > replies.length && inFlightBytes + size > PIPELINE_WINDOW.bytes) break;
        if (chunk && chunkBytes + size > WRITE_BYTES) {
          socket.write(chunk);
          chunk = '';
          chunkBytes = 0;
        }
        chunk += wire[sent]!;
        chunkBytes += size;
        inFlightBytes += size;
        sent++;
      }
      if (chunk) socket.write(chunk);
    };
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
    // Timed from the last reply: a long batch on a slow server is not a silent one.
    const timeout = () => finish(new Error(`Timeout: no reply for ${timeoutMs} ms after ${replies.length} of ${lines.length} replies to pipelined commands`));
    let timer = setTimeout(timeout, timeoutMs);
    const onClose = () => finish(new Error(`the server closed the control connection after ${replies.length} of ${lines.length} pipelined commands`));
    const onData = (chunk: string | Buffer) => {
      buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const m = /^(\d{3})([- ])(.*)$/.exec(line);
        const before = replies.length;
        if (open !== null) {
          if (m && m[1] === open && m[2] === ' ') {
            replies.push({ code: Number(open), message: m[3]! });
            open = null;
          }
        } else if (m) {
          if (m[2] === '-') open = m[1]!;
          else replies.push({ code: Number(m[1]), message: m[3]! });
        }
        if (replies.length > before) {
          inFlightBytes -= sizes[before]!;
          clearTimeout(timer);
          timer = setTimeout(timeout, timeoutMs);
        }
        if (replies.length === lines.length) {
          finish(null);
          return;
        }
        refill();
      }
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    // Without Nagle: each refill goes out at once, not after the ACK of the previous one (with it,
    // every window took two round trips; a TLS socket passes this to its TCP socket).
    socket.setNoDelay(true);
    refill();
  });
}
