/**
 * What an FTPS data connection costs in the plan: by the close in use and by what the server's
 * last apply observed (.ftpsync/closes.json). The 3,000-file plan with init's defaults
 * (maxConnections 100, timeWait 240s, tls explicit) is the figure: 2h35m before.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { actionCost, tlsDataCountedMs } from '../../src/budget/cost.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import type { LocalEntry } from '../../src/core/tree.js';
import type { Manifest, ObservedTlsCloses, ServerConfig } from '../../src/manifest/types.js';
import { serverConfig, syncConfig } from './configs.js';
import { planServer } from '../../src/plan/build.js';
import { closeStorePath, readTlsCloses, recordTlsCloses, tallyCloses, withObservedTlsCloses } from '../../src/run/close-store.js';

const server = serverConfig();
const sync = syncConfig();
const FULL = 245_000; // timeWait 240 s + the ledger's 5 s slack
const seen = (o: Partial<ObservedTlsCloses>): ObservedTlsCloses => ({ reset: 0, server: 0, client: 0, unknown: 0, at: '2026-12-02T03:00:00.000Z', ...o });

function plan3000(s: ServerConfig) {
  const local = new Map<string, LocalEntry>(Array.from({ length: 3000 }, (_, i) => [`f${i}.html`, { type: 'file', size: 1000, mtimeMs: 0 }]));
  return planServer(s, [sync], [{ local, remote: new Map(), listingStrategy: 'stat', listingDataConnections: 0, rttMs: 0.2, readMs: 1 }]);
}

describe('the cost of an FTPS data connection', () => {
  it.each([
    { name: 'plain FTP upload: the client closes, counted one linger', s: { tls: 'none' as const }, kind: 'upload' as const, ms: 180 },
    { name: 'plain FTP download, auto: the normal close, full TIME_WAIT', s: { tls: 'none' as const }, kind: 'download' as const, ms: FULL },
    { name: 'FTPS, auto (the reset close), nothing observed yet: what the lab showed, nothing', s: {}, kind: 'upload' as const, ms: 0 },
    { name: 'FTPS, reset, download', s: { dataClose: 'reset' as const }, kind: 'download' as const, ms: 0 },
    { name: 'FTPS, normal: a race the client cannot see, full', s: { dataClose: 'normal' as const }, kind: 'upload' as const, ms: FULL },
  ])('$name', ({ s, kind, ms }) => {
    expect(actionCost(kind, { ...server, ...s }, 20).countedMs).toBe(ms);
  });

  it('counts by what the last apply observed: unknown and server-first fully, our FIN one linger, our reset nothing', () => {
    const at = (o: Partial<ObservedTlsCloses>) => tlsDataCountedMs({ ...server, firewall: { ...server.firewall, tlsCloses: seen(o) } }, 20);
    expect(at({ reset: 100 })).toBe(0);
    expect(at({ reset: 90, unknown: 10 })).toBe(FULL / 10);
    expect(at({ reset: 50, server: 25, client: 25 })).toBe(Math.round((25 * FULL + 25 * 180) / 100));
    // A server that rejected the reset close: its connections closed normally, 'unknown'.
    expect(at({ reset: 1, unknown: 299 })).toBe(Math.round((299 * FULL) / 300));
    // Too few to go by: the lab's figure.
    expect(at({ unknown: 5 })).toBe(0);
    // dataClose: normal is never helped by what a reset run saw.
    expect(tlsDataCountedMs({ ...server, dataClose: 'normal', firewall: { ...server.firewall, tlsCloses: seen({ reset: 100 }) } })).toBe(FULL);
  });

  it("3,000 uploads with init's defaults: the ETA comes down from hours to seconds", () => {
    const before = plan3000({ ...server, dataClose: 'normal' });
    const after = plan3000(server);
    console.log(
      `[measure] 3,000 FTPS uploads, init defaults: ETA ${Math.round(before.etaMs / 1000)} s with the normal close, ${(after.etaMs / 1000).toFixed(1)} s with auto`,
    );
    expect(before.etaMs).toBeGreaterThan(2 * 3_600_000);
    expect(after.etaMs).toBeLessThan(60_000);
  });
});

describe('the close store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftpsync-closes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tallies the data connections of a run by how they closed, keeps the last run per server, ignores junk', () => {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const close = (by: 'reset' | 'server' | 'client' | 'unknown') => ledger.closed(ledger.opened('data', 0), by, 1);
    for (let i = 0; i < 3; i++) close('reset');
    close('unknown');
    ledger.opened('control', 0);
    ledger.reserve('data', 0); // never connected: not a connection
    const tally = tallyCloses(ledger.all(), new Date('2026-12-02T03:00:00Z'));
    expect(tally).toEqual(seen({ reset: 3, unknown: 1 }));
    const file = closeStorePath(join(dir, 'ftpsync.yml'));
    recordTlsCloses(file, 'ftp.example.com:21', tally);
    expect(readTlsCloses(file, 'ftp.example.com:21')).toEqual(tally);
    recordTlsCloses(file, 'ftp.example.com:21', seen({})); // a run without data connections changes nothing
    expect(readTlsCloses(file, 'ftp.example.com:21')).toEqual(tally);
    const manifest = {
      file: join(dir, 'ftpsync.yml'),
      servers: { prod: server, plain: { ...server, name: 'plain', tls: 'none' as const } },
    } as unknown as Manifest;
    const m = withObservedTlsCloses(manifest);
    expect(m.servers.prod!.firewall.tlsCloses).toEqual(tally);
    expect(m.servers.plain!.firewall.tlsCloses).toBeUndefined();
    writeFileSync(file, JSON.stringify({ 'ftp.example.com:21': { reset: -1, server: 0, client: 0, unknown: 0, at: 'x' } }));
    expect(readTlsCloses(file, 'ftp.example.com:21')).toBeUndefined();
    writeFileSync(file, 'not json');
    expect(readTlsCloses(file, 'ftp.example.com:21')).toBeUndefined();
  });
});
