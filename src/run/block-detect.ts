/**
 * Recognising a firewall block (pure): timeouts or refused/reset connections after a streak of
 * successes look like a silent drop. The explanation says what the ledger saw and what to change.
 */
import { formatDuration } from '../manifest/duration.js';
import type { ServerConfig } from '../manifest/types.js';
import type { ErrorClass } from '../remote/errors.js';

export interface BlockEvidence {
  errorClass: ErrorClass;
  /** Actions that succeeded before this failure on this server. */
  successesBefore: number;
  /** The failure was a reset/refusal (not a timeout), e.g. a server restart looks like this too. */
  reset?: boolean;
  /** Which try of this action failed (1 = first). */
  attempt?: number;
}

/**
 * A timeout after a run of successes is a block (a firewall drops packets silently). A reset is
 * given one retry first: a restarting server resets too, and one retry on a blocked IP costs one
 * connection attempt that the firewall drops.
 */
export function looksBlocked(e: BlockEvidence): boolean {
  if (e.errorClass !== 'maybe-blocked' || e.successesBefore === 0) return false;
  return !(e.reset && (e.attempt ?? 1) === 1);
}

export function blockExplanation(server: ServerConfig, countedAtFailure: number, limit: number, errorMessage: string): string {
  const fw = server.firewall;
  return [
    `${server.name}: ${errorMessage}`,
    `This looks like a firewall block: connections time out after ${countedAtFailure === 0 ? 'a run of successes' : `a run of successes, with ${countedAtFailure} connection(s) the server was still counting by ftpsync's ledger (budget ${limit})`}.`,
    'Firewalls like CSF count sockets in TIME_WAIT too, for up to 4 minutes after a connection closed, and drop every packet from a blocked IP (CSF: for 30 minutes).',
    `The limit on this host is probably below ${Math.max(countedAtFailure, 1) + fw.parallel}. What to change: lower firewall.maxConnections (now ${fw.maxConnections}) or headroom (now ${fw.headroom}), raise timeWait (now ${formatDuration(fw.timeWaitMs)}), ask the host to whitelist your IP, or try mode: active where the firewall counts only the passive ports.`,
  ].join('\n');
}
