/**
 * The adapter against the test server's quirk profiles (src/demo/quirks.ts), one behaviour at a
 * time: listing strategies (forced and auto), the rename-onto-existing fallback (replace-file.ts)
 * and the listing parsers for what those servers send. test/zoo/ runs the same profiles end to
 * end through the CLI.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'basic-ftp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import { TEMP_PREFIX } from '../../src/core/names.js';
import { dosListLine } from '../../src/demo/ftp-format.js';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import type { QuirkOptions } from '../../src/demo/quirks.js';
import { makeSecret } from '../../src/manifest/secret.js';
import type { ServerConfig } from '../../src/manifest/types.js';
import { isStatListing, parseListingText } from '../../src/remote/listing.js';
import { createRemotePool } from '../../src/remote/pool.js';
import { replaceFile } from '../../src/remote/replace-file.js';
import type { RemotePool } from '../../src/remote/types.js';
import { loopbackConfig } from './loopback-config.js';

let root: string;
let server: DemoFtpServer | null = null;
let pool: RemotePool | null = null;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ftpsync-quirks-'));
  mkdirSync(join(root, 'www', 'sub'), { recursive: true });
  writeFileSync(join(root, 'www', 'a.txt'), 'old a\n');
  writeFileSync(join(root, 'www', 'sub', 'b.txt'), 'b\n');
});
afterEach(async () => {
  await pool?.close();
  await server?.close();
  pool = null;
  server = null;
  rmSync(root, { recursive: true, force: true });
});

async function start(quirks: QuirkOptions): Promise<number> {
  server = new DemoFtpServer({ port: 0, user: 'demo', password: 'pw', root, passivePorts: [22_500, 22_599], quirks });
  return server.listen();
}

const config = (port: number, listing: ServerConfig['listing']) =>
  loopbackConfig('zoo', port, {
    user: 'demo',
    timeouts: { connectMs: 5_000, dataMs: 3_000 },
    listing,
    firewall: { timeWaitMs: 1_000, headroom: 1, parallel: 1, maxSessions: 2 },
  });

function poolFor(port: number, listing: ServerConfig['listing']): RemotePool {
  const ledger = new ConnectionLedger({ timeWaitMs: 1_000 });
  pool = createRemotePool(config(port, listing), { ledger, gate: new BudgetGate(ledger, 100) });
  return pool;
}

describe('listing strategies against refusing servers', () => {
  for (const [profile, reply] of [
    ['stat-broken', /STAT \. with a listing: 500 Unknown command/],
    ['iis', /STAT \. with a listing: 211-Microsoft FTP Service status:/],
  ] as const) {
    it(`${profile}: listing: stat set fails once, at once, naming the strategy, the path and the reply, and says to set auto`, async () => {
      const p = poolFor(await start({ profile }), 'stat');
      const t0 = performance.now();
      const err = (await p
        .withSession((s) => s.listTree('/www'))
        .then(
          () => new Error('listed'),
          (e: unknown) => e,
        )) as Error & { hint?: string };
      expect(performance.now() - t0).toBeLessThan(2_000);
      expect(err.message).toMatch(/^zoo \/www: listing: stat is set, but the server did not answer/);
      expect(err.message).toMatch(reply);
      expect(err.hint).toMatch(/Set listing: auto for server zoo/);
      // One STAT, not a loop of them.
      expect(server!.stats.commands.get('STAT')).toBe(1);
    });

    it(`${profile}: listing: auto moves on to MLSD and reports the strategy it used`, async () => {
      const p = poolFor(await start({ profile }), 'auto');
      const result = await p.withSession((s) => s.listTree('/www'));
      expect(result.strategy).toBe('mlsd');
      expect([...result.tree.keys()].sort()).toEqual(['a.txt', 'sub', 'sub/b.txt']);
      // STAT is given up once, for the whole pool.
      expect(server!.stats.commands.get('STAT')).toBe(1);
    });
  }

  it('a forced strategy that works is the one reported (not "list")', async () => {
    const p = poolFor(await start({}), 'stat');
    expect((await p.withSession((s) => s.listTree('/www'))).strategy).toBe('stat');
  });

  it('iis with listing: list: DOS lines give names, sizes and minute-precision times', async () => {
    const when = new Date(Date.UTC(2026, 0, 12, 22, 15));
    utimesSync(join(root, 'www', 'a.txt'), when, when);
    const p = poolFor(await start({ profile: 'iis' }), 'list');
    const result = await p.withSession((s) => s.listTree('/www'));
    expect(result.strategy).toBe('list');
    const a = result.tree.get('a.txt')!;
    expect(a).toMatchObject({ type: 'file', size: 6, mtimeMs: when.getTime(), mtimePrecisionMs: 60_000 });
    expect(result.tree.get('sub')?.type).toBe('dir');
  });

  it('a 550 on a listing says what the server said (permission, not only "no such directory")', async () => {
    const p = poolFor(await start({}), 'auto');
    await expect(p.withSession((s) => s.list('/nope'))).rejects.toThrow(/zoo: \/nope: cannot list: 550 .*No such file or directory/);
  });
});

describe('a wrong password', () => {
  it('fails once: later tasks of the pool get the same error without another login', async () => {
    const port = await start({});
    const ledger = new ConnectionLedger({ timeWaitMs: 1_000 });
    pool = createRemotePool({ ...config(port, 'auto'), password: makeSecret('wrong', 'test') }, { ledger, gate: new BudgetGate(ledger, 100) });
    for (let i = 0; i < 3; i++) await expect(pool.withSession((s) => s.list('/www'))).rejects.toThrow(/zoo: login failed: 530 Login incorrect/);
    expect(server!.stats.failedLogins).toBe(1);
    expect(ledger.totals().control).toBe(1);
  });
});

describe('replace-file: servers that refuse RNTO onto an existing file', () => {
  async function client(port: number): Promise<Client> {
    const c = new Client(5_000);
    await c.access({ host: '127.0.0.1', port, user: 'demo', password: 'pw' });
    return c;
  }
  const leftovers = () => readdirSync(join(root, 'www')).filter((n) => n.startsWith(TEMP_PREFIX));

  for (const profile of ['iis', 'filezilla'] as const) {
    it(`${profile}: the new file takes the place of the old one; the old one is gone; warned once`, async () => {
      const c = await client(await start({ profile }));
      try {
        writeFileSync(join(root, 'www', `${TEMP_PREFIX}new-a.txt`), 'new a\n');
        const shared = { warnings: new Set<string>() };
        await replaceFile({ server: 'zoo', client: c, shared }, `/www/${TEMP_PREFIX}new-a.txt`, '/www/a.txt');
        expect(readFileSync(join(root, 'www', 'a.txt'), 'utf8')).toBe('new a\n');
        expect(leftovers()).toEqual([]);
        expect([...shared.warnings].join()).toMatch(profile === 'iis' ? /550 Cannot create a file when that file already exists/ : /553 file exists/);
        // A name that does not exist yet needs no aside step.
        writeFileSync(join(root, 'www', `${TEMP_PREFIX}new-c.txt`), 'c\n');
        await replaceFile({ server: 'zoo', client: c, shared }, `/www/${TEMP_PREFIX}new-c.txt`, '/www/c.txt');
        expect(readFileSync(join(root, 'www', 'c.txt'), 'utf8')).toBe('c\n');
        expect(shared.warnings.size).toBe(1);
      } finally {
        c.close();
      }
    });
  }

  it('when the new file cannot be renamed in, the old one is renamed back: nothing lost', async () => {
    const c = await client(await start({ profile: 'iis' }));
    try {
      const before = statSync(join(root, 'www', 'a.txt')).size;
      const shared = { warnings: new Set<string>() };
      // The "new" file is gone (a failed upload): the rename in fails after the old one moved aside.
      writeFileSync(join(root, 'www', `${TEMP_PREFIX}gone`), 'x');
      rmSync(join(root, 'www', `${TEMP_PREFIX}gone`));
      await expect(replaceFile({ server: 'zoo', client: c, shared }, `/www/${TEMP_PREFIX}gone`, '/www/a.txt')).rejects.toMatchObject({ code: 550 });
      expect(readFileSync(join(root, 'www', 'a.txt'), 'utf8')).toBe('old a\n');
      expect(statSync(join(root, 'www', 'a.txt')).size).toBe(before);
      expect(leftovers()).toEqual([]);
    } finally {
      c.close();
    }
  });

  it('a refusal for another reason (permission) is the error, untouched', async () => {
    const c = await client(await start({ profile: 'iis', faults: { deniedDir: '/www/sub' } }));
    try {
      const shared = { warnings: new Set<string>() };
      await expect(replaceFile({ server: 'zoo', client: c, shared }, '/www/a.txt', '/www/sub/b.txt')).rejects.toMatchObject({ code: 550 });
      expect(readFileSync(join(root, 'www', 'a.txt'), 'utf8')).toBe('old a\n');
      expect(readFileSync(join(root, 'www', 'sub', 'b.txt'), 'utf8')).toBe('b\n');
      expect(shared.warnings.size).toBe(0);
    } finally {
      c.close();
    }
  });
});

describe('what those servers send, parsed', () => {
  it('the test server writes IIS DOS lines byte for byte as IIS does', () => {
    const file = { isDirectory: () => false, size: 1234, mtime: new Date(Date.UTC(2026, 11, 1, 10, 15)) } as unknown as import('node:fs').Stats;
    const dir = { isDirectory: () => true, size: 0, mtime: new Date(Date.UTC(2026, 11, 1, 22, 5)) } as unknown as import('node:fs').Stats;
    expect(dosListLine('name', file)).toBe('12-01-26  10:15AM                 1234 name');
    expect(dosListLine('name', dir)).toBe('12-01-26  10:05PM       <DIR>          name');
    const parsed = parseListingText([dosListLine('name', file), dosListLine('a dir', dir)].join('\r\n'));
    expect(parsed.entries.map((e) => [e.name, e.type, e.size, e.mtimeMs])).toEqual([
      ['name', 'file', 1234, Date.UTC(2026, 11, 1, 10, 15)],
      ['a dir', 'dir', 0, Date.UTC(2026, 11, 1, 22, 5)],
    ]);
  });

  it('a STAT body is a listing only when every line is an ls -l or DOS line', () => {
    expect(isStatListing([' -rw-r--r--    1 ftp ftp  5 Nov 24 10:15 a.txt', ' drwxr-xr-x    2 ftp ftp  0 Nov 24 10:15 sub', ' total 2'])).toBe(true);
    expect(isStatListing([' 12-01-26  10:15AM                 1234 name'])).toBe(true);
    expect(isStatListing([])).toBe(true);
    // IIS's status text would parse as MLSD lines without facts: one bogus "entry" per line.
    expect(isStatListing([' Logged in user: demo', ' TYPE: BINARY; STRUcture: File; transfer MODE: STREAM'])).toBe(false);
  });
});
