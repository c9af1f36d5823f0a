/**
 * A server that rejects the TLS reset close: the transfer is sent again with the normal close, the
 * server is switched for the rest of the run, and a warning names it and what to set. The demo
 * server stands in (rejectTransfer: a 426 after the data went through); the guard is TLS-only, so
 * its config says explicit while the demo speaks plain FTP.
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import { guardTransfers, rejectedClose } from '../../src/remote/close-fallback.js';
import type { SharedServerFacts } from '../../src/remote/types.js';

let base: string;
let root: string;
let server: DemoFtpServer;
let port: number;
/** Paths whose transfers the server rejects, and how many times it did. */
const reject = new Map<string, number>();

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), 'ftpsync-close-fallback-'));
  root = path.join(base, 'root');
  mkdirSync(path.join(root, 'www'), { recursive: true });
  server = new DemoFtpServer({
    port: 0,
    user: 'demo',
    password: 'pw',
    root,
    passivePorts: [31300, 31339],
    // Only the first try of each listed path: a server that rejects the reset close, accepts the normal one.
    rejectTransfer: (_cmd, p) => {
      const n = reject.get(p);
      if (n === undefined || n > 0) return false;
      reject.set(p, 1);
      return true;
    },
  });
  port = await server.listen();
});

afterAll(async () => {
  await server.close();
  rmSync(base, { recursive: true, force: true });
});

async function guardedClient(shared: SharedServerFacts): Promise<Client> {
  const c = new Client(5000);
  await c.access({ host: '127.0.0.1', port, user: 'demo', password: 'pw', secure: false });
  guardTransfers(c, { name: 'shop', tls: 'explicit', dataClose: 'auto' }, shared);
  return c;
}

describe('a server that rejects the reset close', () => {
  it('upload answered 426: sent again, the server switched to the normal close, a warning naming it and what to set', async () => {
    const local = path.join(base, 'page.html');
    writeFileSync(local, 'x'.repeat(5000));
    reject.set('/www/page.html', 0);
    const shared: SharedServerFacts = { warnings: new Set() };
    const c = await guardedClient(shared);
    try {
      await c.uploadFrom(createReadStream(local), '/www/page.html');
    } finally {
      c.close();
    }
    expect(reject.get('/www/page.html')).toBe(1);
    expect(readFileSync(path.join(root, 'www', 'page.html'))).toEqual(readFileSync(local));
    expect(shared.tlsClose).toBe('normal');
    expect([...shared.warnings]).toEqual([
      'shop: the server rejected the TLS reset close (it answered 426 Transfer aborted); ftpsync closes its TLS data connections normally for the rest of the run, each counted for the full timeWait. Set dataClose: normal for this server to skip the attempt',
    ]);
  });

  it('download answered 426: the local file written again, whole; once switched, a later 426 is an error like any other', async () => {
    writeFileSync(path.join(root, 'www', 'logo.svg'), 'y'.repeat(3000));
    reject.set('/www/logo.svg', 0);
    const shared: SharedServerFacts = { warnings: new Set() };
    const c = await guardedClient(shared);
    const target = path.join(base, 'logo.svg');
    try {
      await c.downloadTo(createWriteStream(target), '/www/logo.svg');
      expect(readFileSync(target, 'utf8')).toBe('y'.repeat(3000));
      expect(shared.tlsClose).toBe('normal');
      writeFileSync(path.join(root, 'www', 'b.txt'), 'b');
      reject.set('/www/b.txt', 0);
      await expect(c.downloadTo(createWriteStream(path.join(base, 'b.txt')), '/www/b.txt')).rejects.toThrow(/426/);
    } finally {
      c.close();
    }
    expect(shared.warnings.size).toBe(1);
  });

  it('a stream that cannot be opened again: switched, and the error goes up for the caller to retry', async () => {
    reject.set('/www/state.json', 0);
    const shared: SharedServerFacts = { warnings: new Set() };
    const c = await guardedClient(shared);
    try {
      const { Readable } = await import('node:stream');
      await expect(c.uploadFrom(Readable.from([Buffer.from('{}')]), '/www/state.json')).rejects.toThrow(/426/);
    } finally {
      c.close();
    }
    expect(shared.tlsClose).toBe('normal');
    expect(existsSync(path.join(root, 'www', 'state.json'))).toBe(true);
  });

  it('what counts as a rejected close', () => {
    expect(rejectedClose(Object.assign(new Error('x'), {}))).toBeNull();
    expect(rejectedClose(new Error('read ECONNRESET (data socket)'))).toBe('it reset the data connection');
    expect(rejectedClose(new Error('Timeout (control socket)'))).toBeNull();
  });
});
