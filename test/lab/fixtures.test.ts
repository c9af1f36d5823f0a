import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareTrees, generateTree, hashTree } from '../../lab/fixtures.js';

describe('fixture trees', () => {
  const base = mkdtempSync(join(tmpdir(), 'ftpsync-fixtures-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('is deterministic for a seed and different for another', () => {
    const opts = { seed: 7, files: 300, dirs: 20, depth: 4, exotic: true };
    const a = generateTree(join(base, 'a'), opts);
    const b = generateTree(join(base, 'b'), opts);
    expect(a).toHaveLength(300);
    expect(compareTrees(join(base, 'a'), join(base, 'b')).equal).toBe(true);
    generateTree(join(base, 'c'), { ...opts, seed: 8 });
    expect(compareTrees(join(base, 'a'), join(base, 'c')).equal).toBe(false);
    expect(b.some((f) => f.includes(' '))).toBe(true);
    expect(b.some((f) => /[^\x00-\x7f]/.test(f))).toBe(true);
    expect(b.some((f) => f.split('/').some((seg) => seg.startsWith('-')))).toBe(true);
    expect(Math.max(...b.map((f) => f.split('/').length))).toBeGreaterThanOrEqual(3);
  });

  it('writes large files of the asked size', () => {
    const files = generateTree(join(base, 'large'), { seed: 1, files: 2, dirs: 1, largeFiles: 1, largeSize: 3 * 1024 * 1024 + 5 });
    expect(files).toContain('large0.bin');
    expect(statSync(join(base, 'large', 'large0.bin')).size).toBe(3 * 1024 * 1024 + 5);
  });

  it('reports missing, extra and different files', () => {
    generateTree(join(base, 'x'), { seed: 3, files: 10, dirs: 2 });
    generateTree(join(base, 'y'), { seed: 3, files: 10, dirs: 2 });
    const files = [...hashTree(join(base, 'y')).entries()].filter(([, h]) => h !== 'dir').map(([f]) => f);
    writeFileSync(join(base, 'y', files[0] ?? 'none'), 'changed');
    rmSync(join(base, 'y', files[1] ?? 'none'));
    writeFileSync(join(base, 'y', 'extra.txt'), 'extra');
    const d = compareTrees(join(base, 'x'), join(base, 'y'));
    expect(d).toEqual({ equal: false, missing: [files[1]], extra: ['extra.txt'], different: [files[0]] });
  });
});
