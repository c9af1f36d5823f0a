/**
 * Servers that drop idle sessions, through a budget pause longer than their idle timeout:
 * vsftpd idle_session_timeout=20 (s) and pure-ftpd -I 1 (min). 40 downloads at a limit of 30
 * pause ~63 s between two phases. The pool's NOOPs keep both sessions logged in, so the run uses
 * the 2 control connections it started with (a reconnect would be a counted connection and the
 * server's close a TIME_WAIT), does not stall after the pause, and sends each file once.
 * Both servers run at once (the simulator's limit is the sum of their two budgets).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt, runCliAsync } from '../cli/helpers.js';
import { compareTrees, generateTree } from '../../lab/fixtures.js';
import { describeLab, type Lab } from '../lab/harness.js';

type IdleServer = 'vsftpd' | 'pure-ftpd';
const SERVERS: Array<{ name: IdleServer; idleSeconds: number }> = [
  { name: 'vsftpd', idleSeconds: 20 },
  { name: 'pure-ftpd', idleSeconds: 60 },
];

async function prepare(lab: Lab, work: string, name: IdleServer, seed: number): Promise<{ manifest: string; local: string }> {
  const s = lab.servers[name];
  await lab.resetRoot(name);
  generateTree(join(s.root, 'site'), { seed, files: 40, dirs: 3, depth: 1, maxSmall: 600 });
  await lab.chownRoot(name);
  const local = join(work, name);
  const manifest = join(work, `${name}.yml`);
  writeFileSync(
    manifest,
    `version: 1
servers:
  ${name}:
    host: ${s.host}
    port: ${s.port}
    user: ${s.user}
    password: \${LAB_PASSWORD}
    tls: none
    firewall: { maxConnections: 30, timeWait: 60s, headroom: 0.8, parallel: 2, maxSessions: 4 }
syncs:
  - { name: site, server: ${name}, direction: download, local: ${local}, remote: /site }
`,
  );
  return { manifest, local };
}

describeLab('idle timeouts during budget pauses', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-idle-'));
  beforeAll(async () => {
    ensureBuilt();
    for (const s of SERVERS) await lab.setIdleTimeout(s.name, s.idleSeconds);
  }, 120_000);
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    // Back to the servers' defaults for the files after this one.
    for (const s of SERVERS) await lab.setIdleTimeout(s.name, null);
    // The restarts closed sessions server-side: their TIME_WAIT would hold up the next file's waitQuiet.
    await lab.dropClientSockets().catch(() => undefined);
    await lab.clearTimeWait();
    await lab.disarmFirewall();
  }, 60_000);

  it('vsftpd idle_session_timeout=20 and pure-ftpd -I 1: a 63 s pause, 2 control connections each, no stall, exit 0, each file sent once', async () => {
    const runs = await Promise.all(SERVERS.map((s, i) => prepare(lab, work, s.name, 40 + i)));
    await lab.armFirewall({ limit: 60 });
    const started = Date.now();
    const results = await Promise.all(
      SERVERS.map((s, i) =>
        runCliAsync(['apply', '-c', runs[i]!.manifest], { env: { LAB_PASSWORD: lab.servers[s.name].password, CI: 'true' }, timeoutMs: 200_000 }),
      ),
    );
    const wallMs = Date.now() - started;
    const stats = await lab.firewall.stats();
    for (const [i, r] of results.entries()) {
      const name = SERVERS[i]!.name;
      const out = r.stdout + r.stderr;
      expect(r.code, out).toBe(0);
      expect(out, `${name} paused`).toMatch(/pausing (\d+m)?\d+s/);
      // The sessions it logged in with, and no more: nothing reconnected after the pause.
      expect(out, name).toMatch(/connections 2 control \+ 40 data/);
      // 40 downloads, 40 data connections: no file was fetched twice.
      expect(out, name).toMatch(/\b40 download\b/);
      expect(compareTrees(join(lab.servers[name].root, 'site'), runs[i]!.local).equal, name).toBe(true);
    }
    expect(stats.blocks).toEqual([]);
    // One ~63 s pause plus two phases of 20 downloads each: a stall of a timeout (~19 s before) would show.
    expect(wallMs).toBeLessThan(80_000);
  }, 220_000);
});
