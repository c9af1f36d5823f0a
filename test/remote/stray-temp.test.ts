/**
 * An atomic upload whose connection dies mid-STOR (a firewall block, a server restart) leaves its
 * temporary file on the server, and nothing can remove it over the dead connection. The next
 * session that stores a file must remove it, so a run that recovered leaves no .ftpsync-tmp-*.
 * A small in-memory FTP server on loopback (unit level: dropping a connection at an exact moment
 * is not something the lab can do deterministically).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import { TEMP_PREFIX } from '../../src/core/names.js';
import { createRemotePool } from '../../src/remote/pool.js';
import { loopbackConfig } from './loopback-config.js';
import { loopbackServer } from './loopback-server.js';

interface MemoryServer {
  port: number;
  /** Files on the server: path -> bytes received. */
  files: Map<string, number>;
  commands: string[];
  close(): Promise<void>;
}

/**
 * A plain-FTP server keeping files in memory. `dropStor(path)` decides, per STOR, whether to kill
 * the control and data connections after the first bytes arrive (the file stays, partial).
 */
async function memoryServer(dropStor: (path: string) => boolean): Promise<MemoryServer> {
  const files = new Map<string, number>();
  const commands: string[] = [];
  const server = await loopbackServer((c, track) => {
    let pendingData: Promise<net.Socket> | null = null;
    let rnfr = '';
    const reply = (s: string) => c.write(`${s}\r\n`);
    reply('220 memory test server');
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString('utf8');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const [cmd, ...rest] = line.split(' ');
        const arg = rest.join(' ');
        const verb = cmd!.toUpperCase();
        commands.push(verb === 'PASS' ? 'PASS ***' : line);
        if (verb === 'USER') reply('331 password');
        else if (verb === 'PASS') reply('230 in');
        else if (verb === 'FEAT') c.write('211-Features:\r\n EPSV\r\n UTF8\r\n211 End\r\n');
        else if (verb === 'EPSV') {
          const data = net.createServer();
          pendingData = new Promise((res) =>
            data.once('connection', (sock: net.Socket) => {
              track(sock);
              data.close();
              res(sock);
            }),
          );
          data.listen(0, '127.0.0.1', () => reply(`229 Entering Extended Passive Mode (|||${(data.address() as net.AddressInfo).port}|)`));
        } else if (verb === 'STOR') {
          files.set(arg, 0);
          reply('150 send it');
          const drop = dropStor(arg);
          void pendingData!.then((sock) => {
            sock.on('data', (chunk: Buffer) => {
              files.set(arg, (files.get(arg) ?? 0) + chunk.length);
              if (drop) {
                // The connection dies mid-transfer: nothing more arrives, no reply.
                sock.destroy();
                c.destroy();
              }
            });
            sock.on('end', () => {
              if (!drop) reply('226 stored');
            });
          });
        } else if (verb === 'RNFR') {
          rnfr = arg;
          reply(files.has(arg) ? '350 go on' : '550 no such file');
        } else if (verb === 'RNTO') {
          files.set(arg, files.get(rnfr) ?? 0);
          files.delete(rnfr);
          reply('250 renamed');
        } else if (verb === 'DELE') {
          reply(files.delete(arg) ? '250 deleted' : '550 no such file');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          c.end();
        } else if (['TYPE', 'OPTS', 'NOOP'].includes(verb)) reply('200 ok');
        else reply('502 not here');
      }
    });
  });
  return { port: server.port, files, commands, close: server.close };
}

const config = (port: number) => loopbackConfig('memory', port, { firewall: { parallel: 1, maxSessions: 2 } });

describe('a temporary upload file left by a dead connection', () => {
  let work: string;
  const content = Buffer.alloc(256 * 1024, 'x');
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ftpsync-stray-'));
    writeFileSync(join(work, 'a.txt'), content);
    writeFileSync(join(work, 'b.txt'), content);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('is removed by the next session that stores a file; the retried file lands under its real name', async () => {
    let first = true;
    const srv = await memoryServer(() => {
      const drop = first;
      first = false;
      return drop;
    });
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const pool = createRemotePool(config(srv.port), { ledger, gate: new BudgetGate(ledger, 80) });
    try {
      await expect(pool.withSession((s) => s.upload(join(work, 'a.txt'), '/site/a.txt', { atomic: true }))).rejects.toThrow(/a\.txt/);
      // The dead session could not remove its temporary file: it is still there.
      const stray = [...srv.files.keys()].filter((p) => p.includes(TEMP_PREFIX));
      expect(stray).toHaveLength(1);
      expect(srv.files.get(stray[0]!)).toBeLessThan(content.length);

      // The retry (a new session) lands a.txt, then removes the stray file; so does any later upload.
      await pool.withSession((s) => s.upload(join(work, 'a.txt'), '/site/a.txt', { atomic: true }));
      await pool.withSession((s) => s.upload(join(work, 'b.txt'), '/site/b.txt', { atomic: true }));
      expect([...srv.files.entries()].sort()).toEqual([
        ['/site/a.txt', content.length],
        ['/site/b.txt', content.length],
      ]);
      expect(srv.commands.filter((c) => c.startsWith('DELE'))).toEqual([`DELE ${stray[0]}`]);
    } finally {
      await pool.close();
      await srv.close();
    }
  });
});
