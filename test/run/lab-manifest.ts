/** Manifest snippets for apply's lab tests (plain FTP, the lab's shared password variable). */
import { RELEASES_DIR } from '../../src/core/names.js';
import { STATE_FILE } from '../../src/plan/state.js';
import { LOCK_NAME } from '../../src/run/remote-lock.js';
import type { Lab, LabServerName } from '../lab/harness.js';

/** Files ftpsync itself keeps on the server: left out of tree comparisons. */
export const ours = (p: string): boolean =>
  p === LOCK_NAME || p.startsWith(`${LOCK_NAME}/`) || p === STATE_FILE || p === RELEASES_DIR || p.startsWith(`${RELEASES_DIR}/`);

/**
 * One entry of `servers:`. `server` adds indented lines to the server block (e.g. dataClose),
 * `firewall` adds `, key: value` pairs inside its flow mapping.
 */
export function serverYaml(lab: Lab, name: LabServerName, limit: number, extra: { server?: string; firewall?: string } = {}): string {
  const s = lab.servers[name];
  return `  ${name}:
    host: ${s.host}
    port: ${s.port}
    user: ${s.user}
    password: \${LAB_PASSWORD}
    tls: none
${extra.server ?? ''}    firewall: { maxConnections: ${limit}, timeWait: 60s, headroom: 0.8, parallel: 2, maxSessions: 4${extra.firewall ?? ''} }
`;
}
