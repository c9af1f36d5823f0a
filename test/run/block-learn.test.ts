/** After a block: the diagnosis from the ledger's history, the lowered gate, the remembered limit. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import type { Manifest, ServerConfig } from '../../src/manifest/types.js';
import { learnFromBlock } from '../../src/run/block-learn.js';
import { firewallStorePath, forgetLearnedLimit, readLearnedLimit, recordLearnedLimit, withLearnedLimits } from '../../src/run/firewall-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ftpsync-learn-'));
  dirs.push(d);
  return d;
}

const server = (fw: Partial<ServerConfig['firewall']> = {}): ServerConfig =>
  ({
    name: 'web',
    host: 'ftp.example.com',
    port: 21,
    firewall: {
      maxConnections: 300,
      timeWaitMs: 60_000,
      headroom: 0.8,
      parallel: 2,
      maxSessions: 4,
      sampleIntervalMs: 1_000,
      onBlock: { policy: 'wait', maxWaitMs: 60_000 },
      ...fw,
    },
  }) as ServerConfig;

/**
 * The issue's run: 2 control connections, 238 downloads the server closes (TIME_WAIT 60 s) over
 * 20 s, a 65 s pause, then the failure noticed when the ledger counts only the 2 control connections.
 */
function issueLedger(): { ledger: ConnectionLedger; noticedAt: number } {
  const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
  ledger.opened('control', -5_000);
  ledger.opened('control', -5_000);
  for (let i = 0; i < 238; i++) ledger.closed(ledger.opened('data', i * 84), 'server', i * 84 + 20);
  return { ledger, noticedAt: 237 * 84 + 65_000 + 30_000 };
}

describe('learnFromBlock', () => {
  it('diagnoses from the history around the last connection, not from the count when noticed; lowers the gate; remembers', () => {
    const { ledger, noticedAt } = issueLedger();
    expect(ledger.counted(noticedAt)).toBe(2);
    const gate = new BudgetGate(ledger, 240);
    const store = firewallStorePath(join(tmp(), 'ftpsync.yml'));
    const text = learnFromBlock({ server: server(), ledger, gate, store, now: () => noticedAt, note: () => undefined }, 'web: Timeout (data socket)', false);
    expect(text).toContain('web: Timeout (data socket)');
    expect(text).toContain('blocked while ftpsync held between 240 and 240 counted connections');
    expect(text).toContain('the limit on this host is between 216 and 239');
    expect(text).toContain('goes on with maxConnections 216 (budget 172');
    expect(text).toContain('delete the "ftp.example.com:21" entry there, or set firewall.confirmed: true');
    // Nothing the run did not show: no guess from the count at detection, no port advice.
    expect(text).not.toMatch(/below 4|mode: active|probably/);
    expect(gate.limit).toBe(172);
    expect(readLearnedLimit(store, 'ftp.example.com:21')).toMatchObject({ maxConnections: 216, limitAtLeast: 216, limitBelow: 240 });
  });

  it('with firewall.confirmed: the gate and the store are left alone', () => {
    const { ledger, noticedAt } = issueLedger();
    const gate = new BudgetGate(ledger, 240);
    const store = firewallStorePath(join(tmp(), 'ftpsync.yml'));
    const text = learnFromBlock(
      { server: server({ confirmed: true }), ledger, gate, store, now: () => noticedAt, note: () => undefined },
      'web: Timeout',
      false,
    );
    expect(text).toContain('firewall.confirmed is true');
    expect(gate.limit).toBe(240);
    expect(readLearnedLimit(store, 'ftp.example.com:21')).toBeUndefined();
  });

  it('a second block says the run stops', () => {
    const { ledger, noticedAt } = issueLedger();
    const text = learnFromBlock(
      { server: server(), ledger, gate: new BudgetGate(ledger, 240), now: () => noticedAt, note: () => undefined },
      'web: Timeout',
      true,
    );
    expect(text).toContain('it stops here, whatever onBlock says');
  });
});

describe('the firewall store', () => {
  it('keeps the lowest limit learned, applies it unless confirmed, forgets on request, ignores junk', () => {
    const dir = tmp();
    const manifestFile = join(dir, 'ftpsync.yml');
    const store = firewallStorePath(manifestFile);
    const key = 'ftp.example.com:21';
    recordLearnedLimit(store, key, { maxConnections: 50, at: '2026-12-02T00:00:00Z', limitAtLeast: 50, limitBelow: 60 });
    recordLearnedLimit(store, key, { maxConnections: 80, at: '2026-12-02T00:01:00Z', limitAtLeast: 80, limitBelow: 90 });
    expect(readLearnedLimit(store, key)?.maxConnections).toBe(50);
    const manifest = { file: manifestFile, servers: { web: server(), sure: { ...server({ confirmed: true }), name: 'sure' } } } as unknown as Manifest;
    const used = withLearnedLimits(manifest);
    expect(used.servers.web!.firewall.maxConnections).toBe(50);
    expect(used.servers.web!.firewall.learned).toEqual({ manifestMaxConnections: 300, at: '2026-12-02T00:00:00Z', store });
    expect(used.servers.sure!.firewall.maxConnections).toBe(300);
    forgetLearnedLimit(store, key);
    expect(readLearnedLimit(store, key)).toBeUndefined();
    expect(JSON.parse(readFileSync(store, 'utf8'))).toEqual({});
    writeFileSync(store, JSON.stringify({ [key]: { maxConnections: -3, at: 'x' } }));
    expect(withLearnedLimits(manifest).servers.web!.firewall.maxConnections).toBe(300);
    writeFileSync(store, 'not json');
    expect(readLearnedLimit(store, key)).toBeUndefined();
  });
});
