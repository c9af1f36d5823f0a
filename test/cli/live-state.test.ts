/**
 * The live view's state (pure, fake clock), which renderer a run gets, and the plain and JSON
 * reporters' output held to the exact lines they printed before the live view existed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PlannedAction } from '../../src/core/actions.js';
import { LiveState } from '../../src/cli/live-state.js';
import { useLiveView } from '../../src/cli/live-view.js';
import type { ServerResult } from '../../src/run/executor.js';
import { makeReporter } from '../../src/run/progress.js';

const download = (path: string, size: number) => ({ id: path, kind: 'download', path, size, sync: 'logs', stage: 0 }) as unknown as PlannedAction;
const result = (over: Partial<ServerResult>): ServerResult => ({
  server: 'web',
  ok: true,
  done: {},
  skippedFromJournal: 0,
  failed: [],
  bytes: 0,
  connections: { control: 1, data: 0 },
  peakCounted: 0,
  elapsedMs: 0,
  ...over,
});

describe('which renderer', () => {
  const tty = { json: false, isTTY: true, env: { TERM: 'xterm' } };
  it('the live view only on a terminal, outside CI, without --json, on a terminal that can move the cursor', () => {
    expect(useLiveView(tty)).toBe(true);
    expect(useLiveView({ ...tty, isTTY: false })).toBe(false);
    expect(useLiveView({ ...tty, isTTY: undefined })).toBe(false);
    expect(useLiveView({ ...tty, json: true })).toBe(false);
    expect(useLiveView({ ...tty, env: { CI: 'true' } })).toBe(false);
    expect(useLiveView({ ...tty, env: { CI: '1' } })).toBe(false);
    expect(useLiveView({ ...tty, env: { CI: 'false' } })).toBe(true);
    expect(useLiveView({ ...tty, env: { TERM: 'dumb' } })).toBe(false);
  });
});

describe('LiveState', () => {
  const totals = { phases: 2, actions: 4, files: 4, bytes: 4096, etaMs: 20_000 };

  it('a server waiting for its lock and plan, then its phase, files, bytes and counted connections', () => {
    const s = new LiveState();
    s.stage('canary', ['web']);
    expect(s.title('web', 0)).toBe('web [stage canary] locking and planning');
    s.start('web', totals, 1000);
    s.phase('web', 1, 2);
    s.progress('web', download('a', 1024), 3, 6);
    expect(s.title('web', 2000)).toBe('web [stage canary] phase 1/2 · files 1/4 · 1.0 KiB/4.0 KiB · counted 3/6 · ETA 19s');
  });

  it('the pause counts down in whole seconds and the ETA never says less than the pause still takes', () => {
    const s = new LiveState();
    s.stage('all', ['web']);
    s.start('web', { ...totals, etaMs: 5000 }, 0);
    s.phase('web', 1, 2);
    s.pause('web', 12_000, 6, 6, 1000);
    expect(s.title('web', 1000)).toBe('web [stage all] phase 1/2 · files 0/4 · 0 B/4.0 KiB · counted 6/6 · pause 12s · ETA 12s');
    expect(s.title('web', 1001)).toContain('pause 12s');
    expect(s.title('web', 2000)).toContain('pause 11s');
    expect(s.title('web', 12_500)).toContain('pause 1s · ETA 1s');
    s.phase('web', 2, 2);
    expect(s.title('web', 13_000)).toBe('web [stage all] phase 2/2 · files 0/4 · 0 B/4.0 KiB · counted 6/6 · ETA 0s');
  });

  it("notes and the block detector's explanation become the matching server's sub-lines; others are not claimed", () => {
    const s = new LiveState();
    s.stage('all', ['web', 'web2']);
    expect(s.note('web', 'failed: upload a.html: 553 no')).toBe(true);
    expect(s.blocked('web2: Timeout (control socket)\nThis looks like a firewall block: ...')).toBe(true);
    expect(s.get('web')!.lines).toEqual(['failed: upload a.html: 553 no']);
    expect(s.get('web2')!.lines).toEqual(['BLOCKED? Timeout (control socket)', 'This looks like a firewall block: ...']);
    expect(s.note('other', 'x')).toBe(false);
    expect(s.blocked('other: Timeout')).toBe(false);
  });

  it('the task line when a run ends, well or not', () => {
    const s = new LiveState();
    s.stage('all', ['web']);
    s.start('web', totals, 0);
    s.phase('web', 2, 2);
    s.end(result({ ok: false, error: '1 action(s) failed' }), 61_000);
    expect(s.title('web', 70_000)).toBe('web [stage all] FAILED in 1m01s: phase 2/2 · files 0/4 · 0 B/4.0 KiB');
    expect(s.get('web')!.error).toBe('1 action(s) failed');
  });
});

describe('the plain and JSON reporters print what they printed before', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-24T10:00:00.123Z'));
  });
  afterEach(() => vi.useRealTimers());

  function feed(json: boolean): string[] {
    const lines: string[] = [];
    const r = makeReporter({ json, line: (l) => lines.push(l), everyN: 2 });
    r.serverStart?.('web', { phases: 2, actions: 2, files: 2, bytes: 10, etaMs: 1000 });
    r.phase('web', 1, 2, 2, 2);
    r.progress('web', download('a.log', 4), 1, 6);
    r.progress('web', download('b.log', 6), 2, 6);
    r.pause('web', 65_000, 2, 6);
    r.blocked('web: Timeout');
    r.note('web', 'failed: download c.log: 550');
    r.serverEnd?.(result({}));
    return lines;
  }

  it('plain lines', () => {
    expect(feed(false)).toEqual([
      '2026-11-24T10:00:00Z web: phase 1/2: 2 action(s), 2 counted connection(s)',
      '2026-11-24T10:00:00Z web: 2 action(s) done; 2/6 connections counted',
      '2026-11-24T10:00:00Z web: pausing 1m05s: 2/6 connections still counted by the firewall',
      '2026-11-24T10:00:00Z BLOCKED? web: Timeout',
      '2026-11-24T10:00:00Z web: failed: download c.log: 550',
    ]);
  });

  it('JSON events', () => {
    const at = '2026-11-24T10:00:00.123Z';
    expect(feed(true).map((l) => JSON.parse(l) as unknown)).toEqual([
      { at, event: 'phase', server: 'web', phase: 1, phases: 2, actions: 2, connections: 2 },
      { at, event: 'action', server: 'web', kind: 'download', path: 'a.log', size: 4, counted: 1, limit: 6 },
      { at, event: 'action', server: 'web', kind: 'download', path: 'b.log', size: 6, counted: 2, limit: 6 },
      { at, event: 'pause', server: 'web', ms: 65_000, counted: 2, limit: 6 },
      { at, event: 'blocked', explanation: 'web: Timeout' },
      { at, event: 'note', server: 'web', text: 'failed: download c.log: 550' },
    ]);
  });
});
