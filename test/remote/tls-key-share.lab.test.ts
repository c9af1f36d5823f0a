/**
 * The key share of FTPS data connections on the lab's real servers: vsftpd and pure-ftpd take only
 * P-256 and answer Node's default key share (X25519) with a HelloRetryRequest. A data connection
 * offers the group its control connection agreed on, so every one of them sends a single
 * ClientHello (one round trip less per file than before, on those two servers).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TLSSocket } from 'node:tls';
import { afterAll, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import { FtpSession } from '../../src/remote/ftp-session.js';
import { labServerConfig } from '../../lab/lab-config.js';
import { describeLab } from '../lab/harness.js';
import { LAB_SERVERS } from '../../lab/lab-client.js';
import { clientHellosIn } from './tls-records.js';

const FILES = 6;

/** ClientHello records written on plain TCP sockets (a data connection's, under its TLS) while `fn` runs. */
async function countingClientHellos<T>(fn: () => Promise<T>): Promise<{ result: T; hellos: number }> {
  const proto = net.Socket.prototype as unknown as { write: (this: net.Socket, chunk: unknown, ...rest: unknown[]) => boolean };
  const own = Object.prototype.hasOwnProperty.call(proto, 'write');
  const original = proto.write;
  let hellos = 0;
  proto.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
    if (!(this instanceof TLSSocket) && Buffer.isBuffer(chunk)) hellos += clientHellosIn(chunk);
    return original.call(this, chunk, ...rest);
  };
  try {
    return { result: await fn(), hellos };
  } finally {
    if (own) proto.write = original;
    else delete (proto as { write?: unknown }).write;
  }
}

describeLab('the key share of FTPS data connections', (lab) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ftpsync-key-share-lab-'));
  for (let i = 0; i < FILES; i++) writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(i * 3_000, 65 + i));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of LAB_SERVERS) {
    it(`${name}: one ClientHello per data connection, files up and back equal`, async () => {
      await lab.resetRoot(name);
      const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
      const session = await FtpSession.open(labServerConfig(lab.servers[name], { dataClose: 'auto', tls: 'explicit' }), {
        ledger,
        gate: new BudgetGate(ledger, 80),
      });
      const { hellos } = await countingClientHellos(async () => {
        try {
          for (let i = 0; i < FILES; i++) await session.upload(path.join(dir, `f${i}`), `/f${i}`, { atomic: false });
          for (let i = 0; i < FILES; i++) await session.download(`/f${i}`, path.join(dir, `${name}-back${i}`));
        } finally {
          await session.close();
        }
      });
      for (let i = 0; i < FILES; i++) expect(readFileSync(path.join(dir, `${name}-back${i}`)).equals(readFileSync(path.join(dir, `f${i}`)))).toBe(true);
      expect(ledger.totals().data).toBe(2 * FILES);
      expect(hellos).toBe(2 * FILES);
    });
  }
});
