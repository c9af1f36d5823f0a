/**
 * Remote listings are untrusted input. A small hostile FTP server on loopback (unit level: no
 * real server sends these) answers STAT, MLSD and LIST with names that try to escape the target
 * directory; ftpsync must drop them, say so, and never write outside the target.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import { makeSecret } from '../../src/manifest/secret.js';
import type { ServerConfig } from '../../src/manifest/types.js';
import { createRemotePool } from '../../src/remote/pool.js';
import { CLI, ensureBuilt } from '../cli/helpers.js';
import { loopbackConfig } from './loopback-config.js';
import { loopbackServer } from './loopback-server.js';

const GOOD = { name: 'ok.txt', content: 'fine\n' };
const T = 'Jan 02 03:04';

/** LIST-style line for a file or directory. */
const line = (name: string, dir = false, size = 5) => `${dir ? 'd' : '-'}rw-r--r--    1 1000     1000     ${String(size).padStart(8)} ${T} ${name}`;
const mlsdLine = (name: string, dir = false, size = 5) => `type=${dir ? 'dir' : 'file'};size=${size};modify=20260102030400; ${name}`;

interface HostileServer {
  port: number;
  close(): Promise<void>;
  /** Every path a RETR asked for. */
  retrieved: string[];
}

/**
 * A plain-FTP server whose listings of `/` (and `/sub`) are the given names. `statTakesDashA`:
 * it reads `STAT -a .` as the status of a file named "-a ." and lists nothing.
 */
async function hostileServer(names: { root: string[]; sub?: string[] }, o: { statTakesDashA?: boolean } = {}): Promise<HostileServer> {
  const retrieved: string[] = [];
  const listing = (dir: string): Array<{ name: string; dir: boolean }> => {
    if (dir === '/sub') return (names.sub ?? []).map((name) => ({ name, dir: false }));
    return [...names.root.map((name) => ({ name, dir: false })), { name: GOOD.name, dir: false }, ...(names.sub ? [{ name: 'sub', dir: true }] : [])];
  };
  const server = await loopbackServer((c) => {
    let cwd = '/';
    let data: net.Server | null = null;
    let pendingData: Promise<net.Socket> | null = null;
    const reply = (s: string) => c.write(`${s}\r\n`);
    const sendData = async (payload: string, done: string) => {
      reply('150 Here it comes');
      const sock = await pendingData!;
      sock.end(payload, () => {
        data?.close();
        reply(done);
      });
    };
    reply('220 hostile test server');
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const cmdLine = Buffer.from(buf.slice(0, i), 'latin1').toString('utf8');
        buf = buf.slice(i + 2);
        const [cmd, ...rest] = cmdLine.split(' ');
        const arg = rest.join(' ');
        const verb = cmd!.toUpperCase();
        if (verb === 'USER') reply('331 password');
        else if (verb === 'PASS') reply('230 in');
        else if (verb === 'FEAT') c.write('211-Features:\r\n MLST type*;size*;modify*;\r\n EPSV\r\n UTF8\r\n211 End\r\n');
        else if (verb === 'PWD') reply(`257 "${cwd}"`);
        else if (verb === 'CWD') {
          cwd = arg === '/' || arg === '' ? '/' : arg.replace(/\/$/, '');
          reply('250 ok');
        } else if (verb === 'STAT' && o.statTakesDashA && arg.startsWith('-a')) {
          c.write(`213-Status of ${arg}:\r\n213 End\r\n`);
        } else if (verb === 'STAT') {
          c.write(
            `213-Status of ${cwd}:\r\n${listing(cwd)
              .map((e) => line(e.name, e.dir))
              .join('\r\n')}\r\n213 End\r\n`,
          );
        } else if (verb === 'EPSV') {
          data = net.createServer();
          pendingData = new Promise((res) =>
            data!.once('connection', (sock: net.Socket) => {
              sock.on('error', () => undefined);
              res(sock);
            }),
          );
          data.listen(0, '127.0.0.1', () => reply(`229 Entering Extended Passive Mode (|||${(data!.address() as net.AddressInfo).port}|)`));
        } else if (verb === 'MLSD')
          void sendData(
            listing(cwd)
              .map((e) => mlsdLine(e.name, e.dir))
              .join('\r\n') + '\r\n',
            '226 done',
          );
        else if (verb === 'LIST')
          void sendData(
            listing(cwd)
              .map((e) => line(e.name, e.dir))
              .join('\r\n') + '\r\n',
            '226 done',
          );
        else if (verb === 'SIZE') reply(`213 ${GOOD.content.length}`);
        else if (verb === 'RETR') {
          retrieved.push(arg);
          void sendData(GOOD.content, '226 done');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          c.end();
        } else if (['TYPE', 'OPTS', 'MFMT', 'MDTM', 'NOOP'].includes(verb)) reply('200 ok');
        else reply('502 not here');
      }
    });
  });
  return { port: server.port, retrieved, close: server.close };
}

