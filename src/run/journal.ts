/**
 * The local journal: one JSON line per completed action, written at once (fsync'd each second),
 * so a run killed at any point can be resumed without redoing what landed. Keyed by the plan's
 * fingerprint: a journal from another plan is ignored.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface JournalEntry {
  plan: string;
  action: string;
  at: string;
}

export class Journal {
  private readonly done = new Set<string>();
  private fd: number | null = null;
  private lastSyncMs = 0;

  constructor(
    private readonly file: string,
    private readonly planKey: string,
  ) {
    if (!existsSync(file)) return;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as JournalEntry;
        if (e.plan === planKey) this.done.add(e.action);
      } catch {
        // A torn last line from a kill -9: everything before it is intact.
      }
    }
  }

  has(actionId: string): boolean {
    return this.done.has(actionId);
  }

  get size(): number {
    return this.done.size;
  }

  /**
   * A written line is in the kernel, so it survives kill -9 of this process. fsync guards against a
   * power loss, where losing the last second's lines only means re-sending those files; so it runs
   * at most once a second (per action it blocked the event loop: docs/benchmarks.md).
   */
  record(actionId: string): void {
    if (this.fd === null) {
      mkdirSync(dirname(this.file), { recursive: true });
      this.fd = openSync(this.file, 'a');
    }
    const entry: JournalEntry = { plan: this.planKey, action: actionId, at: new Date().toISOString() };
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    const now = Date.now();
    if (now - this.lastSyncMs >= 1000) {
      fsyncSync(this.fd);
      this.lastSyncMs = now;
    }
    this.done.add(actionId);
  }

  /** The run ended without finishing: flush what was recorded for the next run. */
  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }

  /** The plan finished: nothing to resume. */
  clear(): void {
    this.close();
    rmSync(this.file, { force: true });
  }
}
