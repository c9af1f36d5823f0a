/**
 * What a run does when the block detector fires: stop opening connections at once (the gate
 * rejects every caller), explain, then per the server's onBlock policy either stop, or wait in
 * steps and probe with one connection until the block lifts (bounded by maxWait over the whole
 * run). Every worker that hits the block shares one wait.
 */
import { FtpsyncError, isFtpsyncError } from '../errors.js';
import { formatDuration } from '../manifest/duration.js';
import type { FirewallConfig } from '../manifest/types.js';
import { classify, toFtpsyncError } from '../remote/errors.js';

/** While blocked, probe with one connection this often (each probe the firewall may count). */
export const BLOCK_PROBE_EVERY_MS = 15_000;

export interface BlockWaitDeps {
  server: string;
  onBlock: FirewallConfig['onBlock'];
  gate: { halt(err: FtpsyncError): void; resume(): void };
  /** The explanation shown when the block is detected (what it shows, what ftpsync does); `again`: a second block. */
  explain: (err: FtpsyncError, again: boolean) => string;
  reporter: { blocked(text: string): void; note(server: string, text: string): void };
  /** One connection that shows whether the block lifted (a listing). */
  probe: () => Promise<unknown>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Told how long each wait kept the run idle, ms. */
  onIdle: (ms: number) => void;
}

export class BlockWait {
  /** Why the run stopped; set, nothing more is sent to the server. */
  halted: FtpsyncError | null = null;
  private pending: Promise<boolean> | null = null;
  private waitedMs = 0;
  /** When the run resumed after a block (null: not blocked yet). */
  private resumedAt: number | null = null;
  /** A block was noticed in this run (its peak says nothing about the limit then). */
  noticed = false;

  constructor(private readonly d: BlockWaitDeps) {}

  /**
   * Resolves true when the block lifted (retry the action), false when the run stops. An attempt
   * that started before the run resumed failed on the block already waited out: it is retried.
   * Any later block stops the run whatever the policy: never blocked twice in one run.
   */
  waitOut(err: FtpsyncError, attemptStartedAt = Infinity): Promise<boolean> {
    if (this.halted) return Promise.resolve(false);
    if (this.pending) return this.pending;
    if (this.resumedAt !== null) {
      if (attemptStartedAt < this.resumedAt) return Promise.resolve(true);
      this.d.gate.halt(err);
      this.d.reporter.blocked(this.d.explain(err, true));
      this.halted = new FtpsyncError(
        'E_BLOCKED',
        `${this.d.server}: blocked a second time in this run: ${err.message}`,
        'See the explanation above: the next run plans with the lower limit ftpsync learned. Run apply again once the block has lifted; it resumes where it stopped.',
        { server: this.d.server },
      );
      return Promise.resolve(false);
    }
    this.pending = this.run(err);
    return this.pending;
  }

  private async run(err: FtpsyncError): Promise<boolean> {
    const { d } = this;
    this.noticed = true;
    d.gate.halt(err);
    d.reporter.blocked(d.explain(err, false));
    const { policy, maxWaitMs } = d.onBlock;
    const waitStarted = d.now();
    try {
      if (policy === 'stop') {
        this.halted = err;
        return false;
      }
      while (d.now() - waitStarted + this.waitedMs < maxWaitMs) {
        const step = Math.min(BLOCK_PROBE_EVERY_MS, maxWaitMs - this.waitedMs - (d.now() - waitStarted));
        d.reporter.note(
          d.server,
          `not opening connections: waiting ${formatDuration(step)} for the block to lift (policy wait, waited ${formatDuration(this.waitedMs + d.now() - waitStarted)} of at most ${formatDuration(maxWaitMs)})`,
        );
        await d.sleep(step);
        d.gate.resume();
        try {
          await d.probe();
          d.reporter.note(d.server, `the block lifted after ${formatDuration(d.now() - waitStarted)}: resuming with the lowered budget`);
          this.resumedAt = d.now();
          return true;
        } catch (probeErr) {
          const pe = isFtpsyncError(probeErr) ? probeErr : toFtpsyncError(probeErr, { server: d.server, op: 'probe' });
          if (classify(pe) !== 'maybe-blocked') {
            d.reporter.note(d.server, `probe after the block: ${pe.message}: resuming with the lowered budget`);
            this.resumedAt = d.now();
            return true;
          }
          d.gate.halt(err);
        }
      }
      this.halted = new FtpsyncError(
        'E_BLOCKED',
        `${d.server}: still blocked after waiting ${formatDuration(maxWaitMs)}: ${err.message}`,
        'Run apply again later: it resumes where it stopped. See the explanation above for what to change.',
        { server: d.server },
      );
      return false;
    } finally {
      this.waitedMs += d.now() - waitStarted;
      d.onIdle(d.now() - waitStarted);
      this.pending = null;
    }
  }
}
