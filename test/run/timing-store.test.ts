import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { actionDuration, applySetupMs, downloadRoundTrips, timingFor, transferRoundTrips, uploadRoundTrips } from '../../src/budget/cost.js';
import {
  learnedFrom,
  MAX_RUNS,
  medianRun,
  MIN_SAMPLES,
  perTransferMs,
  readLearnedWork,
  recentRuns,
  recordLearnedWork,
  timingKey,
  timingStorePath,
  workKey,
} from '../../src/run/timing-store.js';

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

  it('plain FTP and FTPS on the same host and port learn apart; the firewall keys stay per host and port', () => {
    const at = { host: 'h', port: 21 };
    expect(workKey({ ...at, tls: 'none' })).toBe('h:21');
    expect(workKey({ ...at, tls: 'explicit' })).toBe('h:21 tls:explicit');
    expect(timingKey(at)).toBe('h:21');
    const store = timingStorePath(manifestIn());
    recordLearnedWork(store, workKey({ ...at, tls: 'none' }), { download: { workMs: 2, samples: 3000, rttMs: 0.2 } });
    recordLearnedWork(store, workKey({ ...at, tls: 'explicit' }), { download: { workMs: 9, samples: 3000, rttMs: 0.2 } });
    expect(readLearnedWork(store, workKey({ ...at, tls: 'none' })).downloadWorkMs).toBe(2);
    expect(readLearnedWork(store, workKey({ ...at, tls: 'explicit' })).downloadWorkMs).toBe(9);
  });
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
    expect(learnedFrom({ download: { eachMs: 50, samples: MIN_SAMPLES }, upload: { eachMs: 100, samples: 3 } }, 10)).toEqual({
      download: { workMs: 10, samples: MIN_SAMPLES, rttMs: 10 },
    });
    expect(learnedFrom({ upload: { eachMs: 20, samples: 500 } }, 10)).toEqual({ upload: { workMs: 0, samples: 500, rttMs: 10 } });
  });

  it('a transfer costs the round trips of its path; what a run learned subtracts the same, so the next plan adds back what it took', () => {
    const ftps = { tls: 'explicit', mode: 'passive' } as const;
    const plain = { tls: 'none', mode: 'passive' } as const;
    expect(uploadRoundTrips({ staged: '.ftpsync-tmp-s1-a.js' }, ftps)).toBe(4);
    expect(uploadRoundTrips({}, ftps)).toBe(6);
    expect(uploadRoundTrips({ mtimeMs: 1 }, ftps)).toBe(7);
    // Plain passive: the EPSV went with the previous transfer, the data goes with the STOR (its 150
    // and 226 come back together); vsftpd's close adds one.
    expect(uploadRoundTrips({ staged: '.ftpsync-tmp-s1-a.js' }, plain)).toBe(3);
    expect(downloadRoundTrips(plain)).toBe(3);
    expect(downloadRoundTrips(ftps)).toBe(4);
    expect(transferRoundTrips({ kind: 'download' }, plain)).toBe(3);
    expect(transferRoundTrips({ kind: 'upload', staged: 'x' }, ftps)).toBe(4);
    expect(transferRoundTrips({ kind: 'mkdir' }, plain)).toBeUndefined();
    expect(learnedFrom({ download: { eachMs: 160, samples: 500, tripsEach: 3 } }, 50)).toEqual({ download: { workMs: 10, samples: 500, rttMs: 50, trips: 3 } });
    expect(uploadRoundTrips({ staged: '.ftpsync-tmp-s1-a.js' }, { tls: 'none', mode: 'active' })).toBe(4);
    // Two-phase uploads at RTT 50 took 212 ms each: 4 round trips and 12 ms of work.
    const learned = learnedFrom({ upload: { eachMs: 212, samples: 500, tripsEach: 4 } }, 50);
    expect(learned).toEqual({ upload: { workMs: 12, samples: 500, rttMs: 50, trips: 4 } });
    const t = timingFor(50, { uploadWorkMs: 12, uploadRttMs: 50 });
    expect(actionDuration('upload', 0, t, uploadRoundTrips({ staged: 'x' }, ftps))).toBe(212);
    // Before: 7 round trips for every upload, 350 ms of a 212 ms transfer, and nothing to learn (the work came out below zero).
    expect(learnedFrom({ upload: { eachMs: 212, samples: 500 } }, 50)).toEqual({ upload: { workMs: 0, samples: 500, rttMs: 50 } });
  });

  it('plans with the median of the recent runs, weighted by transfers: one slow run does not move it, a small run barely counts', () => {
    const fig = (workMs: number, samples = 3000, rttMs = 0.2) => ({ workMs, samples, rttMs });
    expect(medianRun([], 4)).toBeUndefined();
    expect(medianRun([fig(2)], 4)).toEqual(fig(2));
    // The machine's slow spell (a run at twice the time) among steady runs: the figure stays.
    expect(medianRun([fig(2), fig(2.2), fig(6), fig(2.1)], 4)?.workMs).toBeCloseTo(2.15, 6);
    expect(medianRun([fig(2), fig(2.2), fig(6)], 4)).toEqual(fig(2.2));
    // A 50-file run, slower per file, against one of 3,000.
    expect(medianRun([fig(2), fig(8, 50)], 4)).toEqual(fig(2));
    // Two runs of equal weight: their mean, round trip included.
    expect(medianRun([fig(2, 3000, 0.1), fig(4, 3000, 0.3)], 4)).toEqual({ workMs: 3, samples: 6000, rttMs: 0.2 });
    // Ordered by the whole time per transfer: less work at a longer round trip can be the slower run.
    expect(medianRun([fig(1, 3000, 1), fig(2, 3000, 0.2), fig(3, 3000, 0.1)], 4)).toEqual(fig(3, 3000, 0.1));
  });

  it('keeps the recent runs by weight: a server that became slower shows after 3 big runs; small runs do not push big ones out', () => {
    const store = timingStorePath(manifestIn());
    const record = (workMs: number, samples = 3000) => recordLearnedWork(store, 'h:21', { download: { workMs, samples, rttMs: 0.2 } });
    const stored = () => (JSON.parse(readFileSync(store, 'utf8')) as Record<string, { downloadRuns: unknown[] }>)['h:21']!.downloadRuns;
    for (let i = 0; i < 5; i++) record(2);
    // Five 50-file runs, slower per file (a cold start): the 3,000-file figure stands.
    for (let i = 0; i < 5; i++) record(5, 50);
    expect(readLearnedWork(store, 'h:21').downloadWorkMs).toBe(2);
    expect(stored()).toHaveLength(10);
    record(9);
    record(9);
    expect(readLearnedWork(store, 'h:21').downloadWorkMs).toBe(2);
    record(9);
    expect(readLearnedWork(store, 'h:21').downloadWorkMs).toBe(9);
    // Bounded however small the runs.
    for (let i = 0; i < 50; i++) record(5, 20);
    expect(stored()).toHaveLength(MAX_RUNS);
    expect(recentRuns([])).toEqual([]);
  });

  it('reads a store from before runs were kept as one run, and drops hostile runs', () => {
    const store = timingStorePath(manifestIn());
    mkdirSync(dirname(store), { recursive: true });
    writeFileSync(store, JSON.stringify({ 'h:21': { uploadWorkMs: 3, uploadRttMs: 0.2, uploadSamples: 2050 } }));
    recordLearnedWork(store, 'h:21', { upload: { workMs: 5, samples: 50, rttMs: 0.2 } });
    expect(readLearnedWork(store, 'h:21')).toEqual({ uploadWorkMs: 3, uploadRttMs: 0.2 });
    writeFileSync(
      store,
      JSON.stringify({ 'h:21': { uploadRuns: [{ workMs: -1, samples: 1e9, rttMs: 0.2 }, { workMs: 'x' }, null, { workMs: 1, samples: 0, rttMs: 1 }] } }),
    );
    recordLearnedWork(store, 'h:21', { upload: { workMs: 4, samples: 100, rttMs: 0.2 } });
    expect(readLearnedWork(store, 'h:21')).toEqual({ uploadWorkMs: 4, uploadRttMs: 0.2 });
  });

  it("stores the round trips per transfer each run was learned with, and plans with the chosen run's", () => {
    const store = timingStorePath(manifestIn());
    recordLearnedWork(store, 'h:21', { upload: { workMs: 10, samples: 3000, rttMs: 50, trips: 3 } });
    expect(readLearnedWork(store, 'h:21')).toEqual({ uploadWorkMs: 10, uploadRttMs: 50, uploadTrips: 3 });
    // A run learned before trips were kept, then a hostile trips value: neither gives a count.
    writeFileSync(store, JSON.stringify({ 'h:21': { uploadRuns: [{ workMs: 10, samples: 3000, rttMs: 50, trips: -1 }] } }));
    recordLearnedWork(store, 'h:21', { upload: { workMs: 10, samples: 3000, rttMs: 50 } });
    expect(readLearnedWork(store, 'h:21')).toEqual({ uploadWorkMs: 10, uploadRttMs: 50 });
    // Runs ordered by their whole time with their own trips: 10 + 3 × 50 = 160 is faster than 5 + 4 × 50 = 205.
    const fig = (workMs: number, trips: number) => ({ workMs, samples: 3000, rttMs: 50, trips });
    expect(medianRun([fig(5, 4), fig(10, 3), fig(20, 3)], 7)).toEqual(fig(20, 3));
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
    // Learned with 3 round trips per upload (plain passive, staged) at 50 ms, 160 ms each; this
    // plan measured 46 ms, the same network: still 160 ms, not 3 × 46 + 10 + 7 × 4 = 176 (the
    // fixed count for every upload, which inflated each by 4 × the round-trip noise).
    const three = { uploadWorkMs: 10, uploadRttMs: 50, uploadTrips: 3 };
    expect(actionDuration('upload', 0, timingFor(46, three), 3)).toBeCloseTo(160, 6);
    expect(actionDuration('upload', 0, timingFor(54, three), 3)).toBeCloseTo(160, 6);
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
    // The median by weight of 100 transfers at 16.5 ms and 300 at 19.5 ms: the latter.
    recordLearnedWork(store, 'h:21', { upload: { workMs: 5.5, samples: 300, rttMs: 2 } });
    expect(readLearnedWork(store, 'h:21')).toEqual({ uploadWorkMs: 5.5, uploadRttMs: 2, downloadWorkMs: 4, downloadRttMs: 1 });
    expect(Object.keys(JSON.parse(readFileSync(store, 'utf8')) as object).sort()).toEqual(['h:21', 'other:2121']);
    writeFileSync(store, '{ torn');
    expect(readLearnedWork(store, 'h:21')).toEqual({});
    writeFileSync(store, JSON.stringify({ 'h:21': { downloadWorkMs: -5, uploadWorkMs: 'x', downloadRttMs: 1 } }));
    expect(readLearnedWork(store, 'h:21')).toEqual({});
    writeFileSync(store, JSON.stringify({ 'h:21': { downloadWorkMs: 3, downloadRttMs: -1 } }));
    expect(readLearnedWork(store, 'h:21')).toEqual({ downloadWorkMs: 3 });
  });
});
