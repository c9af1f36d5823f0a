/** Rollout ordering (pure, with an injected per-server runner and a manual clock of events). */
import { describe, expect, it } from 'vitest';
import { runRollout } from '../../src/run/rollout.js';

function recorder(failing: Set<string>) {
  const events: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const run = async (server: string) => {
    events.push(`start ${server}`);
    running++;
    maxRunning = Math.max(maxRunning, running);
    // Let the other servers of the stage start before this one ends.
    await new Promise((r) => setImmediate(r));
    running--;
    events.push(`end ${server}`);
    return { server, ok: !failing.has(server) };
  };
  return { events, run, maxRunning: () => maxRunning };
}

describe('runRollout', () => {
  const rollout = (haltOnFailure: boolean) => ({
    haltOnFailure,
    stages: [
      { name: 'canary', servers: ['a'] },
      { name: 'rest', servers: ['b', 'c'] },
      { name: 'last', servers: ['d'] },
    ],
  });
  const all = ['a', 'b', 'c', 'd'];

  it('runs stages in order and the servers of a stage in parallel', async () => {
    const r = recorder(new Set());
    const stages: string[] = [];
    const out = await runRollout(rollout(true), all, r.run, (name, servers) => stages.push(`${name}:${servers.join(',')}`));
    expect(stages).toEqual(['canary:a', 'rest:b,c', 'last:d']);
    expect(r.events).toEqual(['start a', 'end a', 'start b', 'start c', 'end b', 'end c', 'start d', 'end d']);
    expect(r.maxRunning()).toBe(2);
    expect(out.notRun).toEqual([]);
    expect(out.results.map((x) => x.ok)).toEqual([true, true, true, true]);
  });

  it('a failed server halts the stages after it (its own stage finishes), listing who kept the old release', async () => {
    const r = recorder(new Set(['b']));
    const out = await runRollout(rollout(true), all, r.run);
    expect(out.results.map((x) => `${x.server}:${x.ok}`)).toEqual(['a:true', 'b:false', 'c:true']);
    expect(out.notRun).toEqual(['d']);
    expect(r.events).not.toContain('start d');
  });

  it('with haltOnFailure false every stage runs', async () => {
    const r = recorder(new Set(['a']));
    const out = await runRollout(rollout(false), all, r.run);
    expect(out.results).toHaveLength(4);
    expect(out.notRun).toEqual([]);
  });

  it('--server: servers left out of the plan are neither run nor reported as not run', async () => {
    const r = recorder(new Set(['a']));
    const out = await runRollout(rollout(true), ['a', 'd'], r.run);
    expect(out.results.map((x) => x.server)).toEqual(['a']);
    expect(out.notRun).toEqual(['d']);
  });
});
