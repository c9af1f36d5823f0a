/** Fingerprints of a plan's inputs, so apply can refuse a plan whose world has changed. */
import { createHash } from 'node:crypto';
import type { LocalEntry, RemoteTree } from '../core/tree.js';

export function localDigest(entries: Map<string, LocalEntry>, hashes?: Map<string, string>): string {
  const h = createHash('sha256');
  for (const p of [...entries.keys()].sort()) {
    const e = entries.get(p)!;
    h.update(`${p}\0${e.type}\0${e.size}\0${e.type === 'file' ? e.mtimeMs : 0}\0${hashes?.get(p) ?? ''}\n`);
  }
  return h.digest('hex');
}

export function remoteDigest(tree: RemoteTree): string {
  const h = createHash('sha256');
  for (const p of [...tree.keys()].sort()) {
    const e = tree.get(p)!;
    h.update(`${p}\0${e.type}\0${e.size}\0${e.type === 'file' ? (e.mtimeMs ?? '') : ''}\n`);
  }
  return h.digest('hex');
}
