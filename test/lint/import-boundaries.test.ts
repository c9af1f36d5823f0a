/**
 * The layering rules in eslint.config.js fire: each is run through ESLint's API on a small source
 * text placed (by its file path) in the folder the rule guards, next to the same text where it
 * is allowed. `npm run lint` then holds the real tree to them.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: REPO });
});

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${REPO}/${filePath}` });
  return result!.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

const importOf = (from: string) => `import { x } from '${from}';\nexport const y = x;\n`;

describe('import boundaries', () => {
  const cases: Array<{ file: string; from: string; allowed: boolean }> = [
    { file: 'src/plan/example.ts', from: '../remote/pool.js', allowed: false },
    { file: 'src/plan/example.ts', from: '../run/snapshot.js', allowed: false },
    { file: 'src/plan/deeper/example.ts', from: '../../run/apply.js', allowed: false },
    { file: 'src/plan/example.ts', from: '../core/actions.js', allowed: true },
    { file: 'src/plan/example.ts', from: '../budget/cost.js', allowed: true },
    { file: 'src/budget/example.ts', from: '../plan/types.js', allowed: false },
    { file: 'src/budget/example.ts', from: '../run/context.js', allowed: false },
    { file: 'src/budget/example.ts', from: '../core/actions.js', allowed: true },
    { file: 'src/remote/example.ts', from: '../plan/diff.js', allowed: false },
    { file: 'src/remote/example.ts', from: '../run/remote-lock.js', allowed: false },
    { file: 'src/remote/example.ts', from: '../cli/output.js', allowed: false },
    { file: 'src/remote/example.ts', from: '../budget/ledger.js', allowed: true },
    { file: 'src/core/example.ts', from: '../errors.js', allowed: false },
    { file: 'src/core/example.ts', from: './tree.js', allowed: true },
    // run/ sits above them all.
    { file: 'src/run/example.ts', from: '../plan/build.js', allowed: true },
  ];
  it.each(cases)('$file importing $from: allowed $allowed', async (c) => {
    const ids = await ruleIds(importOf(c.from), c.file);
    expect(ids).toEqual(c.allowed ? [] : ['no-restricted-imports']);
  });
});

describe('process.exit', () => {
  it.each([
    { file: 'src/run/example.ts', allowed: false },
    { file: 'src/cli/commands/example.ts', allowed: false },
    { file: 'src/cli/main.ts', allowed: true },
    { file: 'src/demo/main.ts', allowed: true },
  ])('in $file: allowed $allowed', async (c) => {
    const ids = await ruleIds('process.exit(1);\n', c.file);
    expect(ids).toEqual(c.allowed ? [] : ['no-restricted-properties']);
  });
});
