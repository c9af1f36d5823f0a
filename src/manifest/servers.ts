import { FtpsyncError } from '../errors.js';
import type { Manifest } from './types.js';

/** Every named server must be in the manifest; `label` says where the name came from (`--server`, `probe`). */
export function assertKnownServers(manifest: Manifest, names: readonly string[], label: string): void {
  for (const name of names) {
    if (!manifest.servers[name])
      throw new FtpsyncError('E_USAGE', `${label} ${name}: no such server in ${manifest.file}`, `Known servers: ${Object.keys(manifest.servers).join(', ')}`);
  }
}
