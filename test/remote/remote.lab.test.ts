/**
 * The remote layer in-process against the three lab servers: FTPS round trips in passive and
 * active mode, the ledger's count against the server's real sockets, STAT listings of a
 * 50-directory tree, and the server-side TIME_WAIT each close policy leaves per 100 downloads.
 *
 * The counting tests compare *deltas* of the server's sockets, so they start after one wait for a
 * quiet server and finish within 60 s of it (before any TIME_WAIT they created expires).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import type { ServerConfig } from '../../src/manifest/types.js';
import { makeSecret } from '../../src/manifest/secret.js';
import { createRemotePool } from '../../src/remote/pool.js';
import type { RemotePool } from '../../src/remote/types.js';
import { compareTrees, generateTree } from '../../lab/fixtures.js';
import { describeLab, type Lab, type LabServerName } from '../lab/harness.js';

const SERVERS: LabServerName[] = ['vsftpd', 'pure-ftpd', 'proftpd'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function serverConfig(
  lab: Lab,
  name: LabServerName,
  o: { tls: ServerConfig['tls']; mode: ServerConfig['mode']; dataClose: ServerConfig['dataClose'] },
): ServerConfig {
  const s = lab.servers[name];
  return {
    name,
    host: s.host,
    port: s.port,
    user: s.user,
    password: makeSecret(s.password, 'lab'),
    tls: o.tls,
    verifyCertificate: true,
    ca: s.caFile,
    mode: o.mode,
    timeouts: { connectMs: 10_000, dataMs: 15_000 },
    dataClose: o.dataClose,
    listing: 'auto',
    firewall: { maxConnections: 1000, timeWaitMs: 60_000, headroom: 1, parallel: 1, maxSessions: 4, onBlock: { policy: 'stop', maxWaitMs: 1000 } },
  };
}

function poolFor(cfg: ServerConfig): { pool: RemotePool; ledger: ConnectionLedger } {
  const ledger = new ConnectionLedger({ timeWaitMs: cfg.firewall.timeWaitMs });
  const gate = new BudgetGate(ledger, 1000);
  return { pool: createRemotePool(cfg, { ledger, gate }), ledger };
}

/** Upload the local tree (directories first) under remoteRoot; returns the files' relative paths. */
async function uploadTree(pool: RemotePool, local: string, files: string[], remoteRoot: string): Promise<void> {
  await pool.withSession(async (s) => {
    const dirs = new Set(files.map((f) => f.split('/').slice(0, -1).join('/')));
    for (const d of [...dirs].sort()) await s.mkdir(d ? `${remoteRoot}/${d}` : remoteRoot);
    for (const f of files) await s.upload(join(local, f), `${remoteRoot}/${f}`, { atomic: true });
  });
}

async function downloadTree(pool: RemotePool, files: string[], remoteRoot: string, target: string): Promise<void> {
  await pool.withSession(async (s) => {
    for (const f of files) {
      mkdirSync(join(target, f, '..'), { recursive: true });
      await s.download(`${remoteRoot}/${f}`, join(target, f));
    }
  });
}

