/** The small per-server JSON stores beside the manifest (.ftpsync/firewall.json, closes.json): read whole, written whole. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Every entry, by key; {} when the file is absent, unreadable or not an object (nothing learned). */
export function readJsonStore(file: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Written to a temporary file, then renamed: a crash never leaves half a store. */
export function writeJsonStore(file: string, all: Record<string, unknown>): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
  renameSync(tmp, file);
}
