import { describe, expect, it } from 'vitest';
import {
  countedAt,
  countedRange,
  diagnoseBlock,
  learnedLimitOutgrown,
  learnedMaxConnections,
  withLearnedLimit,
  type CountedSpan,
} from '../../src/budget/block-diagnosis.js';

/** n connections opened one after another from `start`, `every` ms apart, each counted for `lasts` ms. */
function ramp(n: number, start: number, every: number, lasts: number): CountedSpan[] {
  return Array.from({ length: n }, (_, i) => ({ from: start + i * every, until: start + i * every + lasts }));
}
const open = (n: number, from = 0): CountedSpan[] => Array.from({ length: n }, () => ({ from, until: Infinity }));

describe('countedAt and countedRange', () => {
  const spans = [...open(2), ...ramp(10, 1000, 100, 60_000)];
  it.each([
    [0, 2],
    [999, 2],
    [1000, 3],
    [1950, 12],
    [61_000, 11],
    [70_000, 2],
  ])('at %i ms: %i counted', (t, n) => expect(countedAt(spans, t)).toBe(n));
  it.each([
    [0, 500, 2, 2],
    [500, 1500, 2, 8],
    [1900, 61_050, 11, 12],
    [61_000, 100_000, 2, 11],
  ])('over [%i, %i]: least %i, most %i', (from, to, low, high) => expect(countedRange(spans, from, to)).toEqual({ low, high }));
});

describe('diagnoseBlock: the limit from the ledger around the last connection that got through, never the count when noticed', () => {
  // The issue's case: 238 downloads (TIME_WAIT 60 s) in 20 s, a CSF sampling every 30 s, the
  // failure noticed after a 65 s pause, when ftpsync counted 2.
  const issue = [...open(2, -100_000), ...ramp(238, 0, 84, 65_000)];
  const lastThrough = 237 * 84;
  it.each([
    {
      name: 'issue: fast phase, 30 s samples: between what it held 30 s before the last connection and what it held after',
      facts: { spans: issue, lastThroughAt: lastThrough, noticedAt: lastThrough + 65_000 + 30_000, sampleIntervalMs: 30_000 },
      want: { heldLow: 240, heldHigh: 240, limitAtLeast: 2, limitBelow: 240, countedMoreThanOurs: false },
    },
    {
      name: 'issue with 1 s samples: a narrow range (the passing sample looked for over 2 s: 24 connections)',
      facts: { spans: issue, lastThroughAt: lastThrough, noticedAt: lastThrough + 95_000, sampleIntervalMs: 1_000 },
      want: { heldLow: 240, heldHigh: 240, limitAtLeast: 216, limitBelow: 240, countedMoreThanOurs: false },
    },
    {
      // Samples at 0, 50, 100 ms; limit 30; a connection every 2.5 ms from t=0 (+2 sessions). The
      // sample at 50 ms counts 2 + 21 = 23 and passes; the one at 100 ms counts 43 and blocks, but
      // the firewall acts 20 ms later, so connections go on until 120 ms (49 in all). Over only the
      // interval before the last one the least held would be 31: above the limit. Over two: 11.
      name: 'a firewall slow to act on its sample: the range still holds the limit',
      facts: { spans: [...open(2, -100_000), ...ramp(49, 0, 2.5, 60_000)], lastThroughAt: 120, noticedAt: 3_120, sampleIntervalMs: 50 },
      want: { heldLow: 51, heldHigh: 51, limitAtLeast: 11, limitBelow: 51, countedMoreThanOurs: false },
    },
    {
      name: 'noticed before the interval ran out: the window ends at the failure',
      facts: { spans: [...open(2, -100_000), ...ramp(20, 0, 100, 1_000)], lastThroughAt: 1900, noticedAt: 2100, sampleIntervalMs: 30_000 },
      want: { heldLow: 10, heldHigh: 12, limitAtLeast: 2, limitBelow: 12, countedMoreThanOurs: false },
    },
    {
      name: 'flat count through the block: the firewall counted something ftpsync did not',
      facts: { spans: open(5), lastThroughAt: 10_000, noticedAt: 20_000, sampleIntervalMs: 1_000 },
      want: { heldLow: 5, heldHigh: 5, limitAtLeast: 4, limitBelow: 5, countedMoreThanOurs: true },
    },
  ])('$name', ({ facts, want }) => {
    const d = diagnoseBlock(facts);
    expect(d).toEqual(want);
    expect(d.limitAtLeast).toBeLessThan(d.limitBelow);
  });
});

describe('learnedMaxConnections: below the least count at which the block can have begun, with headroom', () => {
  const diag = (limitAtLeast: number, limitBelow: number) => ({
    heldLow: limitBelow,
    heldHigh: limitBelow,
    limitAtLeast,
    limitBelow,
    countedMoreThanOurs: false,
  });
  it.each([
    { name: 'what passed', d: diag(228, 240), fw: { maxConnections: 300, headroom: 0.8, parallel: 2 }, want: { maxConnections: 228, floored: false } },
    {
      name: 'never above the manifest',
      d: diag(50, 240),
      fw: { maxConnections: 40, headroom: 0.8, parallel: 2 },
      want: { maxConnections: 40, floored: false },
    },
    {
      name: 'floored so one session per parallel plus a data connection fits',
      d: diag(2, 240),
      fw: { maxConnections: 300, headroom: 0.8, parallel: 2 },
      want: { maxConnections: 4, floored: true },
    },
    { name: 'floored, headroom 1', d: diag(1, 10), fw: { maxConnections: 300, headroom: 1, parallel: 4 }, want: { maxConnections: 5, floored: true } },
  ])('$name', ({ d, fw, want }) => {
    const got = learnedMaxConnections(d, fw);
    expect(got).toEqual(want);
    // The gate it gives holds below what can have started the block, unless floored.
    if (!got.floored) expect(Math.floor(got.maxConnections * fw.headroom)).toBeLessThan(d.limitAtLeast + 1);
    expect(Math.floor(got.maxConnections * fw.headroom)).toBeGreaterThanOrEqual(fw.parallel + 1);
  });
});

describe('withLearnedLimit and learnedLimitOutgrown', () => {
  const learned = { maxConnections: 24, at: '2026-12-02T00:00:00.000Z', limitAtLeast: 24, limitBelow: 31 };
  it.each([
    { name: 'lowers an unconfirmed manifest value', fw: { maxConnections: 40 }, l: learned, want: 24 },
    { name: 'keeps a confirmed one', fw: { maxConnections: 40, confirmed: true }, l: learned, want: 40 },
    { name: 'keeps a lower manifest value', fw: { maxConnections: 20 }, l: learned, want: 20 },
    { name: 'nothing learned', fw: { maxConnections: 40 }, l: undefined, want: 40 },
  ])('$name', ({ fw, l, want }) => {
    const got = withLearnedLimit(fw, l, '/x/.ftpsync/firewall.json');
    expect(got.maxConnections).toBe(want);
    expect(got.learned !== undefined).toBe(want === 24);
    // Idempotent: applied twice, the same.
    expect(withLearnedLimit(got, l, '/x/.ftpsync/firewall.json')).toEqual(got);
  });
  it.each([
    [learned, 30, true],
    [learned, 24, false],
    [undefined, 500, false],
  ])('learned %j, a successful run peaking at %i: outgrown %s', (l, peak, want) => expect(learnedLimitOutgrown(l, peak)).toBe(want));
});
