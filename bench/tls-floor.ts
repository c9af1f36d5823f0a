/**
 * What a TLS connection costs the client in Node itself (issue 18), as a floor for FTPS: a child
 * process on loopback serves TCP and TLS (the lab's certificate, CA-verified by the client, TLS 1.3,
 * the session resumed as ftpsync's data connections resume it); the bench process opens N
 * connections of each kind one after another, each sending 1 KB and closing, and measures its own
 * CPU per connection. An FTPS file costs one such TLS connection where plain FTP opens a TCP one,
 * so no FTPS client can spend less CPU per file than plain FTP's plus the difference.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

export interface TlsFloor {
  connections: number;
  /** Client CPU per connection, ms. */
  tcpMs: number;
  tlsMs: number;
  /** Every TLS connection after the first resumed the session. */
  resumed: boolean;
}

const SERVER = `
const net = require('node:net'), tls = require('node:tls'), fs = require('node:fs');
const sink = (s) => { s.on('data', () => {}); s.on('end', () => s.end()); s.on('error', () => {}); };
const t = tls.createServer({ key: fs.readFileSync(process.argv[1]), cert: fs.readFileSync(process.argv[2]), allowHalfOpen: true }, sink);
const p = net.createServer({ allowHalfOpen: true }, sink);
t.listen(0, '127.0.0.1', () => p.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ tls: t.address().port, tcp: p.address().port }))));
`;

export async function tlsFloor(o: { keyFile: string; certFile: string; caFile: string; serverName: string; connections: number }): Promise<TlsFloor> {
  const child = spawn(process.execPath, ['-e', SERVER, o.keyFile, o.certFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const ports = await new Promise<{ tls: number; tcp: number }>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as { tls: number; tcp: number }));
      child.once('exit', (code) => reject(new Error(`the TLS floor's server exited (${code})`)));
    });
    const payload = Buffer.alloc(1000, 97);
    const context = tls.createSecureContext({ ca: readFileSync(o.caFile) });
    let session: Buffer | undefined;
    let reused = 0;
    const overTcp = () =>
      new Promise<void>((resolve, reject) => {
        const s = net.connect(ports.tcp, '127.0.0.1', () => s.end(payload));
        s.on('data', () => {});
        s.on('close', () => resolve());
        s.on('error', reject);
      });
    const overTls = () =>
      new Promise<void>((resolve, reject) => {
        const s = tls.connect({ port: ports.tls, host: '127.0.0.1', servername: o.serverName, secureContext: context, ...(session ? { session } : {}) });
        s.on('session', (x: Buffer) => (session = x));
        s.on('secureConnect', () => {
          if (s.isSessionReused()) reused++;
          s.end(payload);
        });
        s.on('data', () => {});
        s.on('close', () => resolve());
        s.on('error', reject);
      });
    const perConnection = async (one: () => Promise<void>) => {
      for (let i = 0; i < 20; i++) await one(); // warm up (and a session to resume)
      reused = 0;
      const before = process.cpuUsage();
      for (let i = 0; i < o.connections; i++) await one();
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000 / o.connections;
    };
    const tcpMs = await perConnection(overTcp);
    const tlsMs = await perConnection(overTls);
    return { connections: o.connections, tcpMs, tlsMs, resumed: reused === o.connections };
  } finally {
    child.kill();
  }
}
