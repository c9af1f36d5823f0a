/**
 * `ftpsync probe` against the three lab servers, over explicit FTPS and plain FTP: the findings
 * are what these servers really do, the temporary directory is gone afterwards, the connection
 * count is small and the recommended YAML is a valid server block.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadManifest } from '../../src/manifest/load.js';
import type { ProbeFindings } from '../../src/probe/probe.js';
import { ensureBuilt, runCliAsync } from '../cli/helpers.js';
import { describeLab, type LabServerName } from '../lab/harness.js';

const SERVERS: LabServerName[] = ['vsftpd', 'pure-ftpd', 'proftpd'];

interface ProbeJson {
  servers: Array<{ server: string; findings?: ProbeFindings; recommended?: Record<string, unknown>; recommendedYaml?: string; error?: string }>;
}

describeLab('ftpsync probe', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-probe-test-'));
  const file = join(work, 'ftpsync.yml');
  const env = { LAB_PASSWORD: lab.servers.vsftpd.password, CI: 'true' };
  beforeAll(async () => {
    ensureBuilt();
    await lab.firewall.configure({ limit: null, intervalMs: 1000 });
    const block = (name: LabServerName, tls: 'explicit' | 'none') => {
      const s = lab.servers[name];
      return `  ${name}-${tls}:\n    host: ${s.host}\n    port: ${s.port}\n    user: ${s.user}\n    password: \${LAB_PASSWORD}\n    tls: ${tls}\n    ca: ${s.caFile}\n    firewall: { maxConnections: 100, timeWait: 60s }\n`;
    };
    const servers = SERVERS.flatMap((n) => [block(n, 'explicit'), block(n, 'none')]).join('');
    const all = SERVERS.flatMap((n) => [`${n}-explicit`, `${n}-none`]).join(', ');
    writeFileSync(
      file,
      `version: 1\nservers:\n${servers}syncs:\n  - { name: site, servers: [${all}], direction: upload, local: ${work}, remote: /probe-root }\n`,
    );
    for (const n of SERVERS) {
      await lab.resetRoot(n);
    }
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  for (const name of SERVERS) {
    it(`${name}: explicit FTPS and plain FTP, findings as measured, temp dir removed, few connections, valid advice`, async () => {
      // The probe writes below the sync's remote dir; it must exist (apply would create it).
      mkdirSync(join(lab.servers[name].root, 'probe-root'), { recursive: true });
      await lab.chownRoot(name);
      const r = await runCliAsync(['probe', '-c', file, `${name}-explicit`, `${name}-none`, '--json'], { env, timeoutMs: 120_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(lab.servers[name].password);
      const json = JSON.parse(r.stdout) as ProbeJson;
      const [tls, plain] = json.servers;
      console.log(
        `[measure] probe ${name}: ${JSON.stringify({ tls: tls?.findings && summary(tls.findings), plain: plain?.findings && summary(plain.findings) })}`,
      );
      for (const res of [tls!, plain!]) {
        expect(res.error).toBeUndefined();
        const f = res.findings!;
        expect(f.tempDirRemoved).toBe(true);
        expect(f.passiveMode).toBe('yes');
        expect(f.activeMode).toBe('yes');
        expect(f.atomicRename).toBe('yes');
        expect(f.features.length).toBeGreaterThan(3);
        // The three strategies were each tried; LIST always works on these servers.
        expect(f.listing.map((l) => l.strategy)).toEqual(['stat', 'mlsd', 'list', 'stat-recursive']);
        expect(f.listing.find((l) => l.strategy === 'list')!.result).toBe('works');
        // STAT lists over the control connection: never a data connection; and completely, a dot
        // name too (pure-ftpd shows one only to STAT -a).
        expect(f.listing.find((l) => l.strategy === 'stat')!.dataConnections).toBe(0);
        expect(f.listing.find((l) => l.strategy === 'stat')!.result).toBe('works');
        expect(f.connections.control).toBeLessThanOrEqual(4);
        expect(f.connections.data).toBeLessThanOrEqual(15);
        // The advice is a valid server block: merge it into a manifest and load it.
        const advice = parse(res.recommendedYaml!) as { servers: Record<string, Record<string, unknown>> };
        const merged = { ...advice.servers[res.server]!, host: '127.0.0.1', user: 'u', password: '${P}' };
        const adviceFile = join(work, `advice-${res.server}.yml`);
        writeFileSync(
          adviceFile,
          JSON.stringify({ version: 1, servers: { s: merged }, syncs: [{ name: 'x', server: 's', direction: 'download', local: '.', remote: '/x' }] }),
        );
        const loaded = loadManifest(adviceFile, { requireEnv: false });
        expect(loaded.findings.filter((x) => x.severity === 'error')).toEqual([]);
      }
      expect(tls!.findings!.tlsInfo!.protocol).toMatch(/^TLSv1\.[23]$/);
      expect(tls!.findings!.tlsInfo!.subject).toBe('CN=ftpsync-lab');
      expect(Date.parse(tls!.findings!.tlsInfo!.validTo)).toBeGreaterThan(Date.now());
      // The TLS reset close: tried, clean on all three, and what the client cannot see is said.
      expect(tls!.findings!.resetClose).toMatchObject({ verdict: 'yes', transfers: 5, clean: 5 });
      expect(tls!.findings!.resetClose.note).toMatch(/cannot be seen from the client/);
      expect(tls!.recommended!.dataClose).toBe('auto');
      expect(plain!.findings!.tlsInfo).toBeNull();
      expect(plain!.findings!.resetClose).toMatchObject({ verdict: 'yes', transfers: 5, clean: 5 });
      expect(plain!.recommended!.dataClose).toBe('reset');
      expect(plain!.recommended!.tls).toBe('explicit');
      // Nothing left behind on the server.
      expect(readdirSync(join(lab.servers[name].root, 'probe-root'))).toEqual([]);
    }, 150_000);
  }
});

function summary(f: ProbeFindings) {
  return {
    rttMs: f.rttMs,
    listing: f.listing.map((l) => `${l.strategy}:${l.result}/${l.dataConnections}`).join(','),
    active: f.activeMode,
    mfmt: f.mfmt,
    mdtmSet: f.mdtmSet,
    reset: `${f.resetClose.verdict} ${f.resetClose.clean}/${f.resetClose.transfers}`,
    resumed: f.tlsInfo?.dataSessionResumed,
    connections: f.connections,
    notes: f.notes,
  };
}