const config = (port: number, listing: ServerConfig['listing']) =>
  loopbackConfig('hostile', port, { password: makeSecret('pw-not-printed', 'test'), listing, firewall: { parallel: 1, maxSessions: 2 } });

const CASES: Array<{ what: string; name: string; rejected: boolean }> = [
  { what: 'parent traversal', name: '../escape.txt', rejected: true },
  { what: 'deep traversal', name: '../../../../tmp/escape.txt', rejected: true },
  { what: 'a slash inside', name: 'a/b.txt', rejected: true },
  { what: 'an absolute path', name: '/etc/passwd', rejected: true },
  { what: 'a backslash traversal', name: '..\\escape.txt', rejected: true },
  { what: 'a NUL byte', name: 'x\0y.txt', rejected: true },
  { what: 'the parent itself', name: '..', rejected: false },
  { what: 'the directory itself', name: '.', rejected: false },
];

describe('hostile listings', () => {
  for (const listing of ['stat', 'mlsd', 'list'] as const) {
    for (const c of CASES) {
      it(`${listing}: ${c.what} (${JSON.stringify(c.name)}) never enters the tree`, async () => {
        const srv = await hostileServer({ root: [c.name] });
        const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
        const pool = createRemotePool(config(srv.port, listing), { ledger, gate: new BudgetGate(ledger, 80) });
        try {
          const result = await pool.withSession((s) => s.listTree('/'));
          expect([...result.tree.keys()]).toEqual([GOOD.name]);
          const warned = [...pool.warnings()].some((w) => w.includes(JSON.stringify(c.name)));
          expect(warned).toBe(c.rejected);
        } finally {
          await pool.close();
          await srv.close();
        }
      });
    }
  }
});

describe('STAT -a (dot names)', () => {
  it('a server that reads "STAT -a ." as a file name: the plain STAT listing is used, for every directory', async () => {
    const srv = await hostileServer({ root: ['a.txt'], sub: ['b.txt'] }, { statTakesDashA: true });
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const pool = createRemotePool(config(srv.port, 'auto'), { ledger, gate: new BudgetGate(ledger, 80) });
    try {
      const result = await pool.withSession((s) => s.listTree('/'));
      expect(result.strategy).toBe('stat');
      expect([...result.tree.keys()].sort()).toEqual(['a.txt', GOOD.name, 'sub', 'sub/b.txt']);
    } finally {
      await pool.close();
      await srv.close();
    }
  });
});

describe('apply of a download from a hostile server', () => {
  let work: string;
  beforeAll(() => {
    ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'ftpsync-hostile-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('writes only the safe file inside the target, warns with the server and path, exit 0', async () => {
    const evil = CASES.filter((c) => c.rejected).map((c) => c.name);
    const srv = await hostileServer({ root: evil, sub: ['../../outside.txt', 'ok-in-sub.txt'] });
    const target = join(work, 'deep', 'target');
    const manifest = join(work, 'ftpsync.yml');
    writeFileSync(
      manifest,
      `version: 1\nservers:\n  hostile:\n    host: 127.0.0.1\n    port: ${srv.port}\n    user: u\n    password: \${HOSTILE_PW}\n    tls: none\nsyncs:\n  - { name: dl, server: hostile, direction: download, local: ${target}, remote: / }\n`,
    );
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'apply', '-c', manifest], {
        env: { PATH: process.env.PATH, NO_COLOR: '1', HOSTILE_PW: 'pw-not-printed', CI: 'true' },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
    await srv.close();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/hostile: warning: ignored unsafe name "\.\.\/escape\.txt" in \//);
    expect(r.out).toMatch(/hostile: warning: ignored unsafe name "\.\.\/\.\.\/outside\.txt" in \/sub/);
    expect(r.out).not.toContain('pw-not-printed');
    // Only the target's own tree exists, with only the safe files.
    expect(readdirSync(work).sort()).toEqual(['.ftpsync', 'deep', 'ftpsync.yml']); // .ftpsync: apply's journal
    expect(readdirSync(join(work, 'deep'))).toEqual(['target']);
    expect(readdirSync(target, { recursive: true }).map(String).sort()).toEqual(['ok.txt', 'sub', 'sub/ok-in-sub.txt']);
    expect(existsSync(join(work, 'outside.txt'))).toBe(false);
    expect(srv.retrieved.every((p) => !p.includes('..'))).toBe(true);
  }, 90_000);
});
