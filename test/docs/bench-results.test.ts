/** docs/benchmarks.md cites raw bench runs by file name; .gitignore keeps only those in git. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../cli/helpers.js';

const doc = readFileSync(join(REPO, 'docs/benchmarks.md'), 'utf8');
const gitignore = readFileSync(join(REPO, '.gitignore'), 'utf8').split('\n');
// Cited in full (bench-2026-11-25T09-39-36-776Z.json) or after an ellipsis (…T10-37-41-601Z.json).
const cited = [...new Set([...doc.matchAll(/(?:bench-\d{4}-\d\d-\d\d|…)(T\d\d-\d\d-\d\d-\d+Z\.json)/g)].map((m) => m[1]!))];
const kept = gitignore.filter((l) => l.startsWith('!bench/results/')).map((l) => l.slice(1));

describe('bench results cited by docs/benchmarks.md', () => {
  it('cites some runs', () => {
    expect(cited.length).toBeGreaterThan(0);
  });

  it.each(cited)('keeps …%s in git (a ! line in .gitignore) and on disk', (tail) => {
    const matches = kept.filter((f) => f.endsWith(tail));
    expect(matches, `add !bench/results/bench-<date>${tail} to .gitignore`).toHaveLength(1);
    expect(existsSync(join(REPO, matches[0]!))).toBe(true);
  });
});
