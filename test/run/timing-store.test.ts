import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { actionDuration, applySetupMs, timingFor } from '../../src/budget/cost.js';
import { learnedFrom, MAX_PAST_SAMPLES, mergeWork, MIN_SAMPLES, perTransferMs, readLearnedWork, recordLearnedWork, timingStorePath } from '../../src/run/timing-store.js';

describe('the timing model scales with the measured round trip', () => {
  it('a download is 4 round trips plus work, an upload 7, a control command 1', () => {
    const lan = timingFor(0);
    const wan = timingFor(30);
    expect(actionDuration('download', 0, wan) - actionDuration('download', 0, lan)).toBe(120);
    expect(actionDuration('upload', 0, wan) - actionDuration('upload', 0, lan)).toBe(210);
    expect(actionDuration('mkdir', 0, wan) - actionDuration('mkdir', 0, lan)).toBe(30);
    expect(actionDuration('download', 1_000_000, lan) - actionDuration('download', 0, lan)).toBe(100);
  });
  it('learned work replaces the lab figures; set-up adds the measured listing time', () => {
    expect(actionDuration('download', 0, timingFor(10, { downloadWorkMs: 2 }))).toBe(42);
    expect(actionDuration('upload', 0, timingFor(10, { uploadWorkMs: 5 }))).toBe(75);
    expect(applySetupMs(timingFor(10), 1000) - applySetupMs(timingFor(10), 0)).toBe(1000);
  });
});

