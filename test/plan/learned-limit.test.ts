/** plan with a limit learned from a block: scheduled with it, and it says so and how to reset it. */
import { describe, expect, it } from 'vitest';
import { withLearnedLimit } from '../../src/budget/block-diagnosis.js';
import type { LocalEntry } from '../../src/core/tree.js';
import type { ServerConfig } from '../../src/manifest/types.js';
import { serverConfig, syncConfig } from './configs.js';
import { planServer } from '../../src/plan/build.js';

const server = serverConfig({ dataClose: 'normal', firewall: { timeWaitMs: 60_000 } });
const sync = syncConfig({ name: 'logs', direction: 'download', localPath: '/srv/logs', remotePath: '/logs' });
const learned = { maxConnections: 20, at: '2026-12-02T00:40:00.000Z', limitAtLeast: 20, limitBelow: 31 };

function plan(s: ServerConfig) {
  const remote = new Map(
    Array.from({ length: 100 }, (_, i) => [`f${i}.log`, { name: `f${i}.log`, type: 'file' as const, size: 10, mtimeMs: 0, mtimePrecisionMs: 60_000 }]),
  );
  return planServer(s, [sync], [{ local: new Map<string, LocalEntry>(), remote, listingStrategy: 'stat', listingDataConnections: 0, rttMs: 1, readMs: 1 }]);
}

describe('a learned limit in the plan', () => {
  it.each([
    { name: 'learned: budget from the learned limit, a warning with the reset', fw: {}, budget: 14, warns: true },
    { name: 'confirmed manifest value: kept, no warning', fw: { confirmed: true }, budget: 78, warns: false },
  ])('$name', ({ fw, budget, warns }) => {
    const s = { ...server, firewall: withLearnedLimit({ ...server.firewall, ...fw }, learned, '/srv/.ftpsync/firewall.json') };
    const sp = plan(s);
    expect(sp.budget).toBe(budget);
    // Each phase of 10 downloads' TIME_WAIT fits the budget it was planned with.
    expect(Math.max(...sp.phases.map((p) => p.connections))).toBeLessThanOrEqual(budget);
    const w = sp.warnings.find((x) => x.includes('learned from a firewall block'));
    expect(w !== undefined).toBe(warns);
    if (warns)
      expect(w).toBe(
        'prod: planning with maxConnections 20, learned from a firewall block at 2026-12-02T00:40:00.000Z (the manifest says 100); to reset it, delete the "ftp.example.com:21" entry in /srv/.ftpsync/firewall.json, or set firewall.confirmed: true if 100 is the host\'s real limit',
      );
  });
});
