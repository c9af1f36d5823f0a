import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: one level above src/ (tests) or dist/ (the built CLI). */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function schemaPath(name: string): string {
  return join(PACKAGE_ROOT, 'schemas', name);
}

function packageJson(): { name: string; version: string } {
  return JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
}

export function packageVersion(): string {
  return packageJson().version;
}

/** The npm name (ftpsync-paced); the command it installs is `ftpsync`. */
export function packageName(): string {
  return packageJson().name;
}