describeLab('the remote layer against the lab servers', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-remote-'));
  beforeAll(async () => {
    await lab.firewall.configure({ limit: null, intervalMs: 1000 });
    for (const n of SERVERS) await lab.resetRoot(n);
  }, 60_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  describe('explicit FTPS round trips, byte for byte', () => {
    for (const name of SERVERS) {
      for (const mode of ['passive', 'active'] as const) {
        it(`${name}, ${mode}: upload then download a tree with exotic names`, async () => {
          const local = join(work, `rt-${name}-${mode}`);
          const files = generateTree(local, { seed: 5, files: 25, dirs: 5, depth: 2, maxSmall: 3000, largeFiles: 1, largeSize: 2 * 1024 * 1024, exotic: true });
          const { pool, ledger } = poolFor(serverConfig(lab, name, { tls: 'explicit', mode, dataClose: 'normal' }));
          const started = Date.now();
          try {
            await uploadTree(pool, local, files, `/rt-${mode}`);
            await downloadTree(pool, files, `/rt-${mode}`, join(work, `back-${name}-${mode}`));
          } finally {
            await pool.close();
          }
          console.log(
            `[measure] ${name} FTPS ${mode}: ${files.length} files up and down in ${Date.now() - started} ms, ${JSON.stringify(ledger.totals())} connections`,
          );
          expect(compareTrees(local, join(lab.servers[name].root, `rt-${mode}`)).equal).toBe(true);
          expect(compareTrees(local, join(work, `back-${name}-${mode}`))).toEqual({ equal: true, missing: [], extra: [], different: [] });
          expect(ledger.totals()).toEqual({ control: 1, data: files.length * 2 });
        }, 120_000);
      }
    }
  });

  describe('counting, in one minute after a quiet server', () => {
    beforeAll(async () => {
      await lab.dropClientSockets();
      await lab.waitQuiet();
    }, 120_000);

    for (const name of SERVERS) {
      it(`${name}: the ledger counts what the server holds, after 30 downloads and 30 uploads (plain FTP, normal close)`, async () => {
        const local = join(work, `count-${name}`);
        const files = generateTree(local, { seed: 9, files: 30, dirs: 1, maxSmall: 400 });
        const cfg = serverConfig(lab, name, { tls: 'none', mode: 'passive', dataClose: 'normal' });
        const { pool, ledger } = poolFor(cfg);
        const before = await lab.serverSockets();
        try {
          await uploadTree(pool, local, files, '/count');
          await downloadTree(pool, files, '/count', join(work, `count-back-${name}`));
          // Past the 1 s the ledger allows a client-closed socket, well inside TIME_WAIT.
          await sleep(1_500);
          const after = await lab.serverSockets();
          const ledgerCount = ledger.counted(Date.now());
          console.log(
            `[measure] ${name}: ledger counts ${ledgerCount}, the server holds ${after.total - before.total} more sockets for us (${after.timeWait - before.timeWait} more TIME_WAIT): ${JSON.stringify(after.byState)}`,
          );
          // 30 downloads in TIME_WAIT + the live control connection; uploads left nothing.
          expect(ledgerCount).toBe(31);
          expect(after.total - before.total).toBe(ledgerCount);
        } finally {
          await pool.close();
        }
      }, 60_000);
    }

    it('server-side TIME_WAIT per 100 downloads: passive/active x normal/reset close, every transfer complete', async () => {
      const rows: string[] = [];
      const results: Record<string, number> = {};
      for (const name of SERVERS) {
        const remote = join(lab.servers[name].root, 'tw');
        const files = generateTree(remote, { seed: 13, files: 100, dirs: 1, maxSmall: 200 });
        await lab.chownRoot(name);
        for (const mode of ['passive', 'active'] as const) {
          for (const dataClose of ['normal', 'reset'] as const) {
            const { pool } = poolFor(serverConfig(lab, name, { tls: 'none', mode, dataClose }));
            const target = join(work, `tw-${name}-${mode}-${dataClose}`);
            const before = await lab.serverSockets();
            let complete = 0;
            try {
              await pool.withSession(async (s) => {
                for (const f of files) {
                  mkdirSync(join(target, f, '..'), { recursive: true });
                  await s.download(`/tw/${f}`, join(target, f));
                  complete++;
                }
              });
              await sleep(300);
              const after = await lab.serverSockets();
              const tw = after.timeWait - before.timeWait;
              results[`${name}/${mode}/${dataClose}`] = tw;
              rows.push(`| ${name} | ${mode} | ${dataClose} | ${tw} | ${complete}/100 |`);
            } finally {
              await pool.close();
            }
            expect(complete).toBe(100);
            expect(compareTrees(remote, target).equal).toBe(true);
          }
        }
      }
      console.log(
        `[measure] TIME_WAIT per 100 downloads\n| server | mode | close | server TIME_WAIT left | transfers with 226 |\n|---|---|---|---|---|\n${rows.join('\n')}`,
      );
      for (const name of SERVERS) {
        // A normal close leaves one TIME_WAIT per download on the server; the reset close none.
        expect(results[`${name}/passive/normal`]).toBeGreaterThanOrEqual(95);
        expect(results[`${name}/passive/reset`]).toBeLessThanOrEqual(2);
        expect(results[`${name}/active/reset`]).toBeLessThanOrEqual(2);
      }
    }, 120_000);
  });

  describe('listing a 50-directory tree', () => {
    for (const name of SERVERS) {
      it(`${name}: STAT over the control connection, 0 data connections, every entry (dot names too)`, async () => {
        const remote = join(lab.servers[name].root, 'fifty');
        const files = generateTree(remote, { seed: 17, files: 120, dirs: 50, depth: 4, maxSmall: 100, exotic: true });
        // Dot names: pure-ftpd (without -D) lists them only when asked with -a.
        mkdirSync(join(remote, '.well-known'));
        writeFileSync(join(remote, '.well-known', 'security.txt'), 'x');
        writeFileSync(join(remote, '.htaccess'), 'x');
        files.push('.htaccess', '.well-known/security.txt');
        await lab.chownRoot(name);
        const { pool, ledger } = poolFor(serverConfig(lab, name, { tls: 'explicit', mode: 'passive', dataClose: 'normal' }));
        try {
          const result = await pool.withSession((s) => s.listTree('/fifty'));
          const listedFiles = [...result.tree]
            .filter(([, e]) => e.type === 'file')
            .map(([p]) => p)
            .sort();
          const listedDirs = [...result.tree].filter(([, e]) => e.type === 'dir').length;
          console.log(
            `[measure] ${name}: listed ${listedFiles.length} files in ${listedDirs} directories with ${result.strategy}, ${result.dataConnections} data connections (ledger: ${ledger.totals().data})`,
          );
          expect(result.strategy).toBe('stat');
          expect(result.dataConnections).toBe(0);
          expect(ledger.totals().data).toBe(0);
          expect(listedDirs).toBe(51);
          expect(listedFiles).toEqual([...files].sort());
        } finally {
          await pool.close();
        }
      }, 60_000);
    }
  });
});
