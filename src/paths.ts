import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: one level above src/ (tests) or dist/ (the built CLI). */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function schemaPath(name: string): string {
  return join(PACKAGE_ROOT, 'schemas', name);
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
