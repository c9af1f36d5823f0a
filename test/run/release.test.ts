/**
 * The switch's renames (run/release.ts) against an in-memory server that, like FileZilla Server
 * and IIS, refuses to rename onto an existing file: the old file always goes aside first; a
 * staged file deleted before the switch leaves the live file as it was, with an error naming it.
 */
import { describe, expect, it } from 'vitest';
import type { RemoteEntry } from '../../src/core/tree.js';
import { FtpsyncError } from '../../src/errors.js';
import type { SyncConfig } from '../../src/manifest/types.js';
import type { RemoteSession } from '../../src/remote/types.js';
import { Release } from '../../src/run/release.js';
import { rollbackSync } from '../../src/run/rollback.js';
import type { RemotePool } from '../../src/remote/types.js';

/** Files and directories by absolute path; RNTO onto an existing name is refused (550). */
function memoryServer(files: Record<string, string>) {
  const fs = new Map<string, string | null>(Object.entries(files)); // null: a directory
  for (const p of [...fs.keys()]) for (let d = p.slice(0, p.lastIndexOf('/')); d; d = d.slice(0, d.lastIndexOf('/'))) fs.set(d, null);
  const log: string[] = [];
  let renameFrom: string | null = null;
  let refusedOverwrites = 0;
  const children = (dir: string) => [...fs.keys()].filter((p) => p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('/'));
  const session = {
    server: 'mem',
    async command(line: string) {
      log.push(line);
      const [cmd, ...rest] = line.split(' ');
      const path = rest.join(' ');
      switch (cmd) {
        case 'RNFR':
          renameFrom = null;
          if (!fs.has(path)) return { code: 550, message: 'No such file' };
          renameFrom = path;
          return { code: 350, message: 'ok' };
        case 'RNTO': {
          if (renameFrom === null) return { code: 503, message: 'RNFR first' };
          if (fs.has(path)) {
            refusedOverwrites++;
            return { code: 550, message: 'File exists' };
          }
          if (!fs.has(path.slice(0, path.lastIndexOf('/')))) return { code: 550, message: 'No such directory' };
          for (const [p, v] of [...fs]) {
            if (p === renameFrom || p.startsWith(`${renameFrom}/`)) {
              fs.delete(p);
              fs.set(path + p.slice(renameFrom!.length), v);
            }
          }
          return { code: 250, message: 'ok' };
        }
        case 'SIZE': {
          const body = fs.get(path);
          return typeof body === 'string' ? { code: 213, message: `213 ${body.length}` } : { code: 550, message: 'No such file' };
        }
        case 'MKD':
          if (fs.has(path)) return { code: 550, message: 'exists' };
          if (path.lastIndexOf('/') > 0 && !fs.has(path.slice(0, path.lastIndexOf('/')))) return { code: 550, message: 'No such directory' };
          fs.set(path, null);
          return { code: 257, message: 'ok' };
        case 'DELE':
          return fs.delete(path) ? { code: 250, message: 'ok' } : { code: 550, message: 'No such file' };
        case 'RMD':
          if (children(path).length) return { code: 550, message: 'not empty' };
          return fs.delete(path) ? { code: 250, message: 'ok' } : { code: 550, message: 'No such file' };
        default:
          return { code: 502, message: 'no' };
      }
    },
    async list(dir: string): Promise<RemoteEntry[]> {
      if (fs.get(dir) !== null) throw new FtpsyncError('E_FTP', `mem ${dir}: 550 No such directory`, undefined, { ftpCode: 550 });
      return children(dir).map((p) => ({ name: p.slice(dir.length + 1), type: fs.get(p) === null ? 'dir' : 'file', size: 0 }));
    },
    async listTree(root: string) {
      const tree = new Map<string, RemoteEntry>();
      for (const [p, v] of fs)
        if (p.startsWith(`${root}/`)) tree.set(p.slice(root.length + 1), { name: p.split('/').pop()!, type: v === null ? 'dir' : 'file', size: 0 });
      return { tree, strategy: 'stat' as const, dataConnections: 0 };
    },
  } as unknown as RemoteSession;
  return { fs, log, session, refusedOverwrites: () => refusedOverwrites };
}

