/**
 * What a TLS connection costs the client in Node itself (issue 18), as a floor for FTPS: a child
 * process in the lab's server namespace serves TCP and TLS across the same link the rows use (the
 * lab's certificate, CA-verified by the client, TLS 1.3, P-256 only as vsftpd and pure-ftpd take
 * it, the session resumed as ftpsync's data connections resume it); the bench process opens N
 * connections of each kind one after another, each sending 1 KB and closing, and measures its own
 * CPU per connection. Three kinds: TCP; Node's own TLS (the socket handed to TLS); and TLS over
 * ftpsync's held stream (src/remote/tls-close.ts, the reset close: our FIN held, the server's
 * answered with RST), the path every FTPS data connection takes. An FTPS file costs one such TLS
 * connection where plain FTP opens a TCP one, so no FTPS client in Node spends less CPU per file
 * than plain FTP's plus the difference.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { keyShareGroups, tlsOverRaw } from '../src/remote/tls-close.js';

export interface TlsFloor {
  connections: number;
  /** Client CPU per connection, ms. */
  tcpMs: number;
  tlsMs: number;
  /** The same TLS over ftpsync's held stream (absent in results from before 2026-12-03). */
  heldMs?: number;
  /** Every TLS connection after the first resumed the session. */
  resumed: boolean;
  /** Where the floor's server ran: 'loopback' (before 2026-12-03) or 'lab link'. */
  where?: string;
}

const SERVER = `
const net = require('node:net'), tls = require('node:tls'), fs = require('node:fs');
const [key, cert, host] = process.argv.slice(1);
const sink = (s) => { s.on('data', () => {}); s.on('end', () => s.end()); s.on('error', () => {}); };
const t = tls.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert), allowHalfOpen: true, ecdhCurve: 'prime256v1' }, sink);
const p = net.createServer({ allowHalfOpen: true }, sink);
t.listen(0, host, () => p.listen(0, host, () => console.log(JSON.stringify({ tls: t.address().port, tcp: p.address().port }))));
`;

export async function tlsFloor(o: {
  keyFile: string;
  certFile: string;
  caFile: string;
  serverName: string;
  connections: number;
  /** The lab's server namespace and address; the floor's server runs there. */
  namespace: string;
  host: string;
}): Promise<TlsFloor> {
  const child = spawn('ip', ['netns', 'exec', o.namespace, process.execPath, '-e', SERVER, o.keyFile, o.certFile, o.host], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const ports = await new Promise<{ tls: number; tcp: number }>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as { tls: number; tcp: number }));
      child.once('exit', (code) => reject(new Error(`the TLS floor's server exited (${code})`)));
    });
    const payload = Buffer.alloc(1000, 97);
    const ca = readFileSync(o.caFile);
    const options = { ca, host: o.host, servername: o.serverName };
    let groups: string | undefined;
    let session: Buffer | undefined;
    let reused = 0;
    const settle = (s: net.Socket, resolve: () => void, reject: (e: Error) => void) => {
      s.on('data', () => {});
      s.on('close', () => resolve());
      s.on('error', reject);
    };
    const secured = (s: TLSSocket) => {
      s.on('session', (x: Buffer) => (session = x));
      s.once('secureConnect', () => {
        if (s.isSessionReused()) reused++;
        groups ??= keyShareGroups(s);
        s.end(payload);
      });
    };
    const overTcp = () =>
      new Promise<void>((resolve, reject) => {
        const s = net.connect(ports.tcp, o.host, () => s.end(payload));
        settle(s, resolve, reject);
      });
    // The control connection's part: one handshake with Node's defaults teaches the group (keyShareGroups).
    await new Promise<void>((resolve, reject) => {
      const s = tls.connect({ ...options, port: ports.tls });
      secured(s);
      settle(s, resolve, reject);
    });
    const nodeContext = tls.createSecureContext({ ca, ...(groups ? { ecdhCurve: groups } : {}) });
    const overTls = () =>
      new Promise<void>((resolve, reject) => {
        const s = tls.connect({ ...options, port: ports.tls, secureContext: nodeContext, ...(session ? { session } : {}) });
        secured(s);
        settle(s, resolve, reject);
      });
    const overHeldStream = () =>
      new Promise<void>((resolve, reject) => {
        const raw = net.connect({ port: ports.tls, host: o.host, allowHalfOpen: true }, () => {
          const s = tlsOverRaw(raw, { options, session, groups: () => groups }, { sequence: 'reset', tracked: () => null });
          secured(s);
          s.on('data', () => {});
          s.on('error', reject);
        });
        raw.on('close', () => resolve());
        raw.on('error', reject);
      });
    const perConnection = async (one: () => Promise<void>) => {
      for (let i = 0; i < 20; i++) await one(); // warm up (the group learned, a session to resume)
      reused = 0;
      const before = process.cpuUsage();
      for (let i = 0; i < o.connections; i++) await one();
      const used = process.cpuUsage(before);
      return { ms: (used.user + used.system) / 1000 / o.connections, resumed: reused === o.connections };
    };
    const tcp = await perConnection(overTcp);
    const native = await perConnection(overTls);
    const held = await perConnection(overHeldStream);
    return { connections: o.connections, tcpMs: tcp.ms, tlsMs: native.ms, heldMs: held.ms, resumed: native.resumed && held.resumed, where: 'lab link' };
  } finally {
    child.kill();
  }
}
