import { describe, expect, it } from 'vitest';
import type { LocalEntry, RemoteEntry } from '../../src/core/tree.js';
import type { SyncConfig } from '../../src/manifest/types.js';
import { diffSync, sameFile } from '../../src/plan/diff.js';
import { LOCK_NAME } from '../../src/run/remote-lock.js';

const T = Date.UTC(2026, 0, 10, 12, 0, 0);
const sync = (o: Partial<SyncConfig> = {}): SyncConfig => ({
  name: 's',
  servers: ['w'],
  direction: 'upload',
  localPath: '/l',
  remotePath: '/r',
  delete: false,
  exclude: [],
  include: [],
  compare: 'size-mtime',
  last: [],
  protect: [],
  twoPhase: false,
  keepReleases: 1,
  ...o,
});
const lf = (size: number, mtimeMs = T): LocalEntry => ({ type: 'file', size, mtimeMs });
const ld = (): LocalEntry => ({ type: 'dir', size: 0, mtimeMs: T });
const rf = (size: number, mtimeMs: number | undefined = T, precision = 60_000): RemoteEntry => ({
  name: 'x',
  type: 'file',
  size,
  ...(mtimeMs !== undefined ? { mtimeMs, mtimePrecisionMs: precision } : {}),
});
const rd = (): RemoteEntry => ({ name: 'x', type: 'dir', size: 0 });

function run(local: Record<string, LocalEntry>, remote: Record<string, RemoteEntry>, o: Partial<SyncConfig> = {}) {
  const r = diffSync({ server: 'w', sync: sync(o), local: new Map(Object.entries(local)), remote: new Map(Object.entries(remote)), reserved: [LOCK_NAME] });
  return { ...r, list: r.actions.map((a) => `${a.stage}:${a.kind}:${a.path}`) };
}

describe('diff and order (upload)', () => {
  const cases: Array<{ name: string; local: Record<string, LocalEntry>; remote: Record<string, RemoteEntry>; opts?: Partial<SyncConfig>; want: string[] }> = [
    { name: 'empty both', local: {}, remote: {}, want: [] },
    {
      name: 'new tree: dirs by depth before files',
      local: { a: ld(), 'a/b': ld(), 'a/b/c.txt': lf(3), 'x.txt': lf(1) },
      remote: {},
      want: ['0:mkdir:a', '1:mkdir:a/b', '100:upload:a/b/c.txt', '100:upload:x.txt'],
    },
    { name: 'unchanged by size and mtime within the listing precision', local: { 'f.txt': lf(5, T + 30_000) }, remote: { 'f.txt': rf(5, T) }, want: [] },
    { name: 'changed size', local: { 'f.txt': lf(6) }, remote: { 'f.txt': rf(5) }, want: ['100:upload:f.txt'] },
    { name: 'local newer beyond precision', local: { 'f.txt': lf(5, T + 120_000) }, remote: { 'f.txt': rf(5, T) }, want: ['100:upload:f.txt'] },
    { name: 'remote newer: unchanged for an upload', local: { 'f.txt': lf(5, T) }, remote: { 'f.txt': rf(5, T + 3_600_000) }, want: [] },
    { name: 'compare size ignores times', local: { 'f.txt': lf(5, T + 9e9) }, remote: { 'f.txt': rf(5, T) }, opts: { compare: 'size' }, want: [] },
    {
      name: 'last after every other upload',
      local: { 'index.html': lf(1), 'a.css': lf(1), sub: ld(), 'sub/index.html': lf(1) },
      remote: {},
      opts: { last: ['index.html'] },
      want: ['0:mkdir:sub', '100:upload:a.css', '101:upload:index.html', '101:upload:sub/index.html'],
    },
    { name: 'no delete unless asked', local: {}, remote: { 'old.txt': rf(1) }, want: [] },
    {
      name: 'deletes after uploads, rmdir deepest first',
      local: { 'n.txt': lf(1) },
      remote: { 'old.txt': rf(1), d: rd(), 'd/e': rd(), 'd/e/f.txt': rf(1) },
      opts: { delete: true },
      want: ['100:upload:n.txt', '104:delete:d/e/f.txt', '104:delete:old.txt', '105:rmdir:d/e', '106:rmdir:d'],
    },
    {
      name: 'excluded remote files are never deleted',
      local: {},
      remote: { 'keep.log': rf(1), cache: rd(), 'cache/x': rf(1) },
      opts: { delete: true, exclude: ['*.log', 'cache/**'] },
      want: [],
    },
    {
      name: 'temp files from a crashed run are removed',
      local: {},
      remote: { '.ftpsync-tmp-ab12-x.txt': rf(1) },
      want: ['104:delete:.ftpsync-tmp-ab12-x.txt'],
    },
    {
      name: "state and lock files are ftpsync's own",
      local: {},
      remote: { '.ftpsync-state.json': rf(1), '.ftpsync.lock': rf(1) },
      opts: { delete: true },
      want: [],
    },
    { name: 'type conflict is left alone (warned)', local: { p: ld() }, remote: { p: rf(1) }, want: [] },
    { name: 'symlinks on the server are left alone', local: {}, remote: { l: { name: 'l', type: 'symlink', size: 0 } }, opts: { delete: true }, want: [] },
  ];
  it.each(cases)('$name', (c) => {
    expect(run(c.local, c.remote, c.opts).list).toEqual(c.want);
  });

  it('ids are stable and name server, sync, kind and path', () => {
    expect(run({ 'a.txt': lf(1) }, {}).actions[0]!.id).toBe('w/s/upload/a.txt');
  });
});

