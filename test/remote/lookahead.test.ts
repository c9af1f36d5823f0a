/**
 * The look-ahead EPSV (plain passive: the next transfer's EPSV goes in the same write as the STOR or
 * RETR). Against the demo server, which answers commands in order: one EPSV of its own per
 * session, every later port asked for ahead, a refused transfer and a command in between leave the
 * session in step. Against two scripted loopback servers (protocol edge cases the lab's servers do
 * not show here): one that answers the EPSV during the transfer, as pure-ftpd and proftpd do when it
 * comes in a later segment, and one that drops the port it gave ahead.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import { FtpSession } from '../../src/remote/ftp-session.js';
import { loopbackConfig } from './loopback-config.js';
import { loopbackServer } from './loopback-server.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ftpsync-lookahead-'));
  for (let i = 0; i < 4; i++) writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(2000 + i, 97 + i));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (port: number) => loopbackConfig('la', port, { dataClose: 'reset' });

async function open(port: number): Promise<{ session: FtpSession; sent: string[] }> {
  const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
  const sent: string[] = [];
  const trace = (l: string) => {
    if (l.startsWith('> ')) sent.push(l.slice(2));
  };
  return { session: await FtpSession.open(config(port), { ledger, gate: new BudgetGate(ledger, 80), trace }), sent };
}

/** Uploads f0..f3, downloads them back, checks every byte. */
async function roundTrip(session: FtpSession): Promise<void> {
  for (let i = 0; i < 4; i++) await session.upload(path.join(dir, `f${i}`), `/f${i}`, { atomic: false });
  for (let i = 0; i < 4; i++) await session.download(`/f${i}`, path.join(dir, `back${i}`));
  for (let i = 0; i < 4; i++) expect(readFileSync(path.join(dir, `back${i}`)).equals(readFileSync(path.join(dir, `f${i}`)))).toBe(true);
}

describe('look-ahead EPSV against a server that answers in order (the demo server)', () => {
  let root: string;
  let server: DemoFtpServer;
  let port: number;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'ftpsync-lookahead-root-'));
    server = new DemoFtpServer({ port: 0, user: 'u', password: 'pw', root, passivePorts: [31380, 31399] });
    port = await server.listen();
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('asks for one port on its own; every later transfer starts with its data connect', async () => {
    const { session, sent } = await open(port);
    await roundTrip(session);
    await session.close();
    const transfers = sent.filter((l) => /^(STOR|RETR) /.test(l));
    expect(transfers).toHaveLength(8);
    // Each transfer command is followed by the look-ahead EPSV; only the first transfer asked alone.
    const alone = sent.filter((l, i) => l === 'EPSV' && !/^(STOR|RETR) /.test(sent[i - 1] ?? ''));
    expect(alone).toHaveLength(1);
    expect(sent.filter((l) => l === 'EPSV')).toHaveLength(9);
    expect(session.shared.lookaheadRefused).toBeUndefined();
  });

  it('a refused RETR and a command in between leave the session in step', async () => {
    const { session, sent } = await open(port);
    await session.upload(path.join(dir, 'f0'), '/g0', { atomic: false });
    expect(await session.readSmallFile('/missing')).toBeNull(); // SIZE 550: no transfer at all
    await expect(session.download('/missing', path.join(dir, 'never'))).rejects.toThrow(/missing|550/);
    // The refused RETR's look-ahead port was answered after its 550 and is used next.
    await session.download('/g0', path.join(dir, 'g0'));
    expect(readFileSync(path.join(dir, 'g0')).equals(readFileSync(path.join(dir, 'f0')))).toBe(true);
    expect((await session.command('NOOP')).code).toBe(200);
    // After the NOOP the port asked ahead is not trusted: a fresh EPSV, then the transfer.
    await session.download('/g0', path.join(dir, 'g0b'));
    await session.close();
    // Alone before the upload, the refused RETR and after the NOOP (the SIZE went between too); ahead with the four transfers.
    expect(sent.filter((l) => l === 'EPSV')).toHaveLength(7);
    const i = sent.lastIndexOf('NOOP');
    expect(sent.slice(i + 1, i + 3)).toEqual(['EPSV', 'RETR /g0']);
    expect(session.shared.lookaheadRefused).toBeUndefined();
  });
});

interface Scripted {
  port: number;
  commands: string[];
  close(): Promise<void>;
}

