/**
 * `ftpsync probe` against the test server's quirk profiles (src/demo/quirks.ts): it recognises
 * each behaviour (EPSV refused, rename onto a file refused, no MFMT, STAT refused or answering
 * with a status text) and says what to set. The lab test (probe.lab.test.ts) covers real servers.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import type { QuirkProfile } from '../../src/demo/quirks.js';
import type { Manifest } from '../../src/manifest/types.js';
import { probeServer } from '../../src/probe/probe.js';
import { recommend } from '../../src/probe/report.js';
import { loopbackConfig } from '../remote/loopback-config.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ftpsync-probe-zoo-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const config = (port: number) =>
  loopbackConfig('zoo', port, {
    user: 'demo',
    timeouts: { connectMs: 5_000, dataMs: 3_000 },
    listing: 'auto',
    firewall: { timeWaitMs: 1_000, headroom: 1, parallel: 1, maxSessions: 2 },
  });

const CASES: Array<{ profile: QuirkProfile | null; epsv: string; atomicRename: string; mfmt: string; stat: string; listing: string; says: RegExp[] }> = [
  { profile: null, epsv: 'yes', atomicRename: 'yes', mfmt: 'yes', stat: 'works', listing: 'stat', says: [] },
  {
    profile: 'iis',
    epsv: 'no',
    atomicRename: 'no',
    mfmt: 'yes',
    stat: 'refused',
    listing: 'mlsd',
    says: [/EPSV is refused here/, /rename onto an existing file is refused/, /STAT is refused here, or answers with a status text/],
  },
  { profile: 'filezilla', epsv: 'yes', atomicRename: 'no', mfmt: 'yes', stat: 'works', listing: 'stat', says: [/rename onto an existing file is refused/] },
  { profile: 'no-mfmt', epsv: 'yes', atomicRename: 'yes', mfmt: 'no', stat: 'works', listing: 'stat', says: [/modification times cannot be set here/] },
  { profile: 'stat-broken', epsv: 'yes', atomicRename: 'yes', mfmt: 'yes', stat: 'refused', listing: 'mlsd', says: [/listing: mlsd — STAT is refused here/] },
];

describe('probe recognises the zoo profiles', () => {
  CASES.forEach((c, i) => {
    it(`${c.profile ?? 'plain'}: EPSV ${c.epsv}, rename over ${c.atomicRename}, MFMT ${c.mfmt}, STAT ${c.stat} → listing: ${c.listing}`, async () => {
      const serverRoot = join(root, String(i));
      mkdirSync(serverRoot);
      const server = new DemoFtpServer({
        port: 0,
        user: 'demo',
        password: 'pw',
        root: serverRoot,
        passivePorts: [22_600 + i * 40, 22_639 + i * 40],
        ...(c.profile ? { quirks: { profile: c.profile } } : {}),
      });
      const port = await server.listen();
      try {
        const f = await probeServer({ syncs: [] } as unknown as Manifest, config(port));
        expect(f.epsv).toBe(c.epsv);
        expect(f.atomicRename).toBe(c.atomicRename);
        expect(f.mfmt).toBe(c.mfmt);
        if (c.profile === 'no-mfmt') expect(f.mdtmSet).toBe('no');
        expect(f.listing.find((l) => l.strategy === 'stat')?.result).toBe(c.stat);
        expect(f.tempDirRemoved).toBe(true);
        expect(readdirSync(serverRoot)).toEqual([]);
        const r = recommend(f, config(port));
        expect(r.settings.listing).toBe(c.listing);
        for (const s of c.says) expect(r.reasons.join('\n')).toMatch(s);
      } finally {
        await server.close();
      }
    });
  });
});