const sync = { name: 'site', remotePath: '/www', direction: 'upload', twoPhase: true, keepReleases: 1 } as unknown as SyncConfig;

describe('the switch of one file', () => {
  it('moves the live file aside, then renames the staged one in: never a rename onto an existing file', async () => {
    const m = memoryServer({ '/www/a.js': 'old', '/www/.ftpsync-tmp-sabc-a.js': 'new' });
    const notes: string[] = [];
    const r = new Release(
      sync,
      (fn) => fn(m.session),
      (t) => notes.push(t),
      () => new Date(Date.UTC(2026, 0, 1)),
    );
    await r.switchFile(m.session, { path: 'a.js', staged: '.ftpsync-tmp-sabc-a.js', size: 3 });
    expect(m.fs.get('/www/a.js')).toBe('new');
    expect(m.fs.get(`/www/.ftpsync-releases/${r.id!}.partial/a.js`)).toBe('old');
    expect(m.log.filter((l) => /^(RN|SIZE)/.test(l))).toEqual([
      'SIZE /www/.ftpsync-tmp-sabc-a.js',
      'RNFR /www/a.js',
      `RNTO /www/.ftpsync-releases/${r.id!}.partial/a.js`,
      'RNFR /www/.ftpsync-tmp-sabc-a.js',
      'RNTO /www/a.js',
    ]);
    await r.finish();
    expect(m.fs.get(`/www/.ftpsync-releases/${r.id!}/a.js`)).toBe('old');
  });

  it('a staged file deleted by someone else before the switch: the live file is put back, and the error names the staged file', async () => {
    const m = memoryServer({ '/www/a.js': 'old' });
    const r = new Release(
      sync,
      (fn) => fn(m.session),
      () => undefined,
    );
    await expect(r.switchFile(m.session, { path: 'a.js', staged: '.ftpsync-tmp-sabc-a.js', size: 9 })).rejects.toMatchObject({
      message: expect.stringMatching(/mem \/www\/\.ftpsync-tmp-sabc-a\.js: the staged file is gone .*\/www\/a\.js was left as it was/),
    });
    expect(m.fs.get('/www/a.js')).toBe('old');
  });

  it('a new file is recorded as added; an unfinished release is taken up again, keeping the first version it holds', async () => {
    const m = memoryServer({
      '/www/a.js': 'new-from-the-killed-run',
      '/www/.ftpsync-releases/20260101T000000Z-ab.partial/a.js': 'old',
      '/www/.ftpsync-tmp-s1-a.js': 'newer',
      '/www/.ftpsync-tmp-s1-b.js': 'b',
    });
    const notes: string[] = [];
    const r = new Release(
      sync,
      (fn) => fn(m.session),
      (t) => notes.push(t),
    );
    await r.switchFile(m.session, { path: 'a.js', staged: '.ftpsync-tmp-s1-a.js', size: 3 });
    await r.switchFile(m.session, { path: 'b.js', staged: '.ftpsync-tmp-s1-b.js', size: 3 });
    expect(notes).toEqual(['going on with the unfinished release 20260101T000000Z-ab (1 file(s) already moved aside)']);
    expect(m.fs.get('/www/.ftpsync-releases/20260101T000000Z-ab.partial/a.js')).toBe('old');
    expect(m.fs.has('/www/.ftpsync-releases/20260101T000000Z-ab.partial/.ftpsync-added/f~b.js')).toBe(true);
    expect(m.fs.get('/www/a.js')).toBe('newer');
  });

  it('a file the interrupted deploy added is its own: switched again, it is deleted, not moved aside into the release', async () => {
    const rel = '/www/.ftpsync-releases/20260101T000000Z-ab.partial';
    const m = memoryServer({
      '/www/js/a.js': 'added-by-the-killed-run',
      '/www/js/b.js': 'added-by-the-killed-run',
      [`${rel}/.ftpsync-added/f~js%2Fa.js/.keep`]: '',
      [`${rel}/.ftpsync-added/f~js%2Fb.js/.keep`]: '',
      '/www/js/.ftpsync-tmp-s1-a.js': 'new-a',
      '/www/js/.ftpsync-tmp-s1-b.js': 'new-b',
    });
    m.fs.delete(`${rel}/.ftpsync-added/f~js%2Fa.js/.keep`);
    m.fs.delete(`${rel}/.ftpsync-added/f~js%2Fb.js/.keep`);
    const r = new Release(
      sync,
      (fn) => fn(m.session),
      () => undefined,
    );
    await r.switchFile(m.session, { path: 'js/a.js', staged: 'js/.ftpsync-tmp-s1-a.js', size: 5 });
    expect(await r.switchBatch(m.session, [{ path: 'js/b.js', staged: 'js/.ftpsync-tmp-s1-b.js', reason: 'changed' }])).toEqual([null]);
    expect(m.fs.get('/www/js/a.js')).toBe('new-a');
    expect(m.fs.get('/www/js/b.js')).toBe('new-b');
    expect([...m.fs.keys()].filter((p) => p.startsWith(`${rel}/js`))).toEqual([]);
    expect(m.fs.has(`${rel}/.ftpsync-added/f~js%2Fa.js`) && m.fs.has(`${rel}/.ftpsync-added/f~js%2Fb.js`)).toBe(true);
  });

  it('releasesDir: the release goes there, outside the web root, and is completed and pruned there', async () => {
    const m = memoryServer({ '/www/a.js': 'old', '/www/.ftpsync-tmp-s1-a.js': 'new', '/rel/site/20250101T000000Z-aa/x.js': 'older' });
    const r = new Release(
      { ...sync, releasesDir: '/rel/site' },
      (fn) => fn(m.session),
      () => undefined,
      () => new Date(Date.UTC(2026, 0, 1)),
    );
    await r.switchFile(m.session, { path: 'a.js', staged: '.ftpsync-tmp-s1-a.js', size: 3 });
    await r.finish();
    expect(m.fs.get('/www/a.js')).toBe('new');
    expect(m.fs.get(`/rel/site/${r.id!}/a.js`)).toBe('old');
    expect([...m.fs.keys()].filter((p) => p.startsWith('/www/'))).toEqual(['/www/a.js']);
    // keepReleases 1: the older release is pruned.
    expect(m.fs.has('/rel/site/20250101T000000Z-aa')).toBe(false);
  });

  it('a file its failed batch switched already is left alone when retried on its own', async () => {
    const m = memoryServer({ '/www/a.js': 'new', '/www/.ftpsync-releases/20260101T000000Z-ab.partial/a.js': 'old' });
    const r = new Release(
      sync,
      (fn) => fn(m.session),
      () => undefined,
    );
    await r.switchFile(m.session, { path: 'a.js', staged: '.ftpsync-tmp-s1-a.js', size: 3 });
    expect(m.fs.get('/www/a.js')).toBe('new');
    expect(m.fs.get('/www/.ftpsync-releases/20260101T000000Z-ab.partial/a.js')).toBe('old');
  });

  it('keepReleases 0: after the switch nothing is kept', async () => {
    const m = memoryServer({ '/www/a.js': 'old', '/www/.ftpsync-tmp-s1-a.js': 'new' });
    const r = new Release(
      { ...sync, keepReleases: 0 },
      (fn) => fn(m.session),
      () => undefined,
    );
    await r.switchFile(m.session, { path: 'a.js', staged: '.ftpsync-tmp-s1-a.js', size: 3 });
    await r.finish();
    expect([...m.fs.keys()].sort()).toEqual(['/www', '/www/a.js']);
  });
});

