/** probe's advice (pure): which findings lead to which settings. */
import { describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../src/manifest/types.js';
import type { ProbeFindings } from '../../src/probe/probe.js';
import { formatFindingsText, recommend, recommendationYaml } from '../../src/probe/report.js';

const server: ServerConfig = {
  name: 'prod',
  host: 'ftp.example.com',
  port: 21,
  user: 'u',
  tls: 'none',
  verifyCertificate: true,
  mode: 'passive',
  timeouts: { connectMs: 15_000, dataMs: 30_000 },
  dataClose: 'normal',
  listing: 'auto',
  firewall: { maxConnections: 100, timeWaitMs: 240_000, headroom: 0.8, parallel: 2, maxSessions: 4, onBlock: { policy: 'stop', maxWaitMs: 2_100_000 } },
};

function findings(over: Partial<ProbeFindings> = {}): ProbeFindings {
  return {
    server: 'prod',
    host: 'ftp.example.com',
    port: 21,
    tls: 'none',
    mode: 'passive',
    rttMs: 12,
    features: ['EPSV', 'MDTM', 'SIZE'],
    tlsInfo: null,
    listing: [
      { strategy: 'stat', result: 'works', dataConnections: 0 },
      { strategy: 'mlsd', result: 'works', dataConnections: 1 },
      { strategy: 'list', result: 'works', dataConnections: 1 },
    ],
    activeMode: 'yes',
    explicitTls: 'yes',
    passiveMode: 'yes',
    epsv: 'yes',
    atomicRename: 'yes',
    mfmt: 'yes',
    mdtmSet: 'no',
    resetClose: { verdict: 'yes', transfers: 5, clean: 5 },
    tempDir: '/www/.ftpsync-probe-1',
    tempDirRemoved: true,
    connections: { control: 4, data: 12 },
    notes: [],
    ...over,
  };
}

describe('probe advice', () => {
  it('everything works: STAT listings, reset close, explicit FTPS', () => {
    const r = recommend(findings(), server);
    expect(r.settings).toMatchObject({ listing: 'stat', mode: 'passive', tls: 'explicit', dataClose: 'reset' });
    expect(r.settings.firewall).toMatchObject({ maxConnections: 100, timeWait: '240s' });
    expect(recommendationYaml('prod', r)).toMatch(/^servers:\n {2}prod:\n {4}listing: stat\n/);
  });

  it('STAT answers but misses entries: MLSD; MLSD refused too: LIST', () => {
    const incomplete = { strategy: 'stat' as const, result: 'incomplete' as const, dataConnections: 0 };
    expect(
      recommend(
        findings({
          listing: [incomplete, { strategy: 'mlsd', result: 'works', dataConnections: 1 }, { strategy: 'list', result: 'works', dataConnections: 1 }],
        }),
        server,
      ).settings.listing,
    ).toBe('mlsd');
    expect(
      recommend(
        findings({
          listing: [incomplete, { strategy: 'mlsd', result: 'refused', dataConnections: 1 }, { strategy: 'list', result: 'works', dataConnections: 1 }],
        }),
        server,
      ).settings.listing,
    ).toBe('list');
  });

  it('a reset close that lost a transfer keeps the normal close; passive failing means active', () => {
    const r = recommend(findings({ resetClose: { verdict: 'no', transfers: 5, clean: 3 }, passiveMode: 'no', explicitTls: 'no' }), server);
    expect(r.settings).toMatchObject({ dataClose: 'normal', mode: 'active', tls: 'none' });
    expect(r.reasons.join('\n')).toMatch(/3\/5/);
  });

  it('the text report names every check and the connections it used', () => {
    const f = findings();
    const text = formatFindingsText(f, recommend(f, server));
    for (const k of [
      'round trip',
      'FEAT',
      'TLS',
      'listing',
      'passive mode',
      'active mode',
      'explicit FTPS',
      'atomic rename',
      'set mtime',
      'reset close',
      'connections',
      'temp dir',
      'recommended',
    ])
      expect(text).toContain(k);
    expect(text).toContain('4 control + 12 data');
  });
});
