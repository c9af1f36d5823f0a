/**
 * The TLS close experiment (`node scripts/tls-close-experiment.mjs [files] [--active]`): per lab
 * server (explicit FTPS, and implicit on vsftpd), transfer `files` small files each way with each
 * candidate close sequence of src/remote/tls-close.ts, and count the server-side TIME_WAIT sockets
 * the client left (ss on the server, right after), whether every transfer got its 226 and whether
 * the bytes match. Prints a markdown table (docs/lab.md, "TLS data connections: the close").
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BudgetGate } from '../src/budget/gate.js';
import { ConnectionLedger } from '../src/budget/ledger.js';
import { makeSecret } from '../src/manifest/secret.js';
import type { ServerConfig } from '../src/manifest/types.js';
import { FtpSession } from '../src/remote/ftp-session.js';
import type { TlsCloseSequence } from '../src/remote/tls-close.js';
import { compareTrees, generateTree } from './fixtures.js';
import { getLab, labUnavailableReason, type LabServerName } from './lab-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const args = process.argv.slice(2);
const FILES = Number(args.find((a) => /^\d+$/.test(a)) ?? 100);
const MODES: Array<ServerConfig['mode']> = args.includes('--active') ? ['passive', 'active'] : ['passive'];
const SEQUENCES: TlsCloseSequence[] = ['normal', 'reset'];

interface Target {
  server: LabServerName;
  tls: 'explicit' | 'implicit';
}

function configFor(t: Target, mode: ServerConfig['mode']): ServerConfig {
  const s = getLab().servers[t.server];
  return {
    name: `${t.server}${t.tls === 'implicit' ? '-implicit' : ''}`,
    host: s.host,
    port: t.tls === 'implicit' ? s.implicitTlsPort! : s.port,
    user: s.user,
    password: makeSecret(s.password, 'lab'),
    tls: t.tls,
    verifyCertificate: true,
    ca: s.caFile,
    mode,
    timeouts: { connectMs: 10_000, dataMs: 15_000 },
    dataClose: 'auto',
    listing: 'auto',
    firewall: { maxConnections: 10_000, timeWaitMs: 60_000, headroom: 1, parallel: 1, maxSessions: 4, onBlock: { policy: 'stop', maxWaitMs: 1000 } },
  };
}

interface Row {
  target: string;
  mode: string;
  direction: 'upload' | 'download';
  sequence: TlsCloseSequence;
  timeWait: number;
  ok: number;
  failed: string[];
  bytesEqual: boolean;
  closedBy: Record<string, number>;
  protocol: string;
  resumed: boolean | null;
  warnings: string[];
  ms: number;
}

async function run(t: Target, mode: ServerConfig['mode'], direction: 'upload' | 'download', sequence: TlsCloseSequence, work: string): Promise<Row> {
  const lab = getLab();
  const cfg = configFor(t, mode);
  const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
  const gate = new BudgetGate(ledger, 10_000);
  const shared = { warnings: new Set<string>(), tlsClose: sequence };
  const src = join(work, `src-${cfg.name}-${mode}-${direction}-${sequence}`);
  const remoteDir = `exp-${cfg.name}-${mode}-${direction}-${sequence}`;
  const serverDir = join(lab.servers[t.server].root, remoteDir);
  const files = generateTree(direction === 'upload' ? src : serverDir, { seed: 21, files: FILES, dirs: 1, maxSmall: 2000 });
  if (direction === 'download') await lab.chownRoot(t.server);
  const back = join(work, `back-${cfg.name}-${mode}-${direction}-${sequence}`);
  const s = await FtpSession.open(cfg, { ledger, gate, shared });
  await lab.clearTimeWait();
  await sleep(200);
  const before = await lab.serverSockets();
  const started = Date.now();
  let ok = 0;
  const failed: string[] = [];
  try {
    if (direction === 'upload') for (const d of new Set(files.map((f) => f.split('/').slice(0, -1).join('/')))) await s.mkdir(`/${remoteDir}/${d}`);
    for (const f of files) {
      try {
        if (direction === 'upload') await s.upload(join(src, f), `/${remoteDir}/${f}`, { atomic: false });
        else {
          mkdirSync(join(back, f, '..'), { recursive: true });
          await s.download(`/${remoteDir}/${f}`, join(back, f));
        }
        ok++;
      } catch (e) {
        failed.push(`${f}: ${e instanceof Error ? e.message : String(e)}`.slice(0, 160));
      }
    }
  } finally {
    // Before the control connection closes: what the data connections left.
    await sleep(400);
  }
  const after = await lab.serverSockets();
  const ms = Date.now() - started;
  const protocol = s.controlSocket && 'getProtocol' in s.controlSocket ? String((s.controlSocket as import('node:tls').TLSSocket).getProtocol()) : '?';
  const resumed = s.dataTlsResumed;
  await s.close();
  const closedBy: Record<string, number> = {};
  for (const r of ledger.all()) if (r.kind === 'data') closedBy[r.closedBy ?? 'open'] = (closedBy[r.closedBy ?? 'open'] ?? 0) + 1;
  const bytesEqual = direction === 'upload' ? compareTrees(src, serverDir).equal : compareTrees(serverDir, back).equal;
  return {
    target: `${t.server} ${t.tls}`,
    mode,
    direction,
    sequence,
    timeWait: after.timeWait - before.timeWait,
    ok,
    failed,
    bytesEqual,
    closedBy,
    protocol,
    resumed,
    warnings: [...shared.warnings],
    ms,
  };
}

async function main(): Promise<void> {
  const reason = labUnavailableReason();
  if (reason) throw new Error(reason);
  const lab = getLab();
  await lab.disarmFirewall();
  const targets: Target[] = [
    { server: 'vsftpd', tls: 'explicit' },
    { server: 'vsftpd', tls: 'implicit' },
    { server: 'pure-ftpd', tls: 'explicit' },
    { server: 'proftpd', tls: 'explicit' },
  ];
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-tls-close-'));
  const rows: Row[] = [];
  try {
    for (const t of targets) {
      await lab.resetRoot(t.server);
      for (const mode of MODES)
        for (const direction of ['upload', 'download'] as const)
          for (const sequence of SEQUENCES) {
            const row = await run(t, mode, direction, sequence, work);
            rows.push(row);
            process.stderr.write(`${JSON.stringify(row)}\n`);
          }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const out = [
    `${FILES} small files per row (≤ 2,000 bytes), one session, server-side TIME_WAIT for the client 0.4 s after the last transfer`,
    '',
    '| server | mode | direction | close sequence | server TIME_WAIT left | transfers with 226 | bytes equal | the ledger saw (closed by) | TLS | data session resumed | wall |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.target} | ${r.mode} | ${r.direction} | ${r.sequence} | ${r.timeWait} | ${r.ok}/${FILES} | ${r.bytesEqual ? 'yes' : 'no'} | ${Object.entries(
          r.closedBy,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} | ${r.protocol} | ${r.resumed === null ? '—' : r.resumed ? 'yes' : 'no'} | ${(r.ms / 1000).toFixed(1)} s |`,
    ),
  ];
  console.log(out.join('\n'));
  for (const r of rows)
    if (r.failed.length || r.warnings.length)
      console.log(`${r.target} ${r.mode} ${r.direction} ${r.sequence}: ${[...r.failed.slice(0, 3), ...r.warnings].join(' | ')}`);
}

await main();
