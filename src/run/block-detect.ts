/**
 * Recognising a firewall block (pure): timeouts or refused/reset connections after a streak of
 * successes look like a silent drop. The explanation says what the ledger saw and what to change.
 */
import type { BlockDiagnosis } from '../budget/block-diagnosis.js';
import { FtpsyncError } from '../errors.js';
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

/**
 * Failures given one retry before they count as a block: a reset or refusal, and the server
 * closing the connection (a restart sends FIN; a firewall drop sends nothing). A stalled transfer
 * is not among them: it is told from a block by whether the server still answers (block-wait.ts).
 */
export function retriedFirst(message: string): boolean {
  return /ECONNRESET|ECONNREFUSED|EPIPE|FIN packet/.test(message);
}

export interface BlockLesson {
  diagnosis: BlockDiagnosis;
  /** What the run goes on with (and the next plan uses), unless the manifest's value is confirmed. */
  learned: { maxConnections: number; floored: boolean };
  /** Where it is remembered (absent: not remembered). */
  store?: string;
  /** This run was blocked before: it stops. */
  again?: boolean;
}

/**
 * What a block showed, from the ledger's history around it (block-diagnosis.ts), what ftpsync
 * does about it and how to undo that. Advice only where it follows from what was seen.
 */
export function blockExplanation(server: ServerConfig, lesson: BlockLesson, errorMessage: string): string {
  const fw = server.firewall;
  const { diagnosis: d, learned } = lesson;
  const interval = formatDuration(fw.sampleIntervalMs ?? 30_000);
  const lines = [
    `${server.name}: ${errorMessage}`,
    `This looks like a firewall block: connections time out after a run of successes. Firewalls like CSF count every socket of your IP, TIME_WAIT included (${formatDuration(fw.timeWaitMs)} here), sample that count every few seconds (sampleInterval ${interval}) and drop every packet from a blocked IP (CSF: for 30 minutes).`,
    `The firewall blocked while ftpsync held between ${d.heldLow} and ${d.heldHigh} counted connections (its ledger over the sampleInterval after the last connection that got through); at a sample before that it let ${d.limitAtLeast} through. So the limit on this host is between ${d.limitAtLeast} and ${d.limitBelow - 1} (the manifest says ${fw.learned?.manifestMaxConnections ?? fw.maxConnections}${fw.learned ? `, ${fw.maxConnections} learned from an earlier block` : ''}).`,
  ];
  if (d.countedMoreThanOurs)
    lines.push('The firewall counted more than ftpsync held: other connections from this IP (another client, another ftpsync) count too.');
  if (fw.confirmed) {
    lines.push(
      `firewall.confirmed is true: ftpsync keeps maxConnections ${fw.maxConnections} and learns nothing. If the host's limit is lower, change maxConnections.`,
    );
  } else {
    const budget = Math.floor(learned.maxConnections * fw.headroom);
    lines.push(
      `${lesson.again ? 'The next run goes on' : 'ftpsync goes on'} with maxConnections ${learned.maxConnections} (budget ${budget} with headroom ${fw.headroom})${lesson.store ? `, and remembers it for this server in ${lesson.store}: the next plan uses it until a run that holds more succeeds. To reset it, delete the "${server.host}:${server.port}" entry there, or set firewall.confirmed: true if ${fw.learned?.manifestMaxConnections ?? fw.maxConnections} is the host's real limit` : ''}.`,
    );
    if (learned.floored)
      lines.push(
        `Fewer than that and ${fw.parallel} session(s) cannot transfer: this may be more than the firewall let through. Lower parallel, or ask the host for its limit.`,
      );
  }
  if (lesson.again)
    lines.push(
      'This run was blocked before: it stops here, whatever onBlock says, so as not to be blocked again (repeated blocks can become a permanent deny, CSF LF_PERMBLOCK).',
    );
  lines.push(
    'Ask the host for its per-IP connection limit (CSF CT_LIMIT) or to whitelist your IP, then set maxConnections to it with firewall.confirmed: true.',
  );
  return lines.join('\n');
}

/** A failure that looked like a block while the server still answered: a stalled transfer, said so. */
export function stalledError(err: FtpsyncError): FtpsyncError {
  return new FtpsyncError(
    err.code,
    `${err.message} (the server still answers: a stalled transfer, not a firewall block)`,
    err.hint ?? 'The server stopped moving data on this transfer. If its transfers are slow rather than stuck, raise timeouts.data.',
    err.details,
    { cause: err },
  );
}
