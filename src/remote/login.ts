/** The control connection's handshake: connect (TLS as configured), log in, binary mode, UTF-8, and PROT P for TLS data. */
import type { Client } from 'basic-ftp';
import type { ServerConfig } from '../manifest/types.js';
import { controlTlsOptions } from './tls-options.js';

/** `onImplicitTls`: connectImplicitTLS makes a TLS socket of its own, which the caller must track. */
export async function handshake(client: Client, config: ServerConfig, onImplicitTls: () => void): Promise<void> {
  if (config.tls === 'implicit') {
    await client.connectImplicitTLS(config.host, config.port, controlTlsOptions(config));
    onImplicitTls();
  } else {
    await client.connect(config.host, config.port);
    if (config.tls === 'explicit') await client.useTLS(controlTlsOptions(config));
  }
  await client.login(config.user, config.password?.reveal() ?? '');
  await client.send('TYPE I');
  await client.sendIgnoringError('OPTS UTF8 ON');
  if (config.tls !== 'none') {
    await client.sendIgnoringError('PBSZ 0');
    await client.sendIgnoringError('PROT P');
  }
}
