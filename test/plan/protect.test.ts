import { describe, expect, it } from 'vitest';
import type { LocalEntry, RemoteEntry } from '../../src/core/tree.js';
import type { SyncConfig } from '../../src/manifest/types.js';
import { diffSync } from '../../src/plan/diff.js';
import { dirsHoldingProtected, protectMatcher } from '../../src/plan/protect.js';

describe('protectMatcher', () => {
  const globs = ['wp-content/uploads/**', '.well-known/**', '*.log', 'logs', 'keep.txt'];
  const cases: Array<[string, boolean]> = [
    ['wp-content/uploads/2026/a.jpg', true],
    ['wp-content/uploads', true],
    ['wp-content/themes/x.css', false],
    ['wp-content', false],
    ['.well-known/acme-challenge/t', true],
    ['error.log', true],
    ['sub/error.log', false],
    ['logs/2026/a.txt', true],
    ['logs', true],
    ['keep.txt', true],
    ['dir/keep.txt', false],
    ['index.html', false],
    ['', false],
  ];
  const m = protectMatcher(globs);
  it.each(cases)('%s → %s', (p, want) => expect(m.isProtected(p)).toBe(want));
  it('no globs protect nothing', () => expect(protectMatcher([]).isProtected('a/b')).toBe(false));
  it('directories holding protected files', () => expect([...dirsHoldingProtected(['a/b/c.txt', 'a/d.txt', 'e.txt'])].sort()).toEqual(['a', 'a/b']));
});

const T = Date.UTC(2026, 0, 10, 12, 0, 0);
const lf = (size: number, mtimeMs = T): LocalEntry => ({ type: 'file', size, mtimeMs });
const ld = (): LocalEntry => ({ type: 'dir', size: 0, mtimeMs: T });
const rf = (size: number, mtimeMs = T): RemoteEntry => ({ name: 'x', type: 'file', size, mtimeMs, mtimePrecisionMs: 60_000 });
const rd = (): RemoteEntry => ({ name: 'x', type: 'dir', size: 0 });
const sync = (o: Partial<SyncConfig>): SyncConfig => ({
  name: 's',
  servers: ['w'],
  direction: 'upload',
  localPath: '/l',
  remotePath: '/r',
  delete: true,
  exclude: [],
  include: [],
  compare: 'size-mtime',
  last: [],
  protect: [],
  twoPhase: false,
  keepReleases: 1,
  ...o,
});

describe('the diff never deletes or overwrites a protected target file', () => {
  const cases: Array<{
    name: string;
    direction: 'upload' | 'download';
    source: Record<string, LocalEntry | RemoteEntry>;
    target: Record<string, LocalEntry | RemoteEntry>;
    protect: string[];
    exclude?: string[];
    want: string[];
    deletions: { files: number; dirs: number; targetFiles: number; sourceFiles: number; protected: number };
  }> = [
    {
      name: 'upload, delete: true: protected uploads/ and its directories stay, the rest goes',
      direction: 'upload',
      source: { 'index.html': lf(1) },
      target: { 'index.html': rf(1), 'old.html': rf(1), uploads: rd(), 'uploads/2026': rd(), 'uploads/2026/a.jpg': rf(9), gone: rd(), 'gone/x.css': rf(1) },
      protect: ['uploads/**'],
      want: ['delete:gone/x.css', 'delete:old.html', 'rmdir:gone'],
      deletions: { files: 2, dirs: 1, targetFiles: 3, sourceFiles: 1, protected: 1 },
    },
    {
      name: 'upload: a changed file of the same name is not overwritten; a missing protected file is created',
      direction: 'upload',
      source: { '.well-known': ld(), '.well-known/security.txt': lf(50, T + 9e6), '.well-known/new.txt': lf(3), 'a.txt': lf(2) },
      target: { '.well-known': rd(), '.well-known/security.txt': rf(10), 'a.txt': rf(1) },
      protect: ['.well-known/**'],
      want: ['upload:.well-known/new.txt', 'upload:a.txt'],
      deletions: { files: 0, dirs: 0, targetFiles: 1, sourceFiles: 3, protected: 1 },
    },
    {
      name: 'download, delete: true: protected local logs survive, others are deleted locally',
      direction: 'download',
      source: { 'a.txt': rf(1), 'app.log': rf(99, T + 9e6) },
      target: { 'a.txt': lf(1), 'app.log': lf(5), 'old.txt': lf(1), 'other.log': lf(1) },
      protect: ['*.log'],
      want: ['delete-local:old.txt'],
      deletions: { files: 1, dirs: 0, targetFiles: 2, sourceFiles: 2, protected: 2 },
    },
    {
      name: 'empty source: only unprotected files count toward the target and the deletions',
      direction: 'upload',
      source: {},
      target: { 'a.html': rf(1), 'b.html': rf(1), 'keep.txt': rf(1) },
      protect: ['keep.txt'],
      want: ['delete:a.html', 'delete:b.html'],
      deletions: { files: 2, dirs: 0, targetFiles: 2, sourceFiles: 0, protected: 1 },
    },
    {
      name: 'excluded target files are neither counted nor protected: not compared at all',
      direction: 'upload',
      source: { 'a.html': lf(1) },
      target: { 'a.html': rf(1), 'cache/x': rf(1), cache: rd() },
      protect: [],
      exclude: ['cache/**', 'cache'],
      want: [],
      deletions: { files: 0, dirs: 0, targetFiles: 1, sourceFiles: 1, protected: 0 },
    },
  ];
  it.each(cases)('$name', (c) => {
    const [local, remote] = c.direction === 'upload' ? [c.source, c.target] : [c.target, c.source];
    const r = diffSync({
      server: 'w',
      sync: sync({ direction: c.direction, protect: c.protect, exclude: c.exclude ?? [] }),
      local: new Map(Object.entries(local)) as Map<string, LocalEntry>,
      remote: new Map(Object.entries(remote)) as Map<string, RemoteEntry>,
    });
    expect(r.actions.map((a) => `${a.kind}:${a.path}`)).toEqual(c.want);
    expect(r.summary.deletions).toEqual(c.deletions);
  });

  it('a leftover temporary file is removed but is not a deletion of the target', () => {
    const r = diffSync({ server: 'w', sync: sync({}), local: new Map(), remote: new Map([['.ftpsync-tmp-1.x', rf(1)]]) });
    expect(r.actions.map((a) => `${a.kind}:${a.path}`)).toEqual(['delete:.ftpsync-tmp-1.x']);
    expect(r.summary.deletions).toEqual({ files: 0, dirs: 0, targetFiles: 0, sourceFiles: 0, protected: 0 });
  });
});
