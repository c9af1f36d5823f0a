import { describe, expect, it } from 'vitest';
import type { DeleteLimit } from '../../src/manifest/types.js';
import { checkDeleteGuard, deletesMostOfTarget, guardReason, guardRefusal, guardTrips, type GuardReason } from '../../src/plan/delete-guard.js';
import type { ServerPlan, SyncDeletions, SyncSummary } from '../../src/plan/types.js';

const del = (files: number, targetFiles: number, sourceFiles = 5, extra: Partial<SyncDeletions> = {}): SyncDeletions => ({
  files,
  dirs: 0,
  targetFiles,
  sourceFiles,
  protected: 0,
  ...extra,
});

describe('guardReason: when the mass-delete guard refuses', () => {
  const cases: Array<{ name: string; d: SyncDeletions; limit?: DeleteLimit; want: GuardReason | null }> = [
    { name: 'nothing deleted', d: del(0, 100), want: null },
    { name: 'default: 60 of 100 (over half, over 10)', d: del(60, 100), want: 'over-limit' },
    { name: 'default: 40 of 100 (under half)', d: del(40, 100), want: null },
    { name: 'default: exactly half is allowed', d: del(50, 100), want: null },
    { name: 'default: 51 of 100', d: del(51, 100), want: 'over-limit' },
    { name: 'default: 10 of 12 (over half, but not over 10 files)', d: del(10, 12), want: null },
    { name: 'default: 11 of 12', d: del(11, 12), want: 'over-limit' },
    { name: 'empty source, small target: still refused', d: del(3, 3, 0), want: 'empty-source' },
    { name: 'empty source, large target', d: del(120, 120, 0), want: 'empty-source' },
    { name: 'empty source, nothing deleted (delete: false)', d: del(0, 120, 0), want: null },
    { name: 'count: 20 of 100 at maxDelete 20', d: del(20, 100), limit: { count: 20 }, want: null },
    { name: 'count: 21 of 100 at maxDelete 20', d: del(21, 100), limit: { count: 20 }, want: 'over-limit' },
    { name: 'count 0: any deletion refused', d: del(1, 100), limit: { count: 0 }, want: 'over-limit' },
    { name: 'count: 80 of 100 at maxDelete 500', d: del(80, 100), limit: { count: 500 }, want: null },
    { name: 'count does not allow an empty source', d: del(80, 80, 0), limit: { count: 500 }, want: 'empty-source' },
    { name: 'percent: 25 of 100 at 25%', d: del(25, 100), limit: { percent: 25 }, want: null },
    { name: 'percent: 26 of 100 at 25%', d: del(26, 100), limit: { percent: 25 }, want: 'over-limit' },
    { name: 'percent has no 10-file floor: 3 of 4 at 50%', d: del(3, 4), limit: { percent: 50 }, want: 'over-limit' },
    { name: 'percent 80: 60 of 100 allowed', d: del(60, 100), limit: { percent: 80 }, want: null },
    { name: '100% allows an empty source', d: del(120, 120, 0), limit: { percent: 100 }, want: null },
  ];
  it.each(cases)('$name', ({ d, limit, want }) => expect(guardReason(d, limit)).toBe(want));
});

describe('deletesMostOfTarget (the plan formats mark it)', () => {
  it.each([
    [del(0, 0), false],
    [del(5, 10), false],
    [del(6, 10), true],
    [del(1, 1), true],
  ])('%o → %s', (d, want) => expect(deletesMostOfTarget(d)).toBe(want));
});

const summary = (name: string, direction: 'upload' | 'download', d: SyncDeletions): SyncSummary => ({
  name,
  direction,
  localPath: `/work/${name}`,
  remotePath: `/www/${name}`,
  compareRequested: 'size-mtime',
  compareUsed: 'size-mtime',
  counts: { unchanged: 0 },
  bytes: 0,
  deletions: d,
});
const server = (name: string, syncs: SyncSummary[]) => ({ server: name, syncs }) as unknown as ServerPlan;

