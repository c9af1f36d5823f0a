/**
 * apply's live terminal view (listr2): one task per server of the running rollout stage, whose
 * line says stage, phase n/N, files and bytes done of total, counted connections against the
 * budget, the pause's countdown and the ETA; failures, notes and the block detector's explanation
 * as sub-lines. Used only on a TTY (see useLiveView); logs and pipes get the plain lines.
 */
import { writeSync } from 'node:fs';
import { Listr, type ListrTaskWrapper, type ListrDefaultRenderer, type ListrSimpleRenderer } from 'listr2';
import type { ServerResult } from '../run/executor.js';
import type { Reporter, RunTotals } from '../run/progress.js';
import type { PlannedAction } from '../core/actions.js';
import { LiveState, MAX_SUB_LINES } from './live-state.js';
import { clean, logLine, style } from './output.js';

/** How often task lines are redrawn from the state (the countdown moves in whole seconds). */
const TICK_MS = 250;

/** The live view only on a terminal, never under CI or with --json, never on a dumb terminal. */
export function useLiveView(o: { json: boolean; isTTY: boolean | undefined; env: NodeJS.ProcessEnv }): boolean {
  const ci = o.env.CI !== undefined && o.env.CI !== '' && !['0', 'false'].includes(o.env.CI.toLowerCase());
  return !o.json && Boolean(o.isTTY) && !ci && o.env.TERM !== 'dumb';
}

type Wrapper = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

interface TaskSlot {
  wrapper?: Wrapper;
  /** Sub-lines already handed to listr. */
  shown: number;
  settle?: (err?: Error) => void;
  /** Set once the server's run ended. */
  outcome?: { err?: Error };
}

export class LiveView implements Reporter {
  private readonly state = new LiveState();
  private readonly slots = new Map<string, TaskSlot>();
  /** Stages render one after another: a stage's list starts when the one before it has ended. */
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private readonly onSigint = () => {
    // listr hid the cursor; give it back before the default SIGINT exit.
    writeSync(1, '\u001b[?25h\n');
    process.kill(process.pid, 'SIGINT');
  };

  constructor(private readonly now: () => number = Date.now) {}

  /** A rollout stage starts: one task per server. */
  stage(name: string, servers: string[]): void {
    this.state.stage(name, servers);
    for (const s of servers) this.slots.set(s, { shown: 0 });
    if (!this.timer) {
      this.timer = setInterval(() => this.refresh(), TICK_MS);
      process.once('SIGINT', this.onSigint);
    }
    const list = new Listr(
      servers.map((server) => ({
        title: clean(this.state.title(server, this.now())),
        task: (_ctx: unknown, wrapper: Wrapper) => this.bind(server, wrapper),
        rendererOptions: { outputBar: MAX_SUB_LINES, persistentOutput: true },
      })),
      {
        concurrent: true,
        exitOnError: false,
        registerSignalListeners: false,
        rendererOptions: { collapseErrors: false, formatOutput: 'wrap' },
      },
    );
    this.chain = this.chain.then(() =>
      list.run().then(
        () => undefined,
        () => undefined,
      ),
    );
  }

  serverStart(server: string, totals: RunTotals): void {
    this.state.start(server, totals, this.now());
    this.refresh();
  }
  phase(server: string, n: number, of: number): void {
    this.state.phase(server, n, of);
    this.refresh();
  }
  pause(server: string, ms: number, counted: number, limit: number): void {
    this.state.pause(server, ms, counted, limit, this.now());
    this.refresh();
  }
  progress(server: string, a: PlannedAction, counted: number, limit: number): void {
    this.state.progress(server, a, counted, limit);
  }
  note(server: string, text: string): void {
    if (!this.state.note(server, text)) logLine(`${server}: ${text}`);
    this.refresh();
  }
  blocked(explanation: string): void {
    if (!this.state.blocked(explanation)) logLine(`BLOCKED? ${explanation}`);
    this.refresh();
  }
  serverEnd(r: ServerResult): void {
    this.state.end(r, this.now());
    this.refresh();
    const slot = this.slots.get(r.server);
    if (slot) this.settle(r.server, slot, r.ok ? undefined : new Error(clean(r.error?.split('\n')[0] ?? 'failed')));
  }

  /** Every task ended (one that never did is marked so), the last frame is drawn and the terminal given back. */
  async finish(): Promise<void> {
    for (const [server, slot] of this.slots) if (!slot.outcome) this.settle(server, slot, new Error('did not finish'));
    await this.chain;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    process.off('SIGINT', this.onSigint);
  }

  private bind(server: string, wrapper: Wrapper): Promise<void> {
    const slot = this.slots.get(server)!;
    slot.wrapper = wrapper;
    this.sync(server, slot);
    return new Promise<void>((resolve, reject) => {
      slot.settle = (err) => (err ? reject(err) : resolve());
      // Ended before listr started this task (a stage of quick servers).
      if (slot.outcome) slot.settle(slot.outcome.err);
    });
  }

  private settle(server: string, slot: TaskSlot, err?: Error): void {
    if (slot.outcome) return;
    this.sync(server, slot);
    slot.outcome = err ? { err } : {};
    slot.settle?.(err);
  }

  private refresh(): void {
    for (const [server, slot] of this.slots) if (!slot.outcome) this.sync(server, slot);
  }

  /** Hand the current title and the new sub-lines to listr. */
  private sync(server: string, slot: TaskSlot): void {
    const w = slot.wrapper;
    const view = this.state.get(server);
    if (!w || !view) return;
    const title = clean(this.state.title(server, this.now()));
    w.title = view.state === 'pause' ? title.replace(/pause \S+/, (p) => style('yellow', p)) : title;
    for (; slot.shown < view.lines.length; slot.shown++) {
      const line = clean(view.lines[slot.shown]!);
      w.output = /^(BLOCKED\?|failed:)/.test(line) ? style('red', line) : line;
    }
  }
}
