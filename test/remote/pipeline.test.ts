/**
 * remote/pipeline.ts readReplies against a scripted TCP server (a protocol edge case, so a fake
 * server): commands go at most PIPELINE_WINDOW (lines and bytes) ahead of their replies, every
 * reply is read (a multi-line one whole), and the timeout counts from the last reply, not from the batch's start.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PIPELINE_WINDOW, readReplies } from '../../src/remote/pipeline.js';

/** A server that hands each complete command line to `onLine` with a way to answer it. */
async function scripted(onLine: (line: string, reply: (text: string) => void, unanswered: () => number) => void): Promise<{ server: Server; client: Socket }> {
  const server = createServer((sock) => {
    let buf = '';
    let received = 0;
    let answered = 0;
    sock.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        received++;
        onLine(
          line,
          (text) => {
            answered++;
            sock.write(text);
          },
          () => received - answered,
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', () => r()));
  return { server, client };
}

let open: { server: Server; client: Socket } | null = null;
afterEach(async () => {
  open?.client.destroy();
  await new Promise((r) => open?.server.close(r) ?? r(undefined));
  open = null;
});

describe('pipelined commands (readReplies)', () => {
  /** Lines in, replies out: the server answers nothing until the client has stopped sending for a moment, so it sees the whole window. */
  async function maxInFlight(lines: string[]): Promise<{ lines: number; bytes: number; replies: string[] }> {
    const seen = { lines: 0, bytes: 0 };
    const held: Array<{ bytes: number; answer: () => void }> = [];
    let idle: NodeJS.Timeout | undefined;
    open = await scripted((line, reply) => {
      held.push({ bytes: Buffer.byteLength(`${line}\r\n`), answer: () => reply(`250 ${line}\r\n`) });
      seen.lines = Math.max(seen.lines, held.length);
      seen.bytes = Math.max(
        seen.bytes,
        held.reduce((n, h) => n + h.bytes, 0),
      );
      clearTimeout(idle);
      idle = setTimeout(() => held.splice(0).forEach((h) => h.answer()), 20);
    });
    const replies = await readReplies(open.client, lines, 2000);
    return { ...seen, replies: replies.map((r) => r.message) };
  }

  it('keeps at most PIPELINE_WINDOW.lines short commands in flight, and reads every reply in order', async () => {
    const lines = Array.from({ length: PIPELINE_WINDOW.lines * 3 + 7 }, (_, i) => `RNFR /www/f${i}`);
    const seen = await maxInFlight(lines);
    expect(seen.replies).toEqual(lines);
    expect(seen.lines).toBe(PIPELINE_WINDOW.lines);
  });

  it('keeps long commands within PIPELINE_WINDOW.bytes (proftpd merges two lines split across its reads)', async () => {
    const long = (i: number) => `RNTO /www/.ftpsync-releases/20261202T104522710Z-e27f.partial/dir1/dir7/file-${String(i).padStart(4, '0')}-abcdefghij.html`;
    const lines = Array.from({ length: 200 }, (_, i) => long(i));
    const seen = await maxInFlight(lines);
    expect(seen.replies).toEqual(lines);
    expect(seen.bytes).toBeLessThanOrEqual(PIPELINE_WINDOW.bytes);
    expect(seen.lines).toBe(Math.floor(PIPELINE_WINDOW.bytes / Buffer.byteLength(`${long(0)}\r\n`)));
  });

  it('sends a line longer than the byte window on its own, and goes on', async () => {
    const lines = ['NOOP', `RNFR /www/${'x'.repeat(PIPELINE_WINDOW.bytes + 100)}`, 'NOOP'];
    const seen = await maxInFlight(lines);
    expect(seen.replies).toEqual(lines);
  });

  it('reads a multi-line reply as one (STAT-style 213- … 213 End)', async () => {
    open = await scripted((line, reply) =>
      reply(line === 'STAT .' ? '213-Status follows:\r\n-rw-r--r-- 1 u g 3 Jan 1 00:00 a\r\n213 End of status\r\n' : '250 ok\r\n'),
    );
    const replies = await readReplies(open.client, ['CWD /a', 'STAT .', 'NOOP'], 2000);
    expect(replies).toEqual([
      { code: 250, message: 'ok' },
      { code: 213, message: 'End of status' },
      { code: 250, message: 'ok' },
    ]);
  });

  it('times out after a silence, counted from the last reply: a slow but steady server is not one', async () => {
    // 12 commands answered 40 ms apart take ~480 ms, far more than the 150 ms of silence allowed.
    let n = 0;
    open = await scripted((_line, reply) => {
      n++;
      setTimeout(() => reply('250 ok\r\n'), 40 * n);
    });
    const slow = await readReplies(
      open.client,
      Array.from({ length: 12 }, () => 'NOOP'),
      150,
    );
    expect(slow).toHaveLength(12);

    open.client.destroy();
    open.server.close();
    open = await scripted((line, reply) => {
      if (line === 'NOOP 1' || line === 'NOOP 2') reply('250 ok\r\n');
    });
    await expect(readReplies(open.client, ['NOOP 1', 'NOOP 2', 'NOOP 3', 'NOOP 4'], 150)).rejects.toThrow(/no reply for 150 ms after 2 of 4 replies/);
  });
});
