/**
 * FTPS at plain-FTP speed (issue 18): apply over explicit FTPS on the three lab servers (and
 * implicit FTPS on vsftpd) with init's defaults (dataClose auto, timeWait 240s), uploads and
 * downloads at a simulator limit of 100. The TLS reset close leaves the server no TIME_WAIT, so
 * nothing waits and nothing is blocked; the ledger's observation is stored for the next plan.
 * (1,000 files each way is `npm run bench`'s; fewer here to keep CI short.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt, runCliAsync } from '../cli/helpers.js';
import { compareTrees, generateTree } from '../../lab/fixtures.js';
import { describeLab, type LabServerName } from '../lab/harness.js';
import { ours } from './lab-manifest.js';

const FILES = 100;
const TARGETS: Array<{ server: LabServerName; tls: 'explicit' | 'implicit' }> = [
  { server: 'vsftpd', tls: 'explicit' },
  { server: 'vsftpd', tls: 'implicit' },
  { server: 'pure-ftpd', tls: 'explicit' },
  { server: 'proftpd', tls: 'explicit' },
];

describeLab('apply over FTPS with the TLS reset close', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-ftps-'));
  const env = { LAB_PASSWORD: lab.servers.vsftpd.password, CI: 'true' };
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await lab.disarmFirewall();
  }, 60_000);

  for (const { server: name, tls } of TARGETS) {
    it(`${name}, ${tls} FTPS: ${FILES} uploads and ${FILES} downloads at a limit of 100: never blocked, server TIME_WAIT at peak <= 2, trees byte-equal`, async () => {
      await lab.resetRoot(name);
      const s = lab.servers[name];
      const upLocal = join(work, `up-${name}-${tls}`);
      generateTree(upLocal, { seed: 81, files: FILES, dirs: 10, depth: 2, maxSmall: 2000 });
      const dlRemote = join(s.root, 'dl');
      generateTree(dlRemote, { seed: 83, files: FILES, dirs: 10, depth: 2, maxSmall: 2000 });
      await lab.chownRoot(name);
      const dlLocal = join(work, `dl-${name}-${tls}`);
      const dir = mkdtempSync(join(work, 'm-'));
      const file = join(dir, 'ftpsync.yml');
      writeFileSync(
        file,
        `version: 1
servers:
  lab:
    host: ${s.host}
    port: ${tls === 'implicit' ? s.implicitTlsPort : s.port}
    user: ${s.user}
    password: \${LAB_PASSWORD}
    tls: ${tls}
    ca: ${s.caFile}
    firewall: { maxConnections: 100, timeWait: 240s }
syncs:
  - { name: up, server: lab, direction: upload, local: ${upLocal}, remote: /up }
  - { name: dl, server: lab, direction: download, local: ${dlLocal}, remote: /dl }
`,
      );
      await lab.armFirewall({ limit: 100, blockMs: 30_000, intervalMs: 100 }, 0);
      const started = Date.now();
      const r = await runCliAsync(['apply', '-c', file], { env, timeoutMs: 150_000 });
      const wallMs = Date.now() - started;
      const stats = await lab.firewall.stats();
      const closes = JSON.parse(readFileSync(join(dir, '.ftpsync', 'closes.json'), 'utf8')) as Record<string, Record<string, number>>;
      const seen = Object.values(closes)[0]!;
      console.log(
        `[measure] ${name} ${tls} FTPS, ${FILES} up + ${FILES} down @100, timeWait 240s: code ${r.code}, ${(wallMs / 1000).toFixed(1)} s, firewall peak ${stats.peak} (TIME_WAIT ${stats.peakTimeWait}), blocks ${stats.blocks.length}; closes ${JSON.stringify(seen)}`,
      );
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(stats.blocks).toEqual([]);
      expect(stats.peakTimeWait).toBeLessThanOrEqual(2);
      // Every transfer got its 226: apply counts only completed ones.
      expect(r.stdout).toMatch(new RegExp(`${FILES} upload`));
      expect(r.stdout).toMatch(new RegExp(`${FILES} download`));
      expect(r.stdout + r.stderr).not.toMatch(/rejected the TLS reset close/);
      expect(compareTrees(upLocal, join(s.root, 'up'), ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
      expect(compareTrees(dlRemote, dlLocal, ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
      // The ledger saw the transfers end with a reset (ours, or under load now and then the
      // server's, racing our close_notify), at most 2 otherwise; that is what the next plan counts by.
      expect(seen.server! + seen.unknown! + seen.client!).toBeLessThanOrEqual(2);
      expect(seen.reset).toBeGreaterThanOrEqual(2 * FILES - 2);
      // Nothing waited out a TIME_WAIT (245 s each).
      expect(wallMs).toBeLessThan(60_000);
    }, 170_000);
  }

  it("pure-ftpd: `ftpsync plan` for 3,000 uploads with init's defaults: FTPS plans like plain FTP, the normal TLS close at hours", async () => {
    const s = lab.servers['pure-ftpd'];
    const local = join(work, 'plan3000');
    generateTree(local, { seed: 85, files: 3000, dirs: 30, depth: 2, maxSmall: 2000 });
    const eta = (tls: string, dataClose?: string) => {
      const dir = mkdtempSync(join(work, 'p-'));
      const file = join(dir, 'ftpsync.yml');
      writeFileSync(
        file,
        `version: 1\nservers:\n  lab:\n    host: ${s.host}\n    port: ${s.port}\n    user: ${s.user}\n    password: \${LAB_PASSWORD}\n    tls: ${tls}\n    ca: ${s.caFile}\n${dataClose ? `    dataClose: ${dataClose}\n` : ''}    firewall: { maxConnections: 100, timeWait: 240s }\nsyncs:\n  - { name: up, server: lab, direction: upload, local: ${local}, remote: /plan3000 }\n`,
      );
      return runCliAsync(['plan', '-c', file, '--format', 'json'], { env, timeoutMs: 60_000 }).then((r) => {
        expect(r.code, r.stdout + r.stderr).toBe(0);
        return (JSON.parse(r.stdout) as { servers: Array<{ etaMs: number }> }).servers[0]!.etaMs;
      });
    };
    const plain = await eta('none');
    const ftps = await eta('explicit');
    const ftpsNormal = await eta('explicit', 'normal');
    console.log(
      `[measure] plan, 3,000 uploads to pure-ftpd, init defaults: plain FTP ETA ${(plain / 1000).toFixed(1)} s, FTPS (dataClose auto) ${(ftps / 1000).toFixed(1)} s, FTPS with dataClose normal ${Math.round(ftpsNormal / 1000)} s`,
    );
    expect(ftps).toBeLessThanOrEqual(2 * plain);
    expect(ftpsNormal).toBeGreaterThan(3_600_000);
  }, 120_000);
});
