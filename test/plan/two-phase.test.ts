/** Two-phase uploads in the pure plan: the diff's staging and switch, the release's records and rollback steps. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { LocalEntry, RemoteEntry } from '../../src/core/tree.js';
import { parseStagedName, RELEASES_DIR, stagedNameFor, stagingToken } from '../../src/core/names.js';
import type { ServerConfig, SyncConfig } from '../../src/manifest/types.js';
import { diffSync } from '../../src/plan/diff.js';
import { addedMarker, deployId, parseAddedMarker, parentDirs, releasesIn, releasesToPrune, rollbackSteps } from '../../src/plan/release.js';
import { planServer } from '../../src/plan/build.js';
import { formatJson, formatText } from '../../src/plan/format.js';
import { PLAN_FORMAT_VERSION, type Plan } from '../../src/plan/types.js';

const T = Date.UTC(2026, 0, 10, 12, 0, 0);
const sync: SyncConfig = {
  name: 's',
  servers: ['w'],
  direction: 'upload',
  localPath: '/l',
  remotePath: '/r',
  delete: true,
  exclude: [],
  include: [],
  compare: 'size-mtime',
  last: ['index.html'],
  protect: [],
  twoPhase: true,
  keepReleases: 1,
};
const lf = (size: number, mtimeMs = T): LocalEntry => ({ type: 'file', size, mtimeMs });
const rf = (size: number, mtimeMs = T): RemoteEntry => ({ name: 'x', type: 'file', size, mtimeMs, mtimePrecisionMs: 1000 });
const staged = (name: string, size: number, dir = '') => `${dir}${stagedNameFor(name, stagingToken({ size, mtimeMs: T }))}`;

function run(local: Record<string, LocalEntry>, remote: Record<string, RemoteEntry>) {
  const r = diffSync({ server: 'w', sync, local: new Map(Object.entries(local)), remote: new Map(Object.entries(remote)) });
  return { ...r, list: r.actions.map((a) => `${a.stage}:${a.kind}:${a.path}${a.staged ? ` <- ${a.staged}` : ''}`) };
}

describe('the diff of a two-phase upload', () => {
  it('stages every file beside its target, then switches them (last ones last), then deletes', () => {
    const r = run({ 'a.js': lf(3), 'index.html': lf(2), d: { type: 'dir', size: 0, mtimeMs: T }, 'd/b.css': lf(4) }, { 'a.js': rf(1), 'old.txt': rf(1) });
    expect(r.list).toEqual([
      '0:mkdir:d',
      `100:upload:a.js <- ${staged('a.js', 3)}`,
      `100:upload:d/b.css <- ${staged('b.css', 4, 'd/')}`,
      `100:upload:index.html <- ${staged('index.html', 2)}`,
      `102:switch:a.js <- ${staged('a.js', 3)}`,
      `102:switch:d/b.css <- ${staged('b.css', 4, 'd/')}`,
      `103:switch:index.html <- ${staged('index.html', 2)}`,
      '104:delete:old.txt',
    ]);
    expect(r.actions.find((a) => a.kind === 'switch' && a.path === 'a.js')!.reason).toBe('changed');
    expect(r.summary.counts).toMatchObject({ upload: 3, switch: 3, delete: 1 });
  });

  it('switches a complete staged copy without storing it again; deletes a stale one; stores over a short one', () => {
    const r = run(
      { 'a.js': lf(3), 'b.js': lf(5), 'c.js': lf(7) },
      {
        [staged('a.js', 3)]: rf(3), // complete: reused
        [staged('b.js', 5)]: rf(2), // cut short: stored over
        [stagedNameFor('c.js', stagingToken({ size: 6, mtimeMs: T }))]: rf(6), // another version: deleted
      },
    );
    expect(r.list).toEqual([
      `100:upload:b.js <- ${staged('b.js', 5)}`,
      `100:upload:c.js <- ${staged('c.js', 7)}`,
      `102:switch:a.js <- ${staged('a.js', 3)}`,
      `102:switch:b.js <- ${staged('b.js', 5)}`,
      `102:switch:c.js <- ${staged('c.js', 7)}`,
      `104:delete:${stagedNameFor('c.js', stagingToken({ size: 6, mtimeMs: T }))}`,
    ]);
    expect(r.summary.bytes).toBe(12);
  });

  it('never lists, plans or deletes the releases directory', () => {
    const r = run({}, { [RELEASES_DIR]: { name: RELEASES_DIR, type: 'dir', size: 0 }, [`${RELEASES_DIR}/x/a.js`]: rf(1) });
    expect(r.list).toEqual([]);
  });

  it('the staging token follows the content: checksum mode ignores the mtime', () => {
    expect(stagingToken({ size: 1, mtimeMs: 1, sha256: 'ab' })).toBe(stagingToken({ size: 1, mtimeMs: 2, sha256: 'ab' }));
    expect(stagingToken({ size: 1, mtimeMs: 1 })).not.toBe(stagingToken({ size: 1, mtimeMs: 2 }));
    expect(parseStagedName(stagedNameFor('a b.js', 'abcdef012345'))).toEqual({ token: 'abcdef012345', target: 'a b.js' });
    expect(parseStagedName('.ftpsync-tmp-0badc0de-a.js')).toBeNull();
  });
});

const server: ServerConfig = {
  name: 'w',
  host: 'h',
  port: 21,
  user: 'u',
  tls: 'none',
  verifyCertificate: true,
  mode: 'passive',
  timeouts: { connectMs: 15_000, dataMs: 30_000 },
  dataClose: 'normal',
  listing: 'auto',
  firewall: { maxConnections: 10, timeWaitMs: 60_000, headroom: 0.8, parallel: 2, maxSessions: 4, onBlock: { policy: 'stop', maxWaitMs: 60_000 } },
};

describe('the plan shows the staging and the switch as separate steps', () => {
  const local = new Map<string, LocalEntry>(Array.from({ length: 20 }, (_, i) => [`f${i}.js`, lf(100)]));
  const remote = new Map<string, RemoteEntry>([['f0.js', rf(1)]]);
  const sp = planServer(server, [{ ...sync, last: [] }], [{ local, remote, listingStrategy: 'stat', listingDataConnections: 0, rttMs: 50, readMs: 0 }]);

  it('each with its estimate; the switch opens no connection', () => {
    expect(sp.twoPhase).toMatchObject({ staging: { uploads: 20 }, switch: { files: 20, replaced: 1 } });
    // 20 switches, one of them two renames, over 2 sessions: each rename a hundredth of a batch's
    // two round trips (pipelined) and 2 ms of the server's work.
    expect(sp.twoPhase!.switch.etaMs).toBe(Math.round((21 * ((2 * 50) / 100 + 2)) / 2));
    expect(sp.twoPhase!.staging.etaMs + sp.twoPhase!.switch.etaMs).toBe(sp.etaMs);
    expect(sp.actions.filter((a) => a.kind === 'switch').every((a) => a.cost.connections === 0)).toBe(true);
    const text = formatText({ servers: [sp] } as unknown as Plan);
    expect(text).toMatch(/staging: 20 upload\(s\) to temporary names beside their targets, ~/);
    expect(text).toMatch(/switch: 20 rename\(s\) into place over 2 session\(s\), pipelined, no new connection, ~0\.03s, 1 replacing a live file/);
  });

  it('the plan JSON validates against schemas/plan.schema.json', () => {
    const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'plan.schema.json'), 'utf8'));
    const plan: Plan = {
      formatVersion: PLAN_FORMAT_VERSION,
      createdAt: '2026-01-10T12:00:00.000Z',
      tool: { name: 'ftpsync', version: '0.0.0-test' },
      manifestFile: '/srv/ftpsync.yml',
      allowDelete: false,
      fingerprint: { manifest: 'a'.repeat(64), local: {}, remote: {} },
      rollout: { stages: [{ name: 'all', servers: ['w'] }], haltOnFailure: true },
      servers: [sp],
    };
    const validate = new Ajv2020({ strict: false }).compile(schema);
    expect(validate(JSON.parse(formatJson(plan))), JSON.stringify(validate.errors)).toBe(true);
  });
});

describe('releases (pure)', () => {
  it('ids sort in time order; partial ones are never pruned', () => {
    const a = deployId(new Date(Date.UTC(2026, 0, 1)), 'aa');
    const b = deployId(new Date(Date.UTC(2026, 0, 2)), '01');
    expect(a).toBe('20260101T000000000Z-aa');
    const rs = releasesIn([a, `${b}.partial`, 'junk', deployId(new Date(Date.UTC(2025, 0, 1)), 'ff')]);
    expect(rs.map((r) => r.name)).toEqual([`${b}.partial`, a, '20250101T000000000Z-ff']);
    expect(releasesToPrune(rs, 1).map((r) => r.name)).toEqual(['20250101T000000000Z-ff']);
    expect(releasesToPrune(rs, 0).map((r) => r.name)).toEqual([a, '20250101T000000000Z-ff']);
  });

  it('added markers round-trip any path; too long a path is not recorded', () => {
    expect(parseAddedMarker(addedMarker('f', 'a/b c/%d.js')!)).toEqual({ kind: 'f', path: 'a/b c/%d.js' });
    expect(addedMarker('d', 'x/'.repeat(100))).toBeNull();
    expect(parentDirs('a/b/c.txt')).toEqual(['a', 'a/b']);
  });

  it('rollback steps: restore what was moved aside, remove what was added, deepest directories first', () => {
    const e = (type: 'file' | 'dir') => ({ type });
    const steps = rollbackSteps(
      new Map([
        ['.ftpsync-added', e('dir')],
        [`.ftpsync-added/${addedMarker('f', 'img/new/logo.svg')}`, e('dir')],
        [`.ftpsync-added/${addedMarker('d', 'img')}`, e('dir')],
        [`.ftpsync-added/${addedMarker('d', 'img/new')}`, e('dir')],
        ['index.html', e('file')],
        ['old', e('dir')],
        ['old/gone.txt', e('file')],
      ]),
    );
    expect(steps).toEqual({
      removeFiles: ['img/new/logo.svg'],
      restore: ['index.html', 'old/gone.txt'],
      removeDirs: ['img/new', 'img'],
      releaseDirs: [
        `.ftpsync-added/${addedMarker('d', 'img')}`,
        `.ftpsync-added/${addedMarker('d', 'img/new')}`,
        `.ftpsync-added/${addedMarker('f', 'img/new/logo.svg')}`,
        '.ftpsync-added',
        'old',
      ],
    });
  });
});
