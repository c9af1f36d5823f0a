import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SyncConfig } from '../../src/manifest/types.js';
import { readState, STATE_FILE } from '../../src/plan/state.js';
import type { PlannedAction } from '../../src/core/actions.js';
import type { ServerPlan } from '../../src/plan/types.js';
import type { RemoteSession } from '../../src/remote/types.js';
import { StateCheckpoints, StateTracker } from '../../src/run/state-checkpoints.js';

const H = (c: string) => c.repeat(64);
const up = (path: string, sha: string): Pick<PlannedAction, 'kind' | 'path' | 'size' | 'sha256'> => ({ kind: 'upload', path, size: 1, sha256: sha });

describe('StateTracker', () => {
  it('claims the base plus what landed; a checkpoint is due every N changes', () => {
    const t = new StateTracker({ keep: { size: 1, sha256: H('a') } }, 2);
    expect(t.hasUnwritten).toBe(false);
    t.landed(up('n1', H('b')));
    expect(t.due).toBe(false);
    t.landed({ kind: 'mkdir', path: 'd', size: 0 });
    expect(t.due).toBe(false);
    t.landed(up('n2', H('c')));
    expect(t.due).toBe(true);
    const { state, mark } = t.snapshot();
    expect(Object.keys(state.files)).toEqual(['keep', 'n1', 'n2']);
    t.landed({ kind: 'delete', path: 'keep', size: 0 });
    t.written(mark);
    // What landed after the snapshot is still unwritten.
    expect(t.hasUnwritten).toBe(true);
    expect(t.due).toBe(false);
    expect(Object.keys(t.snapshot().state.files)).toEqual(['n1', 'n2']);
  });
});

describe('StateCheckpoints', () => {
  function setup(n: number) {
    const dir = mkdtempSync(join(tmpdir(), 'ftpsync-ckpt-'));
    for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}.txt`), `file ${i}`);
    writeFileSync(join(dir, 'same.txt'), 'unchanged');
    const sync = {
      name: 'site',
      servers: ['s'],
      direction: 'upload',
      localPath: dir,
      remotePath: '/www',
      delete: false,
      exclude: [],
      include: [],
      compare: 'auto',
      last: [],
      protect: [],
      twoPhase: false,
      keepReleases: 1,
    } as SyncConfig;
    const actions: PlannedAction[] = Array.from({ length: n }, (_, i) => ({
      id: `s/site/upload/f${i}.txt`,
      server: 's',
      sync: 'site',
      kind: 'upload',
      path: `f${i}.txt`,
      size: 6,
      sha256: H('e'),
      reason: 'new',
      cost: { connections: 1, countedMs: 0 },
      stage: 100,
    }));
    actions.push({
      id: 's/site/write-state/x',
      server: 's',
      sync: 'site',
      kind: 'write-state',
      path: STATE_FILE,
      size: 0,
      reason: 'state',
      cost: { connections: 1, countedMs: 0 },
      stage: 9999,
    });
    const plan = { server: 's', actions } as unknown as ServerPlan;
    const writes: Array<{ path: string; files: number }> = [];
    const session = {
      writeSmallFile: async (path: string, body: Buffer) => {
        const r = readState(body);
        if (r.status !== 'ok') throw new Error('wrote an unreadable state');
        writes.push({ path, files: Object.keys(r.state.files).length });
      },
    } as unknown as RemoteSession;
    return { sync, plan, actions, writes, session };
  }

  it('writes every 200 landed files and at the end; each checkpoint claims the unchanged files plus what landed', async () => {
    const { sync, plan, actions, writes, session } = setup(450);
    const errors: string[] = [];
    const cp = await StateCheckpoints.forPlan(
      plan,
      [sync],
      (fn) => fn(session),
      (m) => errors.push(m),
    );
    for (const a of actions.slice(0, 450)) await cp.landed(a);
    expect(writes).toEqual([
      { path: `/www/${STATE_FILE}`, files: 201 },
      { path: `/www/${STATE_FILE}`, files: 401 },
    ]);
    await cp.checkpoint();
    expect(writes.at(-1)!.files).toBe(451);
    await cp.final(session, 'site');
    expect(writes.at(-1)!.files).toBe(451);
    expect(errors).toEqual([]);
  });

  it('a failed checkpoint is said, not thrown, and the next one covers it', async () => {
    const { sync, plan, actions, writes, session } = setup(3);
    let fail = true;
    const flaky = {
      writeSmallFile: async (p: string, b: Buffer) => {
        if (fail) throw new Error('421 gone');
        return session.writeSmallFile(p, b);
      },
    } as unknown as RemoteSession;
    const errors: string[] = [];
    const cp = await StateCheckpoints.forPlan(
      plan,
      [sync],
      (fn) => fn(flaky),
      (m) => errors.push(m),
      2,
    );
    for (const a of actions.slice(0, 2)) await cp.landed(a);
    expect(errors).toEqual([expect.stringMatching(/checkpoint of .ftpsync-state.json \(sync site\) failed: 421 gone/)]);
    fail = false;
    await cp.checkpoint();
    expect(writes).toEqual([{ path: `/www/${STATE_FILE}`, files: 3 }]);
  });

  it('a sync without a write-state action keeps no state', async () => {
    const { sync, actions, writes, session } = setup(2);
    const cp = await StateCheckpoints.forPlan(
      { server: 's', actions: actions.slice(0, 2) } as unknown as ServerPlan,
      [sync],
      (fn) => fn(session),
      () => undefined,
      1,
    );
    for (const a of actions.slice(0, 2)) await cp.landed(a);
    await cp.checkpoint();
    expect(writes).toEqual([]);
  });
});