describe('diff (download)', () => {
  it('downloads new and changed files, creates local dirs, deletes locally when asked', () => {
    const r = run({ 'gone.txt': lf(1), 'same.txt': lf(2, T) }, { d: rd(), 'd/n.txt': rf(4, T), 'same.txt': rf(2, T) }, { direction: 'download', delete: true });
    expect(r.list).toEqual(['0:mkdir-local:d', '100:download:d/n.txt', '104:delete-local:gone.txt']);
    expect(r.summary.counts).toEqual({ unchanged: 1, 'mkdir-local': 1, download: 1, 'delete-local': 1 });
    expect(r.summary.bytes).toBe(4);
  });
});

describe('checksum compare', () => {
  const H1 = '1'.repeat(64);
  const H2 = '2'.repeat(64);
  const H3 = '3'.repeat(64);
  it('without a state file: another size is changed, the same size uploaded once (no server hash), one note, and the state written', () => {
    const r = diffSync({
      server: 'w',
      sync: sync({ compare: 'checksum' }),
      local: new Map([
        ['a.txt', lf(1)],
        ['b.txt', lf(2)],
      ]),
      remote: new Map([
        ['a.txt', rf(1)],
        ['b.txt', rf(3)],
      ]),
      localHashes: new Map([
        ['a.txt', H1],
        ['b.txt', H2],
      ]),
      serverHashCommand: null,
    });
    expect(r.summary.compareUsed).toBe('checksum');
    expect(r.summary.content).toEqual({ state: 'missing', serverHash: null, judged: { unverified: 1, size: 1 } });
    expect(r.actions.map((a) => `${a.kind}:${a.path}`)).toEqual(['upload:a.txt', 'upload:b.txt', 'write-state:.ftpsync-state.json']);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/no checksum state on the server yet.*1 file\(s\) of the same size.*uploaded once/);
  });
  it('without a state file, the server hash decides same-size files; the state is still written', () => {
    const r = diffSync({
      server: 'w',
      sync: sync({ compare: 'checksum' }),
      local: new Map([
        ['a.txt', lf(1)],
        ['b.txt', lf(1)],
      ]),
      remote: new Map([
        ['a.txt', rf(1)],
        ['b.txt', rf(1)],
      ]),
      localHashes: new Map([
        ['a.txt', H1],
        ['b.txt', H2],
      ]),
      serverHashes: new Map([
        ['a.txt', 'same'],
        ['b.txt', 'different'],
      ]),
      serverHashCommand: 'XSHA256',
    });
    expect(r.actions.map((a) => `${a.kind}:${a.path}`)).toEqual(['upload:b.txt', 'write-state:.ftpsync-state.json']);
    expect(r.warnings).toEqual([expect.stringMatching(/2 file\(s\) of the same size compared by the server's XSHA256/)]);
  });
  it('with a state file, unchanged hashes are skipped regardless of mtime', () => {
    const res = diffSync({
      server: 'w',
      sync: sync({ compare: 'checksum' }),
      local: new Map([
        ['a.txt', lf(1, T + 9e9)],
        ['b.txt', lf(1)],
      ]),
      remote: new Map([
        ['a.txt', rf(1, T)],
        ['b.txt', rf(1, T)],
      ]),
      localHashes: new Map([
        ['a.txt', H1],
        ['b.txt', H2],
      ]),
      state: { status: 'ok', state: { version: 1, files: { 'a.txt': { size: 1, sha256: H1 }, 'b.txt': { size: 1, sha256: H3 } } } },
    });
    expect(res.summary.compareUsed).toBe('checksum');
    expect(res.warnings).toEqual([]);
    expect(res.actions.map((a) => `${a.kind}:${a.path}`)).toEqual(['upload:b.txt', 'write-state:.ftpsync-state.json']);
  });
  it('a state that does not match the listing is said, and those files are uploaded', () => {
    const res = diffSync({
      server: 'w',
      sync: sync({ compare: 'auto' }),
      local: new Map([
        ['a.txt', lf(1)],
        ['gone.txt', lf(1)],
        ['ok.txt', lf(1)],
      ]),
      remote: new Map([
        ['a.txt', rf(1)],
        ['ok.txt', rf(1)],
      ]),
      localHashes: new Map([
        ['a.txt', H1],
        ['gone.txt', H2],
        ['ok.txt', H3],
      ]),
      state: {
        status: 'ok',
        state: { version: 1, files: { 'a.txt': { size: 7, sha256: H1 }, 'gone.txt': { size: 1, sha256: H2 }, 'ok.txt': { size: 1, sha256: H3 } } },
      },
    });
    expect(res.actions.map((a) => `${a.kind}:${a.path}`)).toEqual(['upload:a.txt', 'upload:gone.txt', 'write-state:.ftpsync-state.json']);
    expect(res.warnings).toEqual([expect.stringMatching(/does not match the server for 2 file\(s\)/)]);
  });
  it('an unusable state is one warning and a full compare', () => {
    const res = diffSync({
      server: 'w',
      sync: sync({ compare: 'auto' }),
      local: new Map([['a.txt', lf(1)]]),
      remote: new Map([['a.txt', rf(1)]]),
      localHashes: new Map([['a.txt', H1]]),
      state: { status: 'invalid', reason: 'not JSON' },
      serverHashes: new Map([['a.txt', 'same']]),
      serverHashCommand: 'XSHA256',
    });
    expect(res.actions.map((a) => a.kind)).toEqual(['write-state']);
    expect(res.warnings).toEqual([expect.stringMatching(/not usable \(not JSON\) and is ignored/)]);
  });
  it('auto compares downloads by size and mtime, and keeps no state', () => {
    const r = run({ 'f.txt': lf(5, T) }, { 'f.txt': rf(5, T + 3_600_000) }, { compare: 'auto', direction: 'download' });
    expect(r.summary.compareRequested).toBe('auto');
    expect(r.summary.compareUsed).toBe('size-mtime');
    expect(r.summary.content).toBeUndefined();
    expect(r.list).toEqual(['100:download:f.txt']);
  });
  it('size-mtime: mostly "same size, newer mtime" says it looks like a fresh checkout and how to compare by content', () => {
    const local: Record<string, LocalEntry> = {};
    const remote: Record<string, RemoteEntry> = {};
    for (let i = 0; i < 5; i++) {
      local[`f${i}`] = lf(5, T + 86_400_000);
      remote[`f${i}`] = rf(5, T);
    }
    const r = run(local, remote);
    expect(r.warnings).toEqual([expect.stringMatching(/5 of 5 upload\(s\).*fresh checkout.*compare: auto/)]);
    const few = run({ f0: lf(5, T + 86_400_000), n1: lf(1), n2: lf(2), n3: lf(3) }, { f0: rf(5, T) });
    expect(few.warnings).toEqual([]);
  });
});

describe('sameFile', () => {
  it('treats a remote without times as equal by size', () => {
    expect(sameFile('size-mtime', lf(3), rf(3, undefined), 'upload')).toBe(true);
  });
  it('tolerates day precision for old listings', () => {
    expect(sameFile('size-mtime', lf(3, T + 20 * 3_600_000), rf(3, T, 86_400_000), 'upload')).toBe(true);
  });
});

describe('which transfers carry the source mtime', () => {
  // An upload's mtime costs a round trip (MFMT/MDTM): only where the next compare reads it.
  const mtimeOf = (o: Partial<SyncConfig>) => run({ 'f.txt': lf(6) }, { 'f.txt': rf(5) }, o).actions.find((a) => a.path === 'f.txt')?.mtimeMs;
  it('upload with size-mtime: yes (the next plan compares it)', () => expect(mtimeOf({ compare: 'size-mtime' })).toBe(T));
  it('upload with size: no', () => expect(mtimeOf({ compare: 'size' })).toBeUndefined());
  it('download: yes (set locally, no round trip)', () => expect(mtimeOf({ direction: 'download', compare: 'size' })).toBe(T));
});
