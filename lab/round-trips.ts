/**
 * Round trips per file, per server (issue 19): one passive session to each lab server (plain FTP,
 * or explicit FTPS with `--tls`) uploads N small files one after another, then downloads them back
 * (bytes compared), and says how many round trips of the link each file took. Run by
 * scripts/round-trips.mjs inside the client namespace, with the lab's link at the RTT given there
 * (docs/benchmarks.md, "Look-ahead EPSV").
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BudgetGate } from '../src/budget/gate.js';
import { ConnectionLedger } from '../src/budget/ledger.js';
import { FtpSession } from '../src/remote/ftp-session.js';
import { getLab, LAB_SERVERS } from './lab-client.js';
import { labServerConfig } from './lab-config.js';

const args = process.argv.slice(2);
const tls = args.includes('--tls') ? ('explicit' as const) : ('none' as const);
const files = Number(args.find((a) => /^\d+$/.test(a)) ?? 50);
const lab = getLab();
const dir = mkdtempSync(path.join(tmpdir(), 'ftpsync-round-trips-'));
const perFile = (ms: number, rtt: number) => (ms / files / rtt).toFixed(2);
try {
  for (let i = 0; i < files; i++) writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(1000 + i, 97 + (i % 26)));
  console.log(`${tls === 'none' ? 'Plain FTP' : 'Explicit FTPS'}, passive, ${files} files each way, one session:\n`);
  console.log(`| server | round trip (NOOP) | upload: round trips per file | download: round trips per file | EPSV asked ahead |`);
  console.log('|---|---|---|---|---|');
  for (const name of LAB_SERVERS) {
    const s = lab.servers[name];
    await lab.resetRoot(name);
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const session = await FtpSession.open(labServerConfig(s, { dataClose: tls === 'none' ? 'reset' : 'auto', tls }), {
      ledger,
      gate: new BudgetGate(ledger, 1000),
    });
    try {
      const rtt = await session.roundTripMs(5);
      let t = performance.now();
      for (let i = 0; i < files; i++) await session.upload(path.join(dir, `f${i}`), `/f${i}`, { atomic: false });
      const up = performance.now() - t;
      t = performance.now();
      for (let i = 0; i < files; i++) await session.download(`/f${i}`, path.join(dir, `d${i}`));
      const down = performance.now() - t;
      for (let i = 0; i < files; i++)
        if (!readFileSync(path.join(dir, `d${i}`)).equals(readFileSync(path.join(dir, `f${i}`)))) throw new Error(`${name}: f${i} came back different`);
      const ahead = session.shared.lookaheadRefused ? `no: ${session.shared.lookaheadRefused}` : 'yes';
      console.log(`| ${name} | ${rtt} ms | ${perFile(up, rtt)} | ${perFile(down, rtt)} | ${ahead} |`);
    } finally {
      await session.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