describe('learned transfer times (.ftpsync/timing.json)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const manifestIn = () => {
    const d = mkdtempSync(join(tmpdir(), 'ftpsync-timing-'));
    dirs.push(d);
    return join(d, 'ftpsync.yml');
  };

  it('time per transfer comes from throughput: the span without idle time, times the sessions, over the count', () => {
    // 3,000 transfers in 3.75 s over 2 sessions: 2.5 ms each, however the stopwatch times spread.
    expect(perTransferMs({ firstStartMs: 1000, lastEndMs: 4750, count: 3000, idleMs: 0 }, 2)).toBeCloseTo(2.5, 6);
    // A 60 s pause in the middle is not transfer time.
    expect(perTransferMs({ firstStartMs: 0, lastEndMs: 63_750, count: 3000, idleMs: 60_000 }, 2)).toBeCloseTo(2.5, 6);
    // One transfer used one session, whatever the parallelism.
    expect(perTransferMs({ firstStartMs: 0, lastEndMs: 7, count: 1, idleMs: 0 }, 4)).toBe(7);
    // A clock that went backwards never gives a negative time.
    expect(perTransferMs({ firstStartMs: 10, lastEndMs: 5, count: 5, idleMs: 0 }, 2)).toBe(0);
  });

  it('keeps the work part (mean minus round trips) with the round trip, and only from enough samples', () => {
    expect(learnedFrom({ download: { eachMs: 50, samples: MIN_SAMPLES }, upload: { eachMs: 100, samples: 3 } }, 10)).toEqual({ download: { workMs: 10, samples: MIN_SAMPLES, rttMs: 10 } });
    expect(learnedFrom({ upload: { eachMs: 20, samples: 500 } }, 10)).toEqual({ upload: { workMs: 0, samples: 500, rttMs: 10 } });
  });

  it('weighs runs by their samples: a small run barely moves what a big one showed; the past counts at most MAX_PAST_SAMPLES', () => {
    const fig = (workMs: number, samples: number, rttMs = 0.2) => ({ workMs, samples, rttMs });
    expect(mergeWork({ workMs: undefined, samples: undefined }, fig(3, 50))).toEqual(fig(3, 50));
    expect(mergeWork({ workMs: 2, samples: 3000 }, fig(8, 50)).workMs).toBeCloseTo((2 * MAX_PAST_SAMPLES + 8 * 50) / (MAX_PAST_SAMPLES + 50), 2);
    expect(mergeWork({ workMs: 2, samples: 100, rttMs: 0.1 }, fig(4, 100, 0.3))).toEqual({ workMs: 3, samples: 200, rttMs: 0.2 });
    // A stored figure from an older version (no sample count) or a hostile one weighs nothing.
    expect(mergeWork({ workMs: 2, samples: undefined }, fig(4, 100))).toEqual(fig(4, 100));
    expect(mergeWork({ workMs: -1, samples: 1e9 }, fig(4, 100))).toEqual(fig(4, 100));
  });

  it('on the same network the learned time per transfer stands, whatever the noise in the round trip; on another the work is kept and the round trips scale', () => {
    // Learned at 0.22 ms: 1.5 ms of work + 7 × 0.22 = 3.04 ms per upload.
    const learned = { uploadWorkMs: 1.5, uploadRttMs: 0.22, downloadWorkMs: 2, downloadRttMs: 0.22 };
    expect(actionDuration('upload', 0, timingFor(0.12, learned))).toBeCloseTo(3.04, 6);
    expect(actionDuration('download', 0, timingFor(0.12, learned))).toBeCloseTo(2 + 4 * 0.22, 6);
    // 30 ms away: the work stays, the round trips are the new ones.
    expect(actionDuration('upload', 0, timingFor(30, learned))).toBeCloseTo(1.5 + 7 * 30, 6);
    // A busy moment put this plan's round trip well above the learned one: the learned time still stands.
    expect(actionDuration('download', 0, timingFor(1.6, learned))).toBeCloseTo(2 + 4 * 0.22, 6);
    expect(actionDuration('upload', 0, timingFor(1.6, { uploadWorkMs: 0.5, uploadRttMs: 0.22 }))).toBeCloseTo(0.5 + 7 * 0.22, 6);
    expect(actionDuration('upload', 0, timingFor(0.9, { uploadWorkMs: 0.5, uploadRttMs: 0.22 }))).toBeCloseTo(0.5 + 7 * 0.22, 6);
    // Without a stored round trip (an older store) the work is taken as it is.
    expect(actionDuration('upload', 0, timingFor(0.12, { uploadWorkMs: 1.5 }))).toBeCloseTo(1.5 + 7 * 0.12, 6);
  });

  it('round-trips per server, merges kinds, and ignores a corrupt or hostile file', () => {
    const store = timingStorePath(manifestIn());
    expect(readLearnedWork(store, 'h:21')).toEqual({});
    recordLearnedWork(store, 'h:21', { upload: { workMs: 9.5, samples: 100, rttMs: 1 } });
    recordLearnedWork(store, 'h:21', { download: { workMs: 4, samples: 100, rttMs: 1 } });
    recordLearnedWork(store, 'other:2121', { download: { workMs: 40, samples: 100, rttMs: 1 } });
    expect(readLearnedWork(store, 'h:21')).toEqual({ uploadWorkMs: 9.5, uploadRttMs: 1, downloadWorkMs: 4, downloadRttMs: 1 });
    recordLearnedWork(store, 'h:21', { upload: { workMs: 5.5, samples: 300, rttMs: 2 } });
    expect(readLearnedWork(store, 'h:21')).toEqual({ uploadWorkMs: 6.5, uploadRttMs: 1.75, downloadWorkMs: 4, downloadRttMs: 1 });
    expect(Object.keys(JSON.parse(readFileSync(store, 'utf8')) as object).sort()).toEqual(['h:21', 'other:2121']);
    writeFileSync(store, '{ torn');
    expect(readLearnedWork(store, 'h:21')).toEqual({});
    writeFileSync(store, JSON.stringify({ 'h:21': { downloadWorkMs: -5, uploadWorkMs: 'x', downloadRttMs: 1 } }));
    expect(readLearnedWork(store, 'h:21')).toEqual({});
    writeFileSync(store, JSON.stringify({ 'h:21': { downloadWorkMs: 3, downloadRttMs: -1 } }));
    expect(readLearnedWork(store, 'h:21')).toEqual({ downloadWorkMs: 3 });
  });
});
