/**
 * The look-ahead EPSV on the lab's real servers (passive, plain FTP and explicit FTPS): each STOR
 * and RETR goes out with the next transfer's EPSV in the same write, and vsftpd, pure-ftpd and
 * proftpd answer it after the transfer's 226, so a session asks for a port on its own only once
 * (over FTPS, plus once after each of the first transfers each way, which the reset close's
 * short-file check follows with a SIZE). Files up and back byte for byte; the round trips this
 * saves are measured by `npm run lab:round-trips [-- --tls]` and the bench.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import { CHECKED_TRANSFERS } from '../../src/remote/close-fallback.js';
import { FtpSession } from '../../src/remote/ftp-session.js';
import { labServerConfig } from '../../lab/lab-config.js';
import { describeLab } from '../lab/harness.js';
import { LAB_SERVERS } from '../../lab/lab-client.js';

const FILES = 12;

describeLab('look-ahead EPSV on the lab servers', (lab) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ftpsync-lookahead-lab-'));
  // Sizes from empty to 200 KB: a transfer that takes several reads on the server still leaves the EPSV in its command buffer.
  const sizes = Array.from({ length: FILES }, (_, i) => (i === 0 ? 0 : i * 17_000));
  for (let i = 0; i < FILES; i++) writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(sizes[i]!, 97 + i));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, tls] of LAB_SERVERS.flatMap((n) => [[n, 'none'] as const, [n, 'explicit'] as const])) {
    // The reset close checks the first transfers each way with SIZE, which spends the port asked ahead.
    const ownEpsv = tls === 'none' ? 1 : 1 + 2 * CHECKED_TRANSFERS;
    it(`${name}, TLS ${tls}: ${ownEpsv} EPSV of its own, every other port asked ahead; ${FILES} files up and back equal`, async () => {
      await lab.resetRoot(name);
      const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
      const sent: string[] = [];
      const trace = (l: string) => {
        if (l.startsWith('> ')) sent.push(l.slice(2));
      };
      const session = await FtpSession.open(labServerConfig(lab.servers[name], { dataClose: tls === 'none' ? 'reset' : 'auto', tls }), {
        ledger,
        gate: new BudgetGate(ledger, 80),
        trace,
      });
      try {
        for (let i = 0; i < FILES; i++) await session.upload(path.join(dir, `f${i}`), `/f${i}`, { atomic: false });
        for (let i = 0; i < FILES; i++) await session.download(`/f${i}`, path.join(dir, `${name}-${tls}-back${i}`));
      } finally {
        await session.close();
      }
      for (let i = 0; i < FILES; i++) expect(readFileSync(path.join(dir, `${name}-${tls}-back${i}`)).equals(readFileSync(path.join(dir, `f${i}`)))).toBe(true);
      expect(session.shared.lookaheadRefused).toBeUndefined();
      const transfers = sent.filter((l) => /^(STOR|RETR) /.test(l));
      expect(transfers).toHaveLength(2 * FILES);
      const alone = sent.filter((l, i) => l === 'EPSV' && !/^(STOR|RETR) /.test(sent[i - 1] ?? ''));
      expect(alone).toHaveLength(ownEpsv);
      if (tls !== 'none') expect(session.shared.tlsClose).toBeUndefined();
      expect(ledger.totals().data).toBe(2 * FILES);
    });
  }
});
