import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { actionDuration, applySetupMs, timingFor } from '../../src/budget/cost.js';
import { learnedFrom, MIN_SAMPLES, readLearnedWork, recordLearnedWork, timingStorePath } from '../../src/run/timing-store.js';

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

  it('keeps the work part (mean minus round trips), and only from enough samples', () => {
    expect(learnedFrom({ download: { meanMs: 50, samples: MIN_SAMPLES }, upload: { meanMs: 100, samples: 3 } }, 10)).toEqual({ downloadWorkMs: 10 });
    expect(learnedFrom({ upload: { meanMs: 20, samples: 500 } }, 10)).toEqual({ uploadWorkMs: 0 });
  });

  it('round-trips per server, merges kinds, and ignores a corrupt or hostile file', () => {
    const store = timingStorePath(manifestIn());
    expect(readLearnedWork(store, 'h:21')).toEqual({});
    recordLearnedWork(store, 'h:21', { uploadWorkMs: 9.5 });
    recordLearnedWork(store, 'h:21', { downloadWorkMs: 4 });
    recordLearnedWork(store, 'other:2121', { downloadWorkMs: 40 });
    expect(readLearnedWork(store, 'h:21')).toEqual({ uploadWorkMs: 9.5, downloadWorkMs: 4 });
    expect(Object.keys(JSON.parse(readFileSync(store, 'utf8')) as object).sort()).toEqual(['h:21', 'other:2121']);
    writeFileSync(store, '{ torn');
    expect(readLearnedWork(store, 'h:21')).toEqual({});
    writeFileSync(store, JSON.stringify({ 'h:21': { downloadWorkMs: -5, uploadWorkMs: 'x' } }));
    expect(readLearnedWork(store, 'h:21')).toEqual({});
  });
});
