import { describe, expect, it } from 'vitest';
import { FtpsyncError } from '../../src/errors.js';
import { BLOCK_PROBE_EVERY_MS, BlockWait, type BlockWaitDeps } from '../../src/run/block-wait.js';

const BLOCK = new FtpsyncError('E_TIMEOUT', 'web: timeout after 30 s');
const STILL_BLOCKED = new FtpsyncError('E_TIMEOUT', 'web: timeout again');

/** A BlockWait on a fake clock; `probes` says what each probe does (throw or succeed). */
function setup(onBlock: BlockWaitDeps['onBlock'], probes: Array<Error | null>) {
  let t = 0;
  const log: string[] = [];
  let idle = 0;
  const deps: BlockWaitDeps = {
    server: 'web',
    onBlock,
    gate: { halt: () => log.push('halt'), resume: () => log.push('resume') },
    explain: (e, again) => `explained${again ? ' again' : ''}: ${e.message}`,
    reporter: { blocked: (text) => log.push(`blocked ${text}`), note: (_s, text) => log.push(`note ${text.split(':')[0]}`) },
    probe: async () => {
      log.push('probe');
      const p = probes.shift();
      if (p === undefined) throw new Error('more probes than the test expected');
      if (p) throw p;
    },
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    onIdle: (ms) => (idle += ms),
  };
  return { blocks: new BlockWait(deps), log, idle: () => idle, clock: () => t };
}

describe('the block-wait state machine', () => {
  it('policy stop: halts the gate, makes sure with one probe, explains, and stops the run', async () => {
    const { blocks, log } = setup({ policy: 'stop', maxWaitMs: 60_000 }, [STILL_BLOCKED]);
    expect(await blocks.waitOut(BLOCK)).toBe('stop');
    expect(blocks.halted).toBe(BLOCK);
    expect(blocks.noticed).toBe(true);
    expect(log).toEqual(['halt', 'resume', 'probe', 'halt', 'blocked explained: web: timeout after 30 s']);
    // Once halted, later callers stop at once.
    expect(await blocks.waitOut(BLOCK)).toBe('stop');
    expect(log).toHaveLength(5);
  });

  it('a server that still answers has not blocked us: not-blocked, nothing explained or learned, the gate open', async () => {
    const { blocks, log } = setup({ policy: 'stop', maxWaitMs: 60_000 }, [null, STILL_BLOCKED]);
    expect(await blocks.waitOut(BLOCK)).toBe('not-blocked');
    expect(blocks.halted).toBeNull();
    expect(blocks.noticed).toBe(false);
    expect(log).toEqual(['halt', 'resume', 'probe', 'note web']);
    // A later failure is checked again (a real block may still come).
    expect(await blocks.waitOut(BLOCK)).toBe('stop');
    expect(log.filter((l) => l === 'probe')).toHaveLength(2);
    expect(blocks.noticed).toBe(true);
  });

  it('policy wait: sleeps a step, resumes the gate, probes; a probe that works resumes the run', async () => {
    const { blocks, log, idle, clock } = setup({ policy: 'wait', maxWaitMs: 60_000 }, [STILL_BLOCKED, STILL_BLOCKED, null]);
    expect(await blocks.waitOut(BLOCK)).toBe('retry');
    expect(blocks.halted).toBeNull();
    expect(log).toEqual([
      'halt',
      'resume',
      'probe',
      'halt',
      'blocked explained: web: timeout after 30 s',
      'note not opening connections',
      'resume',
      'probe',
      'halt',
      'note not opening connections',
      'resume',
      'probe',
      'note the block lifted after 30s',
    ]);
    expect(clock()).toBe(2 * BLOCK_PROBE_EVERY_MS);
    expect(idle()).toBe(2 * BLOCK_PROBE_EVERY_MS);
  });

  it('a probe that fails for another reason than a block resumes too (the action decides)', async () => {
    const { blocks, log } = setup({ policy: 'wait', maxWaitMs: 60_000 }, [STILL_BLOCKED, new FtpsyncError('E_FTP', 'web: 550 no such directory')]);
    expect(await blocks.waitOut(BLOCK)).toBe('retry');
    expect(log.at(-1)).toBe('note probe after the block');
  });

  it('gives up after maxWait over the whole run, with E_BLOCKED and a hint', async () => {
    const { blocks, clock } = setup({ policy: 'wait', maxWaitMs: 40_000 }, [STILL_BLOCKED, STILL_BLOCKED, STILL_BLOCKED, STILL_BLOCKED]);
    expect(await blocks.waitOut(BLOCK)).toBe('stop');
    // Steps of 15 s, the last one cut to what is left of the 40 s.
    expect(clock()).toBe(40_000);
    expect(blocks.halted?.code).toBe('E_BLOCKED');
    expect(blocks.halted?.message).toBe('web: still blocked after waiting 40s: web: timeout after 30 s');
    expect(blocks.halted?.hint).toMatch(/resumes where it stopped/);
  });

  it('a second block in the same run stops it at once, whatever the policy, explained as a second block', async () => {
    const { blocks, clock, log } = setup({ policy: 'wait', maxWaitMs: 40 * 60_000 }, [STILL_BLOCKED, null]);
    expect(await blocks.waitOut(BLOCK, 0)).toBe('retry');
    expect(clock()).toBe(15_000);
    // An attempt that started before the run resumed failed on the first block: retried, not a second block.
    expect(await blocks.waitOut(STILL_BLOCKED, 14_000)).toBe('retry');
    expect(blocks.halted).toBeNull();
    expect(await blocks.waitOut(STILL_BLOCKED, 16_000)).toBe('stop');
    expect(clock()).toBe(15_000);
    expect(blocks.halted?.code).toBe('E_BLOCKED');
    expect(blocks.halted?.message).toBe('web: blocked a second time in this run: web: timeout again');
    expect(log.filter((l) => l.startsWith('blocked'))).toEqual(['blocked explained: web: timeout after 30 s', 'blocked explained again: web: timeout again']);
    expect(log.at(-2)).toBe('halt');
  });

  it('workers that hit the block together share one wait', async () => {
    const { blocks, log } = setup({ policy: 'wait', maxWaitMs: 60_000 }, [STILL_BLOCKED, null]);
    const [a, b, c] = await Promise.all([blocks.waitOut(BLOCK), blocks.waitOut(BLOCK), blocks.waitOut(BLOCK)]);
    expect([a, b, c]).toEqual(['retry', 'retry', 'retry']);
    expect(log.filter((l) => l === 'probe')).toHaveLength(2);
    expect(log.filter((l) => l.startsWith('blocked'))).toHaveLength(1);
  });
});
