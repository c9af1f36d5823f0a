import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientCloseLingerMs } from '../../src/budget/cost.js';
import { timeWaitCountedMs } from '../../src/budget/ledger.js';
import { lingers, schedule, type SchedulableAction } from '../../src/budget/schedule.js';

/** Replay a schedule on a timeline, independently of the scheduler, and check the budget. */
function maxCountedAtStarts(actions: SchedulableAction[], starts: Map<string, number>, initially: number[] = []): number {
  const intervals = [
    ...initially.map((until) => ({ from: -Infinity, until })),
    ...actions.flatMap((a) =>
      Array.from({ length: a.connections }, () => ({ from: starts.get(a.id)!, until: starts.get(a.id)! + a.durationMs + a.countedMs })),
    ),
  ];
  let max = 0;
  for (const a of actions) {
    if (a.connections === 0) continue;
    const t = starts.get(a.id)!;
    // Everything opened at or before t that still counts at t (the new one included).
    const n = intervals.filter((iv) => iv.from <= t && iv.until > t).length;
    max = Math.max(max, n);
  }
  return max;
}

const actionArb = fc.record({
  stage: fc.integer({ min: 0, max: 4 }),
  connections: fc.integer({ min: 0, max: 1 }),
  countedMs: fc.constantFrom(0, 1000, 60_000, 240_000),
  durationMs: fc.integer({ min: 1, max: 5000 }),
});

describe('schedule', () => {
  it('downloads with TIME_WAIT: B per phase, exact pauses, the theoretical minimum', () => {
    const actions: SchedulableAction[] = Array.from({ length: 10 }, (_, i) => ({ id: `a${i}`, stage: 0, connections: 1, countedMs: 60_000, durationMs: 100 }));
    const s = schedule({ actions, budget: 4, parallel: 1 });
    expect(s.phases.map((p) => p.actionIds.length)).toEqual([4, 4, 2]);
    // Phase 1 ends at 400 ms; its first connection stops counting at 100 + 60 000 … the last at 400 + 60 000.
    expect(s.phases[0]!.pauseAfterMs).toBe(60_000);
    expect(s.phases[1]!.startMs).toBe(60_400);
    // The last phase needs only 2 slots: it starts as soon as 2 of phase 2's connections expire.
    expect(s.phases[2]!.startMs).toBe(120_600);
    expect(s.etaMs).toBe(120_800);
    // firewall.md's figure, (ceil(N/B) − 1) × W + transfer time; the sliding window can beat it slightly.
    expect(s.theoreticalMinMs).toBe(2 * 60_000 + 1000);
  });

  it('uploads that barely count flow without long pauses', () => {
    const actions: SchedulableAction[] = Array.from({ length: 200 }, (_, i) => ({ id: `u${i}`, stage: 0, connections: 1, countedMs: 1000, durationMs: 50 }));
    const s = schedule({ actions, budget: 100, parallel: 2 });
    // Two lanes of 50 ms transfers: 5 s of work; the budget costs at most one short wait.
    expect(s.etaMs).toBeLessThan(6000);
    expect(Math.max(...s.phases.map((p) => p.pauseAfterMs))).toBeLessThanOrEqual(1000);
  });

  it('stages are barriers', () => {
    const actions: SchedulableAction[] = [
      { id: 'mk', stage: 0, connections: 0, countedMs: 0, durationMs: 10 },
      { id: 'u1', stage: 1, connections: 1, countedMs: 1000, durationMs: 500 },
      { id: 'u2', stage: 1, connections: 1, countedMs: 1000, durationMs: 100 },
      { id: 'last', stage: 2, connections: 1, countedMs: 1000, durationMs: 10 },
    ];
    const s = schedule({ actions, budget: 10, parallel: 2 });
    expect(s.starts.get('u1')).toBe(10);
    expect(s.starts.get('u2')).toBe(10);
    expect(s.starts.get('last')).toBe(510);
  });

  it('waits for connections still counted when it starts (the listing)', () => {
    const actions: SchedulableAction[] = [{ id: 'd', stage: 0, connections: 1, countedMs: 60_000, durationMs: 10 }];
    const s = schedule({ actions, budget: 2, parallel: 1, initiallyCounted: [5000, 7000] });
    expect(s.starts.get('d')).toBe(5000);
  });

  it('property: never over budget, each action once, stages hold, within the stated bound', () => {
    fc.assert(
      fc.property(
        fc.array(actionArb, { minLength: 0, maxLength: 120 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 4 }),
        (raw, budget, parallel) => {
          const actions = raw.map((a, i) => ({ ...a, id: `x${i}` })).sort((a, b) => a.stage - b.stage);
          const s = schedule({ actions, budget, parallel });
          // each action exactly once, in phases and with a start
          const ids = s.phases.flatMap((p) => p.actionIds);
          expect(ids.sort()).toEqual(actions.map((a) => a.id).sort());
          expect(s.starts.size).toBe(actions.length);
          // budget: at every start, live + still counted <= B
          expect(maxCountedAtStarts(actions, s.starts)).toBeLessThanOrEqual(budget);
          // stages: nothing of stage k starts before every action of a lower stage has ended
          for (const a of actions)
            for (const b of actions) {
              if (b.stage < a.stage) expect(s.starts.get(a.id)!).toBeGreaterThanOrEqual(s.starts.get(b.id)! + b.durationMs);
            }
          // the stated bound relative to the theoretical minimum
          expect(s.etaMs).toBeLessThanOrEqual(s.boundMs);
          expect(s.theoreticalMinMs).toBeLessThanOrEqual(s.boundMs);
          // pauses are never negative and phases are in time order
          for (let i = 1; i < s.phases.length; i++) expect(s.phases[i]!.startMs).toBeGreaterThanOrEqual(s.phases[i - 1]!.startMs);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lingers: TIME_WAIT-scale counting times do, round-trip ones (closed uploads, even at a 500 ms round trip) do not', () => {
    expect(lingers(timeWaitCountedMs(60_000))).toBe(true);
    // A server-closed connection counts at least the ledger's slack, however short TIME_WAIT is set.
    expect(lingers(timeWaitCountedMs(0))).toBe(true);
    expect(lingers(clientCloseLingerMs(500))).toBe(false);
    expect(lingers(clientCloseLingerMs(0.2))).toBe(false);
  });
});
