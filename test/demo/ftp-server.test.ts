import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirewallCounter } from '../../src/demo/firewall-counter.js';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';

let base: string;
let root: string;
let server: DemoFtpServer;
let port: number;
const PASV: [number, number] = [31200, 31239];

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), 'ftpsync-demo-test-'));
  root = path.join(base, 'root');
  mkdirSync(path.join(root, 'www'), { recursive: true });
  writeFileSync(path.join(root, 'www', 'a.txt'), 'hello');
  writeFileSync(path.join(base, 'secret.txt'), 'outside the root');
  server = new DemoFtpServer({ port: 0, user: 'demo', password: 'pw', root, passivePorts: PASV });
  port = await server.listen();
});

afterAll(async () => {
  await server.close();
  rmSync(base, { recursive: true, force: true });
});

async function connect(password = 'pw'): Promise<Client> {
  const c = new Client(5000);
  await c.access({ host: '127.0.0.1', port, user: 'demo', password, secure: false });
  return c;
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('demo FTP server with basic-ftp', () => {
  it('rejects a wrong password with 530', async () => {
    await expect(connect('nope')).rejects.toMatchObject({ code: 530 });
  });

  it('uploads, lists, downloads, renames, sets mtime and deletes', async () => {
    const c = await connect();
    try {
      await c.ensureDir('/www/sub');
      await c.uploadFrom(Readable.from([Buffer.from('x'.repeat(70_000))]), 'big.bin');
      expect(readFileSync(path.join(root, 'www/sub/big.bin')).length).toBe(70_000);
      await c.appendFrom(Readable.from([Buffer.from('yz')]), 'big.bin');
      expect(await c.size('big.bin')).toBe(70_002);

      const list = await c.list('/www');
      expect(list.map((e) => `${e.name}:${e.isDirectory ? 'd' : e.size}`).sort()).toEqual(['a.txt:5', 'sub:d']);

      const out = sink();
      await c.downloadTo(out.stream, '/www/a.txt');
      expect(out.text()).toBe('hello');

      await c.rename('/www/sub/big.bin', '/www/sub/moved.bin');
      await c.send('MFMT 20200102030405 /www/sub/moved.bin');
      expect((await c.lastMod('/www/sub/moved.bin')).toISOString()).toBe('2020-01-02T03:04:05.000Z');
      await c.remove('/www/sub/moved.bin');
      await c.cd('/www');
      await c.removeEmptyDir('/www/sub');
      expect(await c.pwd()).toBe('/www');
      await c.cdup();
      expect(await c.pwd()).toBe('/');
    } finally {
      c.close();
    }
  });

  it('answers STAT <dir> with a 213 multi-line listing over the control connection', async () => {
    const c = await connect();
    try {
      const reply = await c.send('STAT /www');
      expect(reply.code).toBe(213);
      const lines = reply.message.split(/\r?\n/);
      expect(lines[0]).toMatch(/^213-/);
      expect(lines.at(-1)).toMatch(/^213 /);
      expect(lines.some((l) => /^ -rw-r--r-- .* 5 .* a\.txt$/.test(l))).toBe(true);
    } finally {
      c.close();
    }
  });

  it('keeps paths inside the root: traversal lands on the root, never outside it', async () => {
    const c = await connect();
    try {
      await c.cd('../../..');
      expect(await c.pwd()).toBe('/');
      const out = sink();
      await expect(c.downloadTo(out.stream, '../secret.txt')).rejects.toMatchObject({ code: 550 });
      await expect(c.downloadTo(sink().stream, '/../../secret.txt')).rejects.toMatchObject({ code: 550 });
      expect(out.text()).toBe('');
      const names = (await c.list('..')).map((e) => e.name);
      expect(names).toEqual(['www']);
      await expect(c.send('DELE /../secret.txt')).rejects.toMatchObject({ code: 550 });
      expect(readFileSync(path.join(base, 'secret.txt'), 'utf8')).toBe('outside the root');
    } finally {
      c.close();
    }
  });

  it('refuses a data connection from another client address (no port theft)', async () => {
    const c = await connect();
    try {
      const reply = await c.send('EPSV');
      const dataPort = Number(/\|\|\|(\d+)\|/.exec(reply.message)?.[1]);
      expect(dataPort).toBeGreaterThanOrEqual(PASV[0]);
      expect(dataPort).toBeLessThanOrEqual(PASV[1]);
      // 127.0.0.2 is loopback too but a different client IP.
      const closed = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: dataPort, localAddress: '127.0.0.2' });
        s.on('error', () => resolve(true));
        s.on('close', () => resolve(true));
        setTimeout(() => resolve(false), 2000);
      });
      expect(closed).toBe(true);
    } finally {
      c.close();
    }
  });

  it('leaves TIME_WAIT on the server side after downloads, counted by the firewall counter', async () => {
    const counter = new FirewallCounter({ limit: 1000, ports: [port, PASV] });
    const c = await connect();
    try {
      for (let i = 0; i < 5; i++) await c.downloadTo(sink().stream, '/www/a.txt');
    } finally {
      c.close();
    }
    await new Promise((r) => setTimeout(r, 200));
    counter.sample();
    const peak = counter.report().find((p) => p.ip === '127.0.0.1');
    // 5 server-closed data connections + the control connection the server saw closed.
    expect(peak?.timeWaitAtPeak ?? 0).toBeGreaterThanOrEqual(5);
  });
});

describe('firewall counter', () => {
  const line = (local: string, remote: string, st: string, i: number) =>
    `  ${i}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 100 0 0 10 0`;
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
  // 0100007F = 127.0.0.1, 0200007F = 127.0.0.2; ports 0849 = 2121, 084A = 2122, C000 = 49152
  it('counts only the server ports per remote IP, TIME_WAIT included, and blocks past the limit', () => {
    const rows = [
      line('0100007F:0849', '0200007F:C000', '01', 0),
      line('0100007F:084A', '0200007F:C001', '06', 1),
      line('0100007F:084A', '0200007F:C002', '06', 2),
      line('0200007F:C003', '0100007F:084A', '06', 3), // client side: local port not the server's
      line('0100007F:0849', '00000000:0000', '0A', 4), // LISTEN never counts
    ];
    const blocked: string[] = [];
    const counter = new FirewallCounter({
      limit: 2,
      ports: [2121, [2122, 2171]],
      readTables: () => [[header, ...rows].join('\n')],
      onBlock: (ip) => blocked.push(ip),
    });
    counter.sample();
    expect(counter.report()).toEqual([{ ip: '127.0.0.2', peak: 3, timeWaitAtPeak: 2, byStateAtPeak: { ESTABLISHED: 1, TIME_WAIT: 2 } }]);
    expect(blocked).toEqual(['127.0.0.2']);
    expect(counter.isBlocked('127.0.0.2')).toBe(true);
    expect(counter.isBlocked('127.0.0.1')).toBe(false);
  });
});