/**
 * A loopback server in memory. 'answers-during-transfer': a command that came with a transfer
 * command gets "500 Unknown command" right after the 150 and is dropped (pure-ftpd's reader).
 * 'drops-port': the EPSV that came with a transfer command is answered, its port closed at once.
 */
async function scripted(mode: 'answers-during-transfer' | 'drops-port'): Promise<Scripted> {
  const files = new Map<string, Buffer>();
  const commands: string[] = [];
  const server = await loopbackServer((c, track) => {
    const reply = (s: string) => c.write(`${s}\r\n`);
    let data: Promise<net.Socket> | null = null;
    let queue = Promise.resolve();
    let buf = '';
    reply('220 scripted');
    const epsv = (dropAtOnce: boolean) =>
      new Promise<void>((resolve) => {
        const l = net.createServer();
        data = new Promise((res) =>
          l.once('connection', (s: net.Socket) => {
            track(s);
            l.close();
            res(s);
          }),
        );
        l.listen(0, '127.0.0.1', () => {
          reply(`229 Entering Extended Passive Mode (|||${(l.address() as net.AddressInfo).port}|)`);
          if (dropAtOnce) l.close();
          resolve();
        });
      });
    const handle = async (line: string, eaten: string[], withTransfer: boolean): Promise<void> => {
      const [verb = '', ...rest] = line.split(' ');
      const arg = rest.join(' ');
      if (verb === 'USER') reply('331 password');
      else if (verb === 'PASS') reply('230 in');
      else if (verb === 'FEAT') c.write('211-Features:\r\n EPSV\r\n UTF8\r\n211 End\r\n');
      else if (verb === 'EPSV') await epsv(mode === 'drops-port' && withTransfer);
      else if (verb === 'STOR' || verb === 'RETR') {
        const sock = await data!;
        data = null;
        reply('150 go');
        for (const e of eaten) reply(`500 Unknown command ${e}`);
        if (verb === 'STOR') {
          const chunks: Buffer[] = [];
          sock.on('data', (d: Buffer) => chunks.push(d));
          await new Promise((r) => sock.once('end', r));
          files.set(arg, Buffer.concat(chunks));
          sock.end();
        } else await new Promise<void>((r) => sock.end(files.get(arg) ?? Buffer.alloc(0), () => r()));
        reply('226 done');
      } else if (verb === 'QUIT') {
        reply('221 bye');
        c.end();
      } else if (['TYPE', 'OPTS', 'NOOP'].includes(verb)) reply('200 ok');
      else reply('502 not here');
    };
    c.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const lines = buf.split('\r\n');
      buf = lines.pop()!;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        commands.push(line.startsWith('PASS') ? 'PASS ***' : line);
        const isTransfer = /^(STOR|RETR) /.test(line);
        const eaten = mode === 'answers-during-transfer' && isTransfer ? lines.splice(i + 1) : [];
        for (const e of eaten) commands.push(e);
        const withTransfer = i > 0 && /^(STOR|RETR) /.test(lines[i - 1]!);
        queue = queue.then(() => handle(line, eaten, withTransfer));
      }
    });
  });
  return { port: server.port, commands, close: server.close };
}

describe('look-ahead EPSV against servers that do not take it', () => {
  it('answered during the transfer: the transfer still settles on its own reply, and the server is not asked ahead again', async () => {
    const srv = await scripted('answers-during-transfer');
    try {
      const { session, sent } = await open(srv.port);
      await roundTrip(session);
      await session.close();
      expect(session.shared.lookaheadRefused).toMatch(/500 .*during the transfer/);
      // Only the first STOR came with an EPSV; every transfer after it asked for its port alone.
      expect(sent.filter((l) => l === 'EPSV')).toHaveLength(1 + 8);
      expect(sent.slice(sent.indexOf('STOR /f1') - 1, sent.indexOf('STOR /f1') + 2)).toEqual(['EPSV', 'STOR /f1', 'EPSV']);
    } finally {
      await srv.close();
    }
  });

  it('a port given ahead and dropped: refused at the connect, asked for again, the transfer goes through', async () => {
    const srv = await scripted('drops-port');
    try {
      const { session, sent } = await open(srv.port);
      await roundTrip(session);
      await session.close();
      expect(session.shared.lookaheadRefused).toMatch(/connecting to its port \d+ was refused/);
      expect(sent.filter((l) => /^(STOR|RETR) /.test(l))).toHaveLength(8);
    } finally {
      await srv.close();
    }
  });
});
