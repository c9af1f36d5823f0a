/**
 * The budget gate: asked before every new TCP connection. It waits until the ledger says the
 * firewall counts fewer than `limit` connections, then reserves the slot in the ledger, so the
 * budget holds whatever the plan said (retries, reconnects and listings included) even while
 * several sessions ask at once. Clock and sleep are injected.
 */
import { FtpsyncError } from '../errors.js';
import type { ConnectionKind, ConnectionLedger } from './ledger.js';

export interface GateOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Told about every wait: how long, and how many connections were still counted. */
  onWait?: (waitMs: number, counted: number, purpose: string) => void;
  /** Give up when live connections fill the budget this long (default 10 min). */
  maxStallMs?: number;
}

export class BudgetGate {
  private halted: FtpsyncError | null = null;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Serializes acquisitions so two tasks never both take the last slot. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ledger: ConnectionLedger,
    /** floor(maxConnections × headroom): every counted connection, control ones included. */
    private current: number,
    private readonly options: GateOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  get limit(): number {
    return this.current;
  }

  /** After a block: hold fewer from now on (never raised within a run). */
  lower(limit: number): void {
    this.current = Math.min(this.current, limit);
  }

  /**
   * Wait for a slot and reserve it. The caller passes the returned reservation to the ledger when
   * the connection opens (trackSocket), or releases it if the connection is never made.
   */
  acquire(kind: ConnectionKind, purpose: string): Promise<number> {
    const run = this.queue.then(() => this.waitForSlot(kind, purpose));
    // The next caller waits for this one to have its slot (not for its transfer).
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async waitForSlot(kind: ConnectionKind, purpose: string): Promise<number> {
    let stalledSince: number | null = null;
    for (;;) {
      if (this.halted) throw this.halted;
      const now = this.now();
      const at = this.ledger.earliestSlot(now, this.limit, 1);
      if (at <= now) return this.ledger.reserve(kind, now, purpose);
      // Infinity: live connections alone fill the budget; they will close, so look again soon,
      // but not forever: a ledger that never frees a slot is a bug to report, not to wait out.
      if (at === Infinity) {
        stalledSince ??= now;
        if (now - stalledSince > (this.options.maxStallMs ?? 600_000)) {
          throw new FtpsyncError(
            'E_INTERNAL',
            `the budget gate waited ${Math.round((now - stalledSince) / 1000)} s with ${this.ledger.live()} connections open and the budget (${this.limit}) full`,
            'This is a bug in ftpsync: please report it with the output of this run.',
          );
        }
      } else stalledSince = null;
      const wait = at === Infinity ? 200 : at - now;
      this.options.onWait?.(wait, this.ledger.counted(now), purpose);
      await this.sleep(Math.min(wait, 1000));
    }
  }

  /** Stop handing out connections (a block was detected): every waiter and caller gets err. */
  halt(err: FtpsyncError): void {
    this.halted = err;
  }

  resume(): void {
    this.halted = null;
  }
}
