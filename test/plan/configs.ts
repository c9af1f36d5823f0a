/** Normalized server and sync configs for the plan's unit tests: one definition, each test overrides what it is about. */
import type { FirewallConfig, ServerConfig, SyncConfig } from '../../src/manifest/types.js';

export function serverConfig(o: Partial<Omit<ServerConfig, 'firewall'>> & { firewall?: Partial<FirewallConfig> } = {}): ServerConfig {
  const { firewall, ...rest } = o;
  return {
    name: 'prod',
    host: 'ftp.example.com',
    port: 21,
    user: 'deploy',
    tls: 'explicit',
    verifyCertificate: true,
    mode: 'passive',
    timeouts: { connectMs: 15_000, dataMs: 30_000 },
    dataClose: 'auto',
    listing: 'auto',
    ...rest,
    firewall: {
      maxConnections: 100,
      timeWaitMs: 240_000,
      headroom: 0.8,
      parallel: 2,
      maxSessions: 4,
      onBlock: { policy: 'stop', maxWaitMs: 60_000 },
      ...firewall,
    },
  };
}

export function syncConfig(o: Partial<SyncConfig> = {}): SyncConfig {
  return {
    name: 'site',
    servers: ['prod'],
    direction: 'upload',
    localPath: '/srv/site',
    remotePath: '/www',
    delete: false,
    exclude: [],
    include: [],
    compare: 'size-mtime',
    last: [],
    protect: [],
    twoPhase: false,
    keepReleases: 1,
    ...o,
  };
}
