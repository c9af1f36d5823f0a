/** ServerConfig for a test's FTP server on loopback (a scripted one or the demo server), plain FTP, passive. */
import { makeSecret } from '../../src/manifest/secret.js';
import type { ServerConfig } from '../../src/manifest/types.js';

type Over = Omit<Partial<ServerConfig>, 'firewall'> & { firewall?: Partial<ServerConfig['firewall']> };

export function loopbackConfig(name: string, port: number, { firewall, ...over }: Over = {}): ServerConfig {
  return {
    name,
    host: '127.0.0.1',
    port,
    user: 'u',
    password: makeSecret('pw', 'test'),
    tls: 'none',
    verifyCertificate: true,
    mode: 'passive',
    timeouts: { connectMs: 5_000, dataMs: 5_000 },
    dataClose: 'normal',
    listing: 'auto',
    ...over,
    firewall: {
      maxConnections: 100,
      timeWaitMs: 60_000,
      headroom: 0.8,
      parallel: 2,
      maxSessions: 4,
      onBlock: { policy: 'stop', maxWaitMs: 1000 },
      ...firewall,
    },
  };
}
