/**
 * What a run does when the block detector fires: stop opening connections at once (the gate
 * rejects every caller), make sure it is a block, explain, then per the server's onBlock policy
 * either stop, or wait in steps and probe with one connection until the block lifts (bounded by
 * maxWait over the whole run). Every worker that hits the block shares one wait.
 *
 * Making sure: a firewall drops every packet from a blocked IP, so a server that still answers
 * (one listing, over the control connection where it can) has not blocked us: a transfer stalled.
 * Without that check a stalled server would be taken for a firewall and teach a wrong limit.
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

/** What a run does after a failure that looked like a block. */
export type BlockOutcome =
  /** The block lifted (or the attempt failed on one already waited out): retry the action. */
  | 'retry'
  /** The run stops (blocks.halted says why). */
  | 'stop'
  /** The server still answers: not a block; the action's failure is an ordinary one. */
  | 'not-blocked';

export class BlockWait {
  /** Why the run stopped; set, nothing more is sent to the server. */
  halted: FtpsyncError | null = null;
  private pending: Promise<BlockOutcome> | null = null;
  private waitedMs = 0;
  /** When the run resumed after a block (null: not blocked yet). */
  private resumedAt: number | null = null;
  /** A block was noticed in this run (its peak says nothing about the limit then). */
  noticed = false;

  constructor(private readonly d: BlockWaitDeps) {}

  /**
   * An attempt that started before the run resumed failed on the block already waited out: it is
   * retried. Any later block stops the run whatever the policy: never blocked twice in one run.
   */
  waitOut(err: FtpsyncError, attemptStartedAt = Infinity): Promise<BlockOutcome> {
    if (this.halted) return Promise.resolve('stop');
    if (this.pending) return this.pending;
    if (this.resumedAt !== null) {
      if (attemptStartedAt < this.resumedAt) return Promise.resolve('retry');
      this.d.gate.halt(err);
      this.d.reporter.blocked(this.d.explain(err, true));
      this.halted = new FtpsyncError(
        'E_BLOCKED',
        `${this.d.server}: blocked a second time in this run: ${err.message}`,
        'See the explanation above: the next run plans with the lower limit ftpsync learned. Run apply again once the block has lifted; it resumes where it stopped.',
        { server: this.d.server },
      );
      return Promise.resolve('stop');
    }
    this.pending = this.run(err);
    return this.pending;
  }

  /** The server answers a listing now: no firewall is dropping our packets. */
  private async serverAnswers(): Promise<boolean> {
    this.d.gate.resume();
    try {
      await this.d.probe();
      return true;
    } catch (probeErr) {
      const pe = isFtpsyncError(probeErr) ? probeErr : toFtpsyncError(probeErr, { server: this.d.server, op: 'probe' });
      return classify(pe) !== 'maybe-blocked';
    }
  }

  private async run(err: FtpsyncError): Promise<BlockOutcome> {
    const { d } = this;
    d.gate.halt(err);
    const checkStarted = d.now();
    if (await this.serverAnswers()) {
      this.pending = null;
      d.reporter.note(d.server, `${err.message}: the server still answers, so this is no firewall block (a firewall drops every packet from a blocked IP)`);
      return 'not-blocked';
    }
    d.gate.halt(err);
    return this.wait(err, checkStarted);
  }

  private async wait(err: FtpsyncError, checkStarted: number): Promise<BlockOutcome> {
    const { d } = this;
    this.noticed = true;
    d.reporter.blocked(d.explain(err, false));
    const { policy, maxWaitMs } = d.onBlock;
    const waitStarted = checkStarted;
    try {
      if (policy === 'stop') {
        this.halted = err;
        return 'stop';
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
          return 'retry';
        } catch (probeErr) {
          const pe = isFtpsyncError(probeErr) ? probeErr : toFtpsyncError(probeErr, { server: d.server, op: 'probe' });
          if (classify(pe) !== 'maybe-blocked') {
            d.reporter.note(d.server, `probe after the block: ${pe.message}: resuming with the lowered budget`);
            this.resumedAt = d.now();
            return 'retry';
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
      return 'stop';
    } finally {
      this.waitedMs += d.now() - waitStarted;
      d.onIdle(d.now() - waitStarted);
      this.pending = null;
    }
  }
}
