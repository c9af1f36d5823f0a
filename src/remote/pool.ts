/**
 * A per-server pool of FTP sessions: at most `parallel` at once, one task per session at a time,
 * dead sessions dropped (the next task reconnects, and the reconnect is counted like any other
 * connection, because it goes through the gate and the ledger). Idle sessions are kept alive
 * through pauses (keepalive.ts); one the server drops while idle leaves the pool at once and a
 * new one logs in through the gate.
 */
import type { ConnectionLedger } from '../budget/ledger.js';
import { isFtpsyncError } from '../errors.js';
import type { ServerConfig } from '../manifest/types.js';
import { FtpSession, type SharedServerFacts } from './ftp-session.js';
import { KeepaliveSchedule, MIN_KEEPALIVE_MS } from './keepalive.js';
import type { ConnectionGate, RemotePool, RemoteSession } from './types.js';

export interface PoolDeps {
  ledger: ConnectionLedger;
  gate: ConnectionGate;
  now?: () => number;
  /** Lower than firewall.parallel after the server refused sessions (421/530). */
  maxSessions?: number;
  /** --verbose: control-connection lines of each session, numbered from 1 in the order opened. */
  trace?: (server: string, session: number, line: string) => void;
  /** How often idle sessions get a NOOP during pauses (default keepalive.ts DEFAULT_KEEPALIVE_MS). */
  keepaliveMs?: number;
}

export function createRemotePool(server: ServerConfig, deps: PoolDeps): RemotePool {
  const idle: FtpSession[] = [];
  const waiters: Array<() => void> = [];
  const shared: SharedServerFacts = { warnings: new Set() };
  let open = 0;
  // parallel: auto: the plan chooses up to maxSessions (the executor sets it); a number is the cap.
  const cap = server.firewall.parallelAuto ? server.firewall.maxSessions : server.firewall.parallel;
  let limit = Math.max(1, Math.min(deps.maxSessions ?? cap, cap, server.firewall.maxSessions));
  let closed = false;
  /** What warm() asked for, and whether any login on this pool has succeeded yet. */
  let warmTo = 0;
  let loggedIn = false;
  let sessionsOpened = 0;
  /** A wrong password: every later task gets this error without a login (each would be a counted connection and a failed login). */
  let loginRefused: unknown = null;
  const now = deps.now ?? Date.now;
  const keepalive = new KeepaliveSchedule(deps.keepaliveMs);
  /** When each idle session last talked to the server. */
  const lastActive = new Map<FtpSession, number>();
  let replacedDrops = 0;

  const wake = () => waiters.shift()?.();
  /** The server closed an idle session (idle timeout): out of the pool now, not at the next task. */
  const droppedWhileIdle = (s: FtpSession) => {
    const i = idle.indexOf(s);
    if (i < 0) return;
    idle.splice(i, 1);
    const idleMs = now() - (lastActive.get(s) ?? now());
    keepalive.learnFromDrop(idleMs);
    lastActive.delete(s);
    void s.close();
    open--;
    wake();
    // Replaced at once (through the gate), but bounded: a server that drops sessions at once
    // must not turn the pool into a loop of counted connections; the next task reconnects then.
    if (idleMs >= MIN_KEEPALIVE_MS && replacedDrops < 4 * limit) {
      replacedDrops++;
      topUp();
    }
  };
  const watch = (s: FtpSession) => {
    const sock = s.controlSocket;
    // Unsolicited lines (a 421 before the close) reach no task in basic-ftp: read them here.
    sock.on('data', (chunk: Buffer | string) => {
      const text = chunk.toString();
      if (/^421/m.test(text)) keepalive.learnFromReply(text);
    });
    // 'end' and 'error' too: basic-ftp removes every listener of the socket when it sees them, before 'close'.
    for (const event of ['end', 'error', 'close']) sock.once(event, () => droppedWhileIdle(s));
  };
  const openSession = async () => {
    if (loginRefused) throw loginRefused;
    const n = ++sessionsOpened;
    const trace = deps.trace;
    const s = await FtpSession.open(server, {
      ledger: deps.ledger,
      gate: deps.gate,
      shared,
      ...(deps.now ? { now: deps.now } : {}),
      ...(trace ? { trace: (line: string) => trace(server.name, n, line) } : {}),
    }).catch((e: unknown) => {
      if (isFtpsyncError(e) && e.code === 'E_LOGIN') loginRefused = e;
      throw e;
    });
    watch(s);
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
        lastActive.delete(s);
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
      lastActive.set(s, now());
    }
    wake();
  }

  /** NOOP on every idle session due one; a session that fails it is dropped (and replaced via topUp). */
  async function keepIdleAlive(): Promise<void> {
    const due = idle.filter((s) => keepalive.due(lastActive.get(s) ?? now(), now()));
    await Promise.all(
      due.map(async (s) => {
        const i = idle.indexOf(s);
        if (i < 0) return;
        idle.splice(i, 1); // not handed to a task while its NOOP is out
        lastActive.delete(s);
        try {
          await s.roundTripMs(1);
        } catch (e) {
          keepalive.learnFromReply(e instanceof Error ? e.message : String(e));
          await s.close();
          open--;
          wake();
          topUp();
          return;
        }
        await release(s);
      }),
    );
  }

  return {
    server: server.name,
    ledger: deps.ledger,
    async withSession<T>(fn: (session: RemoteSession) => Promise<T>): Promise<T> {
      const s = await acquire();
      try {
        return await fn(s);
      } finally {
        await release(s);
      }
    },
    warnings: () => [...shared.warnings],
    keepIdleAlive,
    keepaliveIntervalMs: () => keepalive.intervalMs,
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
