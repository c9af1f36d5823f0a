/**
 * Issue 17's house rules for size: no file in src/ over 350 lines (generated code aside), and the
 * CLI's commands thin (flags, rendering, exit codes; under ~80 lines each). A file that grows past
 * them is split where its parts belong (docs/architecture.md), not waved through.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../cli/helpers.js';

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').length - 1;
const sources = readdirSync(join(REPO, 'src'), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.generated.ts'))
  .map((e) => join(e.parentPath, e.name));

describe('file sizes (issue 17)', () => {
  it('finds the sources', () => {
    expect(sources.length).toBeGreaterThan(50);
  });

  it('no file in src/ is over 350 lines', () => {
    const over = sources.filter((f) => lines(f) > 350).map((f) => `${relative(REPO, f)}: ${lines(f)} lines`);
    expect(over).toEqual([]);
  });

  it('each cli/commands file is under 80 lines', () => {
    const over = sources
      .filter((f) => relative(REPO, f).startsWith('src/cli/commands/') && lines(f) >= 80)
      .map((f) => `${relative(REPO, f)}: ${lines(f)} lines`);
    expect(over).toEqual([]);
  });
});
