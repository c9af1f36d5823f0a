/** TLS options for a server's control connection (data connections reuse them and its session). */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { ServerConfig } from '../manifest/types.js';

export function controlTlsOptions(config: Pick<ServerConfig, 'host' | 'servername' | 'ca' | 'verifyCertificate'>): ConnectionOptions {
  const o: ConnectionOptions = { rejectUnauthorized: config.verifyCertificate, servername: config.servername ?? (isIP(config.host) ? '' : config.host) };
  if (!o.servername) delete o.servername;
  if (config.ca) o.ca = readFileSync(config.ca);
  // Node verifies an IP host against the certificate's IP SANs when no servername is given.
  (o as ConnectionOptions & { host: string }).host = config.host;
  return o;
}
