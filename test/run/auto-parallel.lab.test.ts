/**
 * `parallel: auto` in the lab: on the veth LAN the plan keeps 2 sessions; with the latency router
 * at RTT 50 it measures the round trip and runs maxSessions (4), and apply logs in exactly that
 * many sessions. (Wall times against lftp at 20–100 ms are `npm run bench`'s.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt, runCliAsync } from '../cli/helpers.js';
import { compareTrees, generateTree } from '../../lab/fixtures.js';
import { describeLab } from '../lab/harness.js';
import { ours } from './lab-manifest.js';

describeLab('parallel: auto chooses the sessions from the round trip', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-autopar-'));
  const env = { LAB_PASSWORD: lab.servers.vsftpd.password, CI: 'true' };
  let rttBefore = 0;
  beforeAll(() => {
    ensureBuilt();
    rttBefore = lab.rttMs();
  }, 120_000);
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await lab.setRtt(rttBefore);
  }, 30_000);

  it('vsftpd, 40 uploads: 2 sessions on the LAN, 4 (maxSessions) at RTT 50; apply logs in that many; trees equal', async () => {
    const s = lab.servers.vsftpd;
    await lab.resetRoot('vsftpd');
    const local = join(work, 'site');
    generateTree(local, { seed: 91, files: 40, dirs: 2, depth: 1, maxSmall: 2000 });
    const file = join(work, 'ftpsync.yml');
    writeFileSync(
      file,
      `version: 1
servers:
  lab:
    host: ${s.host}
    port: ${s.port}
    user: ${s.user}
    password: \${LAB_PASSWORD}
    tls: none
    firewall: { maxConnections: 100, timeWait: 60s, maxSessions: 4 }
syncs:
  - { name: site, server: lab, direction: upload, local: ${local}, remote: /www }
`,
    );
    const planned = async () => {
      const r = await runCliAsync(['plan', '-c', file, '--format', 'json'], { env, timeoutMs: 60_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { servers: Array<{ parallel: number; parallelChosen?: string; rttMs: number }> }).servers[0]!;
    };
    await lab.setRtt(0);
    const lan = await planned();
    await lab.setRtt(50);
    const wan = await planned();
    console.log(`[measure] parallel auto: LAN rtt ${lan.rttMs.toFixed(2)} ms -> ${lan.parallel}; RTT 50: rtt ${wan.rttMs.toFixed(1)} ms -> ${wan.parallel}`);
    expect(lan.parallel).toBe(2);
    expect(wan.parallel).toBe(4);
    expect(wan.parallelChosen).toMatch(/^auto: round trip 5\d ms$/);

    const r = await runCliAsync(['apply', '-c', file, '--json'], { env, timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.split('\n').findLast((l) => l.startsWith('{"event":"summary"'))!) as {
      results: Array<{ connections: { control: number; data: number } }>;
    };
    // 40 staged uploads and the checksum state file: one data connection each.
    expect(summary.results[0]!.connections).toEqual({ control: 4, data: 41 });
    expect(compareTrees(local, join(s.root, 'www'), ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
  }, 150_000);
});
