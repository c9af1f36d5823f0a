/**
 * A per-server pool of FTP sessions: at most `parallel` at once, one task per session at a time,
 * dead sessions dropped (the next task reconnects, and the reconnect is counted like any other
 * connection, because it goes through the gate and the ledger).
 */
import type { ConnectionLedger } from '../budget/ledger.js';
import type { ServerConfig } from '../manifest/types.js';
import { FtpSession, type SharedServerFacts } from './ftp-session.js';
import type { ConnectionGate, RemotePool, RemoteSession } from './types.js';

export interface PoolDeps {
  ledger: ConnectionLedger;
  gate: ConnectionGate;
  now?: () => number;
  /** Lower than firewall.parallel after the server refused sessions (421/530). */
  maxSessions?: number;
}

export interface FtpRemotePool extends RemotePool {
  /** Warnings the sessions collected (unsafe names ignored, rename fallback, no MFMT). */
  warnings(): string[];
  /** Shrink the pool after the server capped sessions; idle sessions beyond it are closed. */
  setMaxSessions(n: number): void;
  /**
   * Keep up to n sessions logged in, logging them in in the background, so their logins overlap
   * with other work (a login takes as long as many small uploads: docs/benchmarks.md).
   * Only once a login on this pool has succeeded: a wrong password then fails once, not n times
   * (CSF counts failed FTP logins, LF_FTPD). A failure is left to the next task, which opens its
   * own session and reports the error.
   */
  warm(n: number): void;
  readonly shared: SharedServerFacts;
}

export function createRemotePool(server: ServerConfig, deps: PoolDeps): FtpRemotePool {
  const idle: FtpSession[] = [];
  const waiters: Array<() => void> = [];
  const shared: SharedServerFacts = { warnings: new Set() };
  let open = 0;
  let limit = Math.max(1, Math.min(deps.maxSessions ?? server.firewall.parallel, server.firewall.parallel, server.firewall.maxSessions));
  let closed = false;
  /** What warm() asked for, and whether any login on this pool has succeeded yet. */
  let warmTo = 0;
  let loggedIn = false;

  const wake = () => waiters.shift()?.();
  const openSession = async () => {
    const s = await FtpSession.open(server, { ledger: deps.ledger, gate: deps.gate, shared, ...(deps.now ? { now: deps.now } : {}) });
    if (!loggedIn) {
      loggedIn = true;
      topUp();
    }
    return s;
  };
  function topUp(): void {
    if (!loggedIn || closed) return;
    for (let i = Math.min(warmTo, limit) - open; i > 0; i--) {
      open++;
      openSession().then(
        (s) => void release(s),
        () => {
          open--;
          wake();
        },
      );
    }
  }

  async function acquire(): Promise<FtpSession> {
    for (;;) {
      if (closed) throw new Error('pool closed');
      const s = idle.pop();
      if (s) {
        if (!s.closed) return s;
        await s.close();
        open--;
        continue;
      }
      if (open < limit) {
        open++;
        try {
          return await openSession();
        } catch (e) {
          open--;
          wake();
          throw e;
        }
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  }

  async function release(s: FtpSession): Promise<void> {
    if (s.closed || closed || open > limit) {
      await s.close();
      open--;
    } else {
      idle.push(s);
    }
    wake();
  }

  return {
    server: server.name,
    ledger: deps.ledger,
    shared,
    async withSession<T>(fn: (session: RemoteSession) => Promise<T>): Promise<T> {
      const s = await acquire();
      try {
        return await fn(s);
      } finally {
        await release(s);
      }
    },
    warnings: () => [...shared.warnings],
    setMaxSessions(n: number) {
      limit = Math.max(1, n);
      while (open > limit && idle.length > 0) {
        void idle.pop()!.close();
        open--;
      }
    },
    warm(n: number) {
      warmTo = Math.max(warmTo, n);
      topUp();
    },
    async close() {
      closed = true;
      for (const s of idle.splice(0)) await s.close();
      for (const w of waiters.splice(0)) w();
    },
  };
}
