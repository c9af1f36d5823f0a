/**
 * The local journal: one JSON line per completed action, fsync'd, so a run killed at any point
 * can be resumed without redoing what landed. Keyed by the plan's fingerprint: a journal from
 * another plan is ignored.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

export interface JournalEntry {
  plan: string;
  action: string;
  at: string;
}

export class Journal {
  private readonly done = new Set<string>();

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

  record(actionId: string): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const entry: JournalEntry = { plan: this.planKey, action: actionId, at: new Date().toISOString() };
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
    const fd = openSync(this.file, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.done.add(actionId);
  }

  /** The plan finished: nothing to resume. */
  clear(): void {
    rmSync(this.file, { force: true });
  }
}
