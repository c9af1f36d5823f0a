// @ts-check
// Shared by the scripts that generate a checked-in file from the schema: rewrite it, or with
// --check exit 1 when it is out of date (the tests call the same render functions).
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Write `next` to `path` if it differs; with `check`, report and exit 1 instead.
 * @param {string} path
 * @param {string} next
 * @param {{ check: boolean, what: string, regenerate: string }} how
 */
export function writeOrCheck(path, next, { check, what, regenerate }) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // not generated yet
  }
  if (next === current) return;
  if (check) {
    process.stderr.write(`${what} is out of date: run ${regenerate}\n`);
    process.exit(1);
  }
  writeFileSync(path, next);
  process.stdout.write(`${what} updated\n`);
}
