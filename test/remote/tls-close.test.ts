/**
 * The TLS close sequences of tls-close.ts against a Node TLS server on loopback: the reset close
 * answers the server's FIN (after close_notify both ways) with RST, and a server that never closes
 * gets our FIN after the hold, with the switch to the normal close.
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
import { tlsOverRaw, type TlsCloseSequence } from '../../src/remote/tls-close.js';

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
  const t = tlsOverRaw(raw, { ca: cert, host: '127.0.0.1' }, undefined, {
    sequence,
    tracked: () => tracked,
    holdMs: o.holdMs ?? 2000,
    onHeldTooLong: () => (heldTooLong = true),
  });
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
