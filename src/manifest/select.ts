import { FtpsyncError } from '../errors.js';
import { assertKnownServers } from './servers.js';
import type { Manifest } from './types.js';

/**
 * The manifest narrowed to the syncs named by `--sync` (and the servers named by `--server`, when
 * given): only those syncs, each on only the chosen servers; only the servers they use; rollout
 * stages keep their order, without servers that have nothing to do. Pure: planning and applying
 * then see a smaller manifest and need no filter of their own.
 */
export function selectSyncs(manifest: Manifest, syncNames: readonly string[], serverNames?: readonly string[]): Manifest {
  const known = manifest.syncs.map((s) => s.name);
  for (const name of syncNames) {
    if (!known.includes(name)) throw new FtpsyncError('E_USAGE', `--sync ${name}: no such sync in ${manifest.file}`, `Known syncs: ${known.join(', ')}`);
  }
  if (serverNames) assertKnownServers(manifest, serverNames, '--server');
  const syncs = manifest.syncs
    .filter((s) => syncNames.includes(s.name))
    .map((s) => ({ ...s, servers: serverNames ? s.servers.filter((n) => serverNames.includes(n)) : s.servers }))
    .filter((s) => s.servers.length > 0);
  if (syncs.length === 0) {
    const where = manifest.syncs.filter((s) => syncNames.includes(s.name)).map((s) => `${s.name} on ${s.servers.join(', ')}`);
    throw new FtpsyncError(
      'E_USAGE',
      `--sync ${syncNames.join(', ')} with --server ${serverNames!.join(', ')}: nothing to do (${where.join('; ')})`,
      'Name a server the sync runs on, or leave out --server.',
    );
  }
  const used = new Set(syncs.flatMap((s) => s.servers));
  return {
    ...manifest,
    servers: Object.fromEntries(Object.entries(manifest.servers).filter(([n]) => used.has(n))),
    syncs,
    rollout: {
      ...manifest.rollout,
      stages: manifest.rollout.stages.map((st) => ({ ...st, servers: st.servers.filter((n) => used.has(n)) })).filter((st) => st.servers.length > 0),
    },
  };
}
