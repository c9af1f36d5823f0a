/**
 * The pacing itself, with Linux's real 60 s TIME_WAIT: a plain-FTP download leaves one
 * server-side TIME_WAIT per file, more than the limit allows at once, and apply must pause until
 * they expire instead of getting blocked.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt, runCli, runCliAsync } from '../cli/helpers.js';
import { compareTrees, generateTree } from '../../lab/fixtures.js';
import { describeLab } from './harness.js';

describeLab('pacing downloads through real TIME_WAIT', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-pacing-'));
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await lab.firewall.configure({ limit: null, intervalMs: 1000 });
    await lab.firewall.reset();
  });

  it('pure-ftpd: 40 downloads at a limit of 30 (budget 22): one exact pause, never blocked, peak <= 30, mostly TIME_WAIT, trees equal', async () => {
    const s = lab.servers['pure-ftpd'];
    // What earlier files left (a restarted server's closed sessions): gone now, not in 60 s.
    await lab.dropClientSockets();
    await lab.clearTimeWait();
    await lab.waitQuiet();
    await lab.resetRoot('pure-ftpd');
    generateTree(join(s.root, 'logs'), { seed: 12, files: 40, dirs: 3, depth: 1, maxSmall: 600 });
    await lab.chownRoot('pure-ftpd');
    const local = join(work, 'down');
    const file = join(work, 'down.yml');
    writeFileSync(
      file,
      `version: 1
servers:
  pure:
    host: ${s.host}
    port: ${s.port}
    user: ${s.user}
    password: \${LAB_PASSWORD}
    tls: none
    firewall: { maxConnections: 30, timeWait: 60s, headroom: 0.8, parallel: 2, maxSessions: 4 }
syncs:
  - { name: logs, server: pure, direction: download, local: ${local}, remote: /logs }
`,
    );
    const env = { LAB_PASSWORD: s.password, CI: 'true' };
    const plan = runCli(['plan', '-c', file], { env, timeoutMs: 60_000 });
    expect(plan.stdout).toMatch(/phase 1: \d+ action\(s\), 22 counted connection\(s\), ~[\d.]+s, then pause 1m0[3-5]s/);
    await lab.waitQuiet();
    await lab.firewall.reset();
    await lab.firewall.configure({ limit: 30, blockMs: 30_000, intervalMs: 200 });
    const started = Date.now();
    const r = await runCliAsync(['apply', '-c', file], { env, timeoutMs: 200_000 });
    const stats = await lab.firewall.stats();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pausing (\d+m)?\d+s: \d+\/24 connections still counted by the firewall/);
    expect(stats.blocks).toEqual([]);
    expect(stats.peak).toBeLessThanOrEqual(30);
    // What was counted was TIME_WAIT: the pause, not luck, kept us under the limit.
    expect(stats.peakTimeWait).toBeGreaterThan(15);
    expect(Date.now() - started).toBeGreaterThan(55_000);
    expect(compareTrees(join(s.root, 'logs'), local).equal).toBe(true);
  }, 260_000);
});
