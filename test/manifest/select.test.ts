import { describe, expect, it } from 'vitest';
import { selectSyncs } from '../../src/manifest/select.js';
import type { Manifest, ServerConfig, SyncConfig } from '../../src/manifest/types.js';

const server = (name: string) => ({ name }) as ServerConfig;
const sync = (name: string, servers: string[]) => ({ name, servers }) as SyncConfig;
const manifest: Manifest = {
  version: 1,
  file: '/srv/ftpsync.yml',
  servers: { canary: server('canary'), eu: server('eu'), us: server('us') },
  syncs: [sync('site', ['canary', 'eu', 'us']), sync('logs', ['eu']), sync('docs', ['us'])],
  rollout: {
    stages: [
      { name: 'canary', servers: ['canary'] },
      { name: 'rest', servers: ['eu', 'us'] },
    ],
    haltOnFailure: true,
  },
};

describe('selectSyncs (--sync)', () => {
  it('keeps the named syncs, the servers they use and the stages that still have servers', () => {
    const m = selectSyncs(manifest, ['logs']);
    expect(m.syncs.map((s) => s.name)).toEqual(['logs']);
    expect(Object.keys(m.servers)).toEqual(['eu']);
    expect(m.rollout.stages).toEqual([{ name: 'rest', servers: ['eu'] }]);
  });
  it('with --server, each sync runs only on those servers', () => {
    const m = selectSyncs(manifest, ['site', 'docs'], ['us']);
    expect(m.syncs.map((s) => [s.name, s.servers])).toEqual([
      ['site', ['us']],
      ['docs', ['us']],
    ]);
    expect(m.rollout.stages).toEqual([{ name: 'rest', servers: ['us'] }]);
    expect(manifest.syncs[0]!.servers).toEqual(['canary', 'eu', 'us']);
  });
  it('refuses unknown syncs and servers, and an empty selection, naming what exists', () => {
    expect(() => selectSyncs(manifest, ['blog'])).toThrow('--sync blog: no such sync in /srv/ftpsync.yml');
    expect(() => selectSyncs(manifest, ['site'], ['asia'])).toThrow('--server asia: no such server');
    expect(() => selectSyncs(manifest, ['logs'], ['us'])).toThrow('nothing to do (logs on eu)');
  });
});
