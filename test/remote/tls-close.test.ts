/**
 * The TLS close sequences of tls-close.ts against a Node TLS server on loopback: the reset close
 * answers the server's FIN (after close_notify both ways) with RST, and a server that never closes
 * gets our FIN after the hold, with the switch to the normal close. And the key share: a data
 * connection offers the group the control connection agreed on, so a server that takes only P-256
 * (as vsftpd and pure-ftpd do) asks for no second ClientHello.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import { trackSocket } from '../../src/remote/socket-tracking.js';
import { keyShareGroups, tlsOverRaw, type TlsCloseSequence } from '../../src/remote/tls-close.js';
import { clientHellosIn } from './tls-records.js';

let dir: string;
let key: Buffer;
let cert: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ftpsync-tls-close-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'k.pem',
      '-out',
      'c.pem',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    {
      cwd: dir,
      stdio: 'ignore',
    },
  );
  key = readFileSync(join(dir, 'k.pem'));
  cert = readFileSync(join(dir, 'c.pem'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ServerSide {
  received: Buffer[];
  events: string[];
}

/** One TLS connection each way: the server sends `payload`, reads what we send, and closes after our close_notify unless `neverClose`. */
async function exchange(sequence: TlsCloseSequence, o: { payload: string; send?: string; neverClose?: boolean; holdMs?: number }) {
  const side: ServerSide = { received: [], events: [] };
  const server = tls.createServer({ key, cert, allowHalfOpen: true }, (s) => {
    s.on('data', (d: Buffer) => side.received.push(d));
    s.on('end', () => {
      side.events.push('client close_notify or FIN');
      if (!o.neverClose) s.end();
    });
    s.on('error', (e: NodeJS.ErrnoException) => side.events.push(`error ${e.code ?? e.message}`));
    s.on('close', () => side.events.push('closed'));
    if (o.payload) s.write(o.payload);
    if (!o.send) s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
  const raw = new net.Socket({ allowHalfOpen: true });
  await new Promise<void>((r) => raw.connect(port, '127.0.0.1', r));
  const tracked = trackSocket(raw, ledger, 'data', 'test', Date.now);
  let heldTooLong = false;
  const t = tlsOverRaw(
    raw,
    { options: { ca: cert, host: '127.0.0.1' }, session: undefined },
    {
      sequence,
      tracked: () => tracked,
      holdMs: o.holdMs ?? 2000,
      onHeldTooLong: () => (heldTooLong = true),
    },
  );
  const got: Buffer[] = [];
  t.on('data', (d: Buffer) => got.push(d));
  await new Promise<void>((r) => t.once('secureConnect', () => r()));
  if (o.send) t.end(o.send);
  await new Promise<void>((r) => raw.once('close', () => r()));
  t.destroy();
  await new Promise((r) => setTimeout(r, 50));
  server.close();
  return { side, got: Buffer.concat(got).toString(), closedBy: ledger.all()[0]!.closedBy, heldTooLong };
}

describe('the TLS close sequences', () => {
  it('reset, a download: every byte in, close_notify answered, the server FIN answered with RST', async () => {
    const r = await exchange('reset', { payload: 'x'.repeat(100_000) });
    expect(r.got).toBe('x'.repeat(100_000));
    expect(r.closedBy).toBe('reset');
    expect(r.heldTooLong).toBe(false);
    expect(r.side.events).toContain('client close_notify or FIN');
  });

  it('reset, an upload: the server reads every byte and our close_notify, closes, and takes the reset', async () => {
    const r = await exchange('reset', { payload: '', send: 'y'.repeat(50_000) });
    expect(Buffer.concat(r.side.received).toString()).toBe('y'.repeat(50_000));
    expect(r.closedBy).toBe('reset');
  });

  it('reset, a server that never closes: our FIN after the hold, and the switch is asked for', async () => {
    const r = await exchange('reset', { payload: '', send: 'z', neverClose: true, holdMs: 300 });
    expect(r.heldTooLong).toBe(true);
    expect(r.closedBy).toBe('client');
    expect(Buffer.concat(r.side.received).toString()).toBe('z');
  });

  it('normal: close_notify and FIN as Node does it; who closed first is what the tracker saw', async () => {
    const r = await exchange('normal', { payload: 'n' });
    expect(r.got).toBe('n');
    expect(['server', 'client']).toContain(r.closedBy);
  });
});

/** ClientHello records in what the client wrote before the handshake finished (a HelloRetryRequest makes it 2). */
function countClientHellos(raw: net.Socket, secured: () => boolean): () => number {
  let n = 0;
  const write = raw.write.bind(raw) as (chunk: unknown, ...rest: unknown[]) => boolean;
  raw.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (!secured() && Buffer.isBuffer(chunk)) n += clientHellosIn(chunk);
    return write(chunk, ...rest);
  }) as net.Socket['write'];
  return () => n;
}

describe('the key share of a data connection', () => {
  /** A control connection, then a data connection with its groups (or Node's default), to a server that takes only `serverGroups`. */
  async function connectTwice(serverGroups: string, useControlGroups: boolean) {
    const server = tls.createServer({ key, cert, ecdhCurve: serverGroups }, (s) => s.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const control = tls.connect({ port, host: '127.0.0.1', ca: cert });
      await new Promise<void>((r, j) => control.once('secureConnect', r).once('error', j));
      const groups = keyShareGroups(control);
      control.destroy();
      const raw = new net.Socket({ allowHalfOpen: true });
      await new Promise<void>((r) => raw.connect(port, '127.0.0.1', r));
      let secured = false;
      const hellos = countClientHellos(raw, () => secured);
      const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
      const tracked = trackSocket(raw, ledger, 'data', 'test', Date.now);
      const t = tlsOverRaw(
        raw,
        { options: { ca: cert, host: '127.0.0.1' }, session: undefined, groups: useControlGroups ? () => groups : undefined },
        { sequence: 'reset', tracked: () => tracked },
      );
      const got: Buffer[] = [];
      t.on('data', (d: Buffer) => got.push(d));
      await new Promise<void>((r, j) => t.once('secureConnect', () => r()).once('error', j));
      secured = true;
      await new Promise<void>((r) => raw.once('close', () => r()));
      t.destroy();
      return { groups, hellos: hellos(), got: Buffer.concat(got).toString() };
    } finally {
      server.close();
    }
  }

  it("a P-256-only server: the control group first, one ClientHello (Node's default makes two)", async () => {
    const learned = await connectTwice('prime256v1', true);
    expect(learned.groups?.split(':')[0]).toBe('prime256v1');
    expect(learned.hellos).toBe(1);
    expect(learned.got).toBe('ok');
    const unlearned = await connectTwice('prime256v1', false);
    expect(unlearned.hellos).toBe(2);
    expect(unlearned.got).toBe('ok');
  });

  it("a server that takes Node's first group: nothing to change", async () => {
    const r = await connectTwice('X25519:prime256v1', true);
    expect(r.groups).toBeUndefined();
    expect(r.hellos).toBe(1);
  });
});