describe('the refusal', () => {
  const plan = {
    allowDelete: false,
    servers: [
      server('prod', [summary('site', 'upload', del(120, 120, 0)), summary('assets', 'upload', del(2, 100))]),
      server('mirror', [summary('backup', 'download', del(60, 100))]),
    ],
  };
  const trips = guardTrips(plan, (s) =>
    s === 'backup' ? { maxDelete: { percent: 50 }, direction: 'download' } : { direction: 'upload', twoPhase: false, keepReleases: 1 },
  );

  it('trips exactly the syncs over their limit', () => {
    expect(trips.map((t) => `${t.server}/${t.sync.name}:${t.reason}`)).toEqual(['prod/site:empty-source', 'mirror/backup:over-limit']);
  });

  it('names each sync, its numbers, its source and both ways out; says deletions cannot be restored without a release', () => {
    const e = guardRefusal(trips, { manifestFile: '/work/ftpsync.yml' });
    expect(e.code).toBe('E_DELETE_GUARD');
    expect(e.message).toContain(
      'sync "site" on prod (upload): the source (local /work/site) has no files while the target (/www/site on prod) has 120; the plan deletes 120 of them',
    );
    expect(e.message).toContain(
      'sync "backup" on mirror (download): the plan deletes 60 of the 100 files of the target (local /work/backup), 60 %, over maxDelete "50%" of the target\'s files; source: /www/backup on mirror',
    );
    expect(e.message).toContain('nothing was changed on prod, mirror');
    expect(e.message).toContain('What it deletes cannot be restored: ftpsync keeps no copy of it (twoPhase is off or keepReleases is 0).');
    expect(e.message).toContain('What it deletes cannot be restored: ftpsync keeps no copy of it (a download deletes local files).');
    expect(e.hint).toContain('run again with --allow-delete (this run only)');
    expect(e.hint).toContain('set maxDelete on sync "site", "backup" in /work/ftpsync.yml');
  });

  it('a two-phase upload that keeps releases: says rollback puts the deleted files back', () => {
    const kept = guardTrips(plan, (s) => (s === 'site' ? { direction: 'upload', twoPhase: true, keepReleases: 2 } : { maxDelete: { percent: 50 } }));
    const e = guardRefusal(kept, { manifestFile: 'f' });
    expect(e.message).toMatch(
      /sync "site" on prod \(upload\):.*\n {4}What it deletes is moved into this deploy's release on the server \(twoPhase\): `ftpsync rollback` puts it back while the release is kept \(keepReleases 2\)\./,
    );
    expect(e.message).toMatch(/sync "backup" on mirror \(download\):.*\n {4}What it deletes cannot be restored/);
    const none = guardTrips(plan, () => ({ direction: 'upload', twoPhase: true, keepReleases: 0 }));
    expect(guardRefusal(none, { manifestFile: 'f' }).message).not.toContain('ftpsync rollback');
  });

  it('for a saved plan, says it was made without --allow-delete and how to allow it', () => {
    const e = guardRefusal(trips, { manifestFile: '/work/ftpsync.yml', savedPlan: 'plan.json' });
    expect(e.hint).toContain('the plan plan.json was made without --allow-delete');
    expect(e.hint).toContain('ftpsync apply plan.json --allow-delete');
    expect(e.hint).toContain('ftpsync plan --allow-delete --out plan.json');
  });

  it('the default limit is spelled out', () => {
    const e = guardRefusal(
      guardTrips({ servers: [server('prod', [summary('site', 'upload', del(60, 100))])] }, () => undefined),
      { manifestFile: 'f' },
    );
    expect(e.message).toContain("60 %, over the default: more than 50 % of the target's files and more than 10");
  });

  it('checkDeleteGuard: refused unless the run or the saved plan allows deletions', () => {
    const syncs = [{ name: 'backup', maxDelete: { percent: 50 } }];
    expect(() => checkDeleteGuard(plan, syncs, { manifestFile: 'f', allowDelete: false })).toThrow(/mass-delete guard: refused/);
    expect(() => checkDeleteGuard(plan, syncs, { manifestFile: 'f', allowDelete: true })).not.toThrow();
    expect(() => checkDeleteGuard({ ...plan, allowDelete: true }, syncs, { manifestFile: 'f', allowDelete: false })).not.toThrow();
    const calm = { allowDelete: false, servers: [server('prod', [summary('assets', 'upload', del(40, 100))])] };
    expect(() => checkDeleteGuard(calm, [], { manifestFile: 'f', allowDelete: false })).not.toThrow();
  });
});