describe('the switch of a batch (the commands pipelined on our sessions, one by one on this fake)', () => {
  it('two sessions at once, one slow: each makes the release directories it needs itself, parents first, and every old file goes aside', async () => {
    const m = memoryServer({
      '/www/a/x.js': 'old-x',
      '/www/a/b/y.js': 'old-y',
      '/www/a/.ftpsync-tmp-s1-x.js': 'new-x',
      '/www/a/b/.ftpsync-tmp-s1-y.js': 'new-y',
    });
    // The first session's commands reach the server late (a slow link): its MKD of "a" comes after
    // the second session's batch, which needs "a" for "a/b".
    const slow = { ...m.session, command: async (line: string) => (await new Promise((r) => setTimeout(r, 20)), m.session.command(line)) } as RemoteSession;
    const r = new Release(
      sync,
      (fn) => fn(m.session),
      () => undefined,
    );
    const [first, second] = await Promise.all([
      r.switchBatch(slow, [{ path: 'a/x.js', staged: 'a/.ftpsync-tmp-s1-x.js', reason: 'changed' }]),
      r.switchBatch(m.session, [{ path: 'a/b/y.js', staged: 'a/b/.ftpsync-tmp-s1-y.js', reason: 'changed' }]),
    ]);
    expect([...first, ...second]).toEqual([null, null]);
    const rel = `/www/.ftpsync-releases/${r.id!}.partial`;
    expect(m.fs.get(`${rel}/a/x.js`)).toBe('old-x');
    expect(m.fs.get(`${rel}/a/b/y.js`)).toBe('old-y');
    expect(m.fs.get('/www/a/b/y.js')).toBe('new-y');
  });

  it('replaced files aside then in, new ones recorded first, a missing staged file reported and its live file kept', async () => {
    const m = memoryServer({
      '/www/d/a.js': 'old-a',
      '/www/.ftpsync-tmp-s1-b.js': 'new-b',
      '/www/d/.ftpsync-tmp-s1-a.js': 'new-a',
      '/www/c.js': 'old-c',
      '/www/gone.js': 'was-here',
      '/www/.ftpsync-tmp-s1-gone.js': 'back',
    });
    const r = new Release(
      sync,
      (fn) => fn(m.session),
      () => undefined,
    );
    const out = await r.switchBatch(m.session, [
      { path: 'd/a.js', staged: 'd/.ftpsync-tmp-s1-a.js', reason: 'changed' },
      { path: 'b.js', staged: '.ftpsync-tmp-s1-b.js', reason: 'new' },
      { path: 'c.js', staged: '.ftpsync-tmp-s1-c.js', reason: 'changed' },
    ]);
    expect(out.map((e) => e?.message ?? null)).toEqual([
      null,
      null,
      expect.stringMatching(/mem \/www\/\.ftpsync-tmp-s1-c\.js: the staged file is gone .*\/www\/c\.js was left as it was/),
    ]);
    const rel = `/www/.ftpsync-releases/${r.id!}.partial`;
    expect(m.fs.get('/www/d/a.js')).toBe('new-a');
    expect(m.fs.get(`${rel}/d/a.js`)).toBe('old-a');
    expect(m.fs.get('/www/b.js')).toBe('new-b');
    expect(m.fs.has(`${rel}/.ftpsync-added/f~b.js`)).toBe(true);
    expect(m.fs.get('/www/c.js')).toBe('old-c');
    expect(m.fs.has(`${rel}/c.js`)).toBe(false);
    // Never a rename onto an existing name: the server here refuses those, and none was refused.
    expect(m.refusedOverwrites()).toBe(0);
  });
});

describe('rollback', () => {
  it('a batch whose session died half-way is sent again without its DELEs: a file already put back stays', async () => {
    const rel = '/www/.ftpsync-releases/20260101T000000Z-ab';
    const m = memoryServer({ '/www/a.js': 'new-a', '/www/b.js': 'new-b', [`${rel}/a.js`]: 'old-a', [`${rel}/b.js`]: 'old-b' });
    // The first session dies after its fourth command (a.js deleted and put back, b.js deleted).
    let sent = 0;
    const dying = {
      ...m.session,
      command: async (line: string) => {
        if (++sent > 4 && sent < 100) throw new Error('Client is closed');
        return m.session.command(line);
      },
    } as RemoteSession;
    // The first session lists the release and the live tree; the second sends the batch that puts files back.
    let uses = 0;
    const pool = { withSession: (fn: (s: RemoteSession) => Promise<unknown>) => fn(uses++ === 1 ? dying : m.session) } as unknown as RemotePool;
    const r = await rollbackSync(pool, sync, 1, 'mem');
    expect(r.restored).toBe(2);
    expect(m.fs.get('/www/a.js')).toBe('old-a');
    expect(m.fs.get('/www/b.js')).toBe('old-b');
  });
});
