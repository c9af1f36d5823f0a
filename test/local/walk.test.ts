import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkLocal } from '../../src/local/walk.js';
import type { ServerConfig, SyncConfig } from '../../src/manifest/types.js';
import { MAX_SKIPPED_LISTED, planServer, skippedWarnings } from '../../src/plan/build.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ftpsync-walk-'));
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'a.txt'), 'a');
  writeFileSync(join(root, 'sub', 'b.txt'), 'bb');
  symlinkSync(join(root, 'a.txt'), join(root, 'link-to-file'));
  symlinkSync(join(root, 'sub'), join(root, 'sub', 'link-to-dir'));
  execFileSync('mkfifo', [join(root, 'pipe')]);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const server: ServerConfig = {
  name: 'prod',
  host: 'ftp.example.com',
  port: 21,
  user: 'deploy',
  tls: 'explicit',
  verifyCertificate: true,
  mode: 'passive',
  timeouts: { connectMs: 15_000, dataMs: 30_000 },
  dataClose: 'normal',
  listing: 'auto',
  firewall: { maxConnections: 100, timeWaitMs: 60_000, headroom: 0.8, parallel: 2, maxSessions: 4, onBlock: { policy: 'stop', maxWaitMs: 60_000 } },
};

describe('what the local walk leaves out reaches the plan', () => {
  it('walk returns symlinks and special files as skipped, and follows none', () => {
    const snap = walkLocal(root, { exclude: [], include: [] });
    expect([...snap.entries.keys()].sort()).toEqual(['a.txt', 'sub', 'sub/b.txt']);
    expect(snap.skipped).toEqual([
      { path: 'link-to-file', reason: 'symlink (not followed)' },
      { path: 'pipe', reason: 'not a regular file' },
      { path: 'sub/link-to-dir', reason: 'symlink (not followed)' },
    ]);
  });

  it("the plan's warnings name each one", () => {
    const snap = walkLocal(root, { exclude: [], include: [] });
    const sync: SyncConfig = {
      name: 'site',
      servers: ['prod'],
      direction: 'upload',
      localPath: root,
      remotePath: '/www',
      delete: false,
      exclude: [],
      include: [],
      compare: 'size-mtime',
      last: [],
      protect: [],
      twoPhase: false,
      keepReleases: 1,
    };
    const plan = planServer(
      server,
      [sync],
      [{ local: snap.entries, skipped: snap.skipped, remote: new Map(), listingStrategy: 'stat', listingDataConnections: 0, rttMs: 1, readMs: 1 }],
    );
    expect(plan.warnings).toEqual(
      expect.arrayContaining([
        'prod: sync "site": left out link-to-file: symlink (not followed)',
        'prod: sync "site": left out pipe: not a regular file',
        'prod: sync "site": left out sub/link-to-dir: symlink (not followed)',
      ]),
    );
    // And the links themselves are not planned.
    expect(plan.actions.map((a) => a.path).sort()).toEqual(['a.txt', 'sub', 'sub/b.txt']);
  });

  it('many are listed up to a bound, then counted', () => {
    const skipped = Array.from({ length: MAX_SKIPPED_LISTED + 5 }, (_, i) => ({ path: `l${i}`, reason: 'symlink (not followed)' }));
    const w = skippedWarnings('prod', 'site', skipped);
    expect(w).toHaveLength(MAX_SKIPPED_LISTED + 1);
    expect(w.at(-1)).toBe('prod: sync "site": left out 5 more symlinks or special files');
  });
});
