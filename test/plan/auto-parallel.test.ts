/**
 * `parallel: auto`: the plan chooses the sessions from the measured round trip (budget/auto-parallel.ts).
 * On a LAN it keeps 2; across the internet more sessions overlap the round trips each file costs,
 * up to maxSessions, but no more than the budget has room for or the transfers need.
 */
import { describe, expect, it } from 'vitest';
import { chooseParallel, parallelCandidates } from '../../src/budget/auto-parallel.js';
import type { LocalEntry } from '../../src/core/tree.js';
import type { ServerConfig } from '../../src/manifest/types.js';
import { serverConfig, syncConfig } from './configs.js';
import { planServer } from '../../src/plan/build.js';
import { formatText } from '../../src/plan/format.js';

const server = serverConfig({ firewall: { parallelAuto: true } });
const sync = syncConfig();

function planFiles(s: ServerConfig, files: number, rttMs: number) {
  const local = new Map<string, LocalEntry>(Array.from({ length: files }, (_, i) => [`f${i}.html`, { type: 'file', size: 2000, mtimeMs: 0 }]));
  return planServer(s, [sync], [{ local, remote: new Map(), listingStrategy: 'stat', listingDataConnections: 0, rttMs, readMs: 1 }]);
}

describe('parallel: auto', () => {
  it('on a LAN: 2 sessions, whatever the ETA of more would say', () => {
    const etaFor = (p: number) => 1000 / p;
    expect(chooseParallel({ maxConnections: 100, headroom: 0.8, maxSessions: 4 }, 0.3, 1000, etaFor)).toEqual({
      parallel: 2,
      reason: 'auto: round trip 0.3 ms, a LAN',
    });
    expect(chooseParallel({ maxConnections: 100, headroom: 0.8, maxSessions: 1 }, 0.3, 1000, etaFor).parallel).toBe(1);
  });

  it('across the internet: the fewest sessions within 5 % of the fastest ETA', () => {
    const fw = { maxConnections: 100, headroom: 0.8, maxSessions: 8 };
    expect(chooseParallel(fw, 50, 1000, (p) => 100_000 / p).parallel).toBe(8);
    // Beyond 3 sessions nothing is gained (a tight budget: pauses dominate): 3, not 8.
    expect(chooseParallel(fw, 50, 1000, (p) => (p >= 3 ? 40_000 : 100_000 / p)).parallel).toBe(3);
    expect(chooseParallel(fw, 50, 1000, (p) => (p >= 3 ? 40_000 : 100_000 / p)).reason).toBe('auto: round trip 50 ms');
  });

  it('no more sessions than transfers, nor than the budget has room for', () => {
    expect(chooseParallel({ maxConnections: 100, headroom: 0.8, maxSessions: 8 }, 50, 3, (p) => 100_000 / p).parallel).toBe(3);
    // floor(10 × 0.8) = 8 counted: s sessions leave 8 − s for data, at least s of them.
    expect(parallelCandidates({ maxConnections: 10, headroom: 0.8, maxSessions: 8 })).toEqual([1, 2, 3, 4]);
    expect(parallelCandidates({ maxConnections: 2, headroom: 0.8, maxSessions: 4 })).toEqual([1]);
  });

  it('the plan: 2 sessions at RTT 0.3 ms, maxSessions (4) at 50 ms, with a budget and ETA to match; a set number stays', () => {
    const lan = planFiles(server, 1000, 0.3);
    const wan = planFiles(server, 1000, 50);
    expect(lan.parallel).toBe(2);
    expect(wan.parallel).toBe(4);
    expect(wan.budget).toBe(80 - 4);
    expect(wan.parallelChosen).toBe('auto: round trip 50 ms');
    const two = planFiles({ ...server, firewall: { ...server.firewall, parallelAuto: false } }, 1000, 50);
    expect(two.parallel).toBe(2);
    expect(two.parallelChosen).toBeUndefined();
    expect(wan.etaMs).toBeLessThan(0.6 * two.etaMs);
    expect(formatText({ servers: [wan], notes: [] } as never)).toMatch(/− 4 session\(s\), auto: round trip 50 ms\)/);
  });
});
