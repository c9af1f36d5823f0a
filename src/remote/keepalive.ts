/**
 * Keeping idle sessions alive through budget pauses (up to timeWait, 240 s by default) without
 * spending counted connections: shared hosts drop control connections idle for 60–300 s with a
 * 421, each reconnect is a counted connection, and the server's close leaves a TIME_WAIT.
 *
 * The schedule is pure: how often to send NOOP on an idle session, learned from the server when it
 * shows its idle timeout (proftpd: "421 Idle timeout (600 seconds)", pure-ftpd: "Timeout (600
 * seconds)"), or from how long a session had been idle when the server dropped it (vsftpd says
 * only "421 Timeout."). The pool does the I/O (pool.ts: keepIdleAlive).
 */

/** Until the server shows its idle timeout: below every common one (vsftpd's default is 300 s, hosts use 60–300 s). */
export const DEFAULT_KEEPALIVE_MS = 15_000;
/** Never more often than this, whatever was learned (a configured interval may be shorter). */
export const MIN_KEEPALIVE_MS = 1_000;

/** Seconds of idle timeout a server's reply shows, or null ("421 Idle timeout (600 seconds)"). */
export function idleTimeoutFromReply(text: string): number | null {
  if (!/time ?out|idle/i.test(text)) return null;
  const m = /(\d+)\s*(seconds?|secs?|s\b|minutes?|mins?)/i.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  if (!Number.isFinite(n) || n <= 0) return null;
  return /^m/i.test(m[2]!) ? n * 60 : n;
}

export class KeepaliveSchedule {
  private interval: number;
  /** Why the interval is what it is (for notes and traces). */
  reason = 'default';

  constructor(intervalMs = DEFAULT_KEEPALIVE_MS) {
    this.interval = Math.max(1, intervalMs);
  }

  get intervalMs(): number {
    return this.interval;
  }

  /** A reply or unsolicited line from the server: learn its idle timeout when it shows one. */
  learnFromReply(text: string): void {
    const s = idleTimeoutFromReply(text);
    if (s !== null) this.lowerTo((s * 1000) / 2, `the server's idle timeout ${s} s`);
  }

  /** The server dropped a session that had been idle for idleMs: its timeout is at most that. */
  learnFromDrop(idleMs: number): void {
    if (idleMs > MIN_KEEPALIVE_MS) this.lowerTo(idleMs / 2, `a session dropped after ${Math.round(idleMs / 1000)} s idle`);
  }

  /** Whether a session last active at lastActiveMs is due a NOOP at nowMs. */
  due(lastActiveMs: number, nowMs: number): boolean {
    return nowMs - lastActiveMs >= this.interval;
  }

  private lowerTo(ms: number, why: string): void {
    const next = Math.max(MIN_KEEPALIVE_MS, Math.floor(ms));
    if (next < this.interval) {
      this.interval = next;
      this.reason = why;
    }
  }
}
