/** ServerConfig for a lab server, as the manifest loader would produce it. */
import type { ServerConfig } from '../src/manifest/types.js';
import { makeSecret } from '../src/manifest/secret.js';
import type { LabServer } from './lab-client.js';

export function labServerConfig(s: LabServer, over: Partial<ServerConfig> = {}): ServerConfig {
  return {
    name: s.name,
    host: s.host,
    port: s.port,
    user: s.user,
    password: makeSecret(s.password, 'lab'),
    tls: 'none',
    verifyCertificate: true,
    ca: s.caFile,
    mode: 'passive',
    timeouts: { connectMs: 10_000, dataMs: 15_000 },
    dataClose: 'normal',
    listing: 'auto',
    firewall: { maxConnections: 100, timeWaitMs: 60_000, headroom: 0.8, parallel: 2, maxSessions: 4, onBlock: { policy: 'stop', maxWaitMs: 60_000 } },
    ...over,
  };
}
