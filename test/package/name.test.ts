/**
 * The npm name is ftpsync-paced; "ftpsync" on the registry is an unrelated project. No tracked
 * file may point users at that one: an install command, a path into its node_modules folder, its
 * registry page, or an npx that would fetch it by name.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../cli/helpers.js';

const WRONG = [
  /node_modules\/ftpsync\//,
  /npmjs\.(?:com|org)\/(?:package\/)?ftpsync(?![\w-])/,
  /\b(?:npm (?:i|install|add)|yarn add|pnpm add)(?: -[A-Za-z-]+)* ftpsync(?![\w-])/,
  /\bnpx (?:-y |--yes )ftpsync(?![\w-])/,
  /\bnpx -p ftpsync(?![\w-])/,
  /"ftpsync": "(?:\^|~)?\d/,
];

describe('package name', () => {
  it('no tracked file names the unrelated npm package "ftpsync" as ours', () => {
    const files = spawnSync('git', ['ls-files'], { cwd: REPO, encoding: 'utf8' })
      .stdout.split('\n')
      .filter((f) => f && !f.startsWith('examples/site/') && !f.startsWith('bench/results/') && f !== 'test/package/name.test.ts');
    expect(files.length).toBeGreaterThan(100);
    const hits: string[] = [];
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(join(REPO, f), 'utf8');
      } catch {
        continue;
      }
      text.split('\n').forEach((line, i) => {
        if (WRONG.some((re) => re.test(line))) hits.push(`${f}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(hits).toEqual([]);
  });

  it('the patterns catch what they are for', () => {
    for (const bad of [
      'npm install -D ftpsync',
      '$schema=./node_modules/ftpsync/schemas/x.json',
      'https://www.npmjs.com/package/ftpsync',
      'npx -y ftpsync init',
      'npx -p ftpsync ftpsync init',
      '"ftpsync": "^0.2.0"',
    ]) {
      expect(
        WRONG.some((re) => re.test(bad)),
        bad,
      ).toBe(true);
    }
    for (const good of [
      'npm install -D ftpsync-paced',
      './node_modules/ftpsync-paced/schemas/x.json',
      'npx -p ftpsync-paced ftpsync init',
      'npx --no ftpsync plan',
    ]) {
      expect(
        WRONG.some((re) => re.test(good)),
        good,
      ).toBe(false);
    }
  });
});
