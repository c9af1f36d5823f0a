/**
 * What the live terminal view shows, as pure state: apply's progress events (with the time they
 * arrived) go in, each server's task line and sub-lines come out for a given moment. The listr2
 * part (live-view.ts) only pumps these strings to the terminal.
 */
import type { PlannedAction } from '../core/actions.js';
import { formatDuration } from '../manifest/duration.js';
import { formatBytes } from '../plan/format.js';
import type { ServerResult } from '../run/executor.js';
import type { RunTotals } from '../run/progress.js';

/** Sub-lines kept per server (failures, the block detector, notes); older ones scroll away. */
export const MAX_SUB_LINES = 8;

export interface ServerView {
  server: string;
  stage: string;
  state: 'planning' | 'running' | 'pause' | 'ok' | 'failed';
  startedAt?: number;
  endedAt?: number;
  totals?: RunTotals;
  phase?: { n: number; of: number };
  actions: number;
  files: number;
  bytes: number;
  counted?: number;
  limit?: number;
  pauseEndsAt?: number;
  /** Every sub-line so far, in order (the view shows the last MAX_SUB_LINES). */
  lines: string[];
  error?: string;
}

export class LiveState {
  readonly servers = new Map<string, ServerView>();

  stage(stage: string, servers: string[]): void {
    for (const server of servers) this.servers.set(server, { server, stage, state: 'planning', actions: 0, files: 0, bytes: 0, lines: [] });
  }

  /** A known server's view, or undefined for an event of a server no stage has started. */
  get(server: string): ServerView | undefined {
    return this.servers.get(server);
  }

  start(server: string, totals: RunTotals, now: number): void {
    const v = this.get(server);
    if (!v) return;
    v.totals = totals;
    v.startedAt = now;
    v.state = 'running';
  }

  pause(server: string, ms: number, counted: number, limit: number, now: number): void {
    const v = this.get(server);
    if (!v) return;
    v.state = 'pause';
    v.pauseEndsAt = now + ms;
    v.counted = counted;
    v.limit = limit;
  }

  phase(server: string, n: number, of: number): void {
    const v = this.get(server);
    if (!v) return;
    v.state = 'running';
    v.phase = { n, of };
    delete v.pauseEndsAt;
  }

  progress(server: string, a: PlannedAction, counted: number, limit: number): void {
    const v = this.get(server);
    if (!v) return;
    v.actions++;
    if (a.kind === 'upload' || a.kind === 'download') {
      v.files++;
      v.bytes += a.size;
    }
    v.counted = counted;
    v.limit = limit;
  }

  /** Returns false when no started server has that name (the caller prints it as a plain line). */
  note(server: string, text: string): boolean {
    const v = this.get(server);
    if (!v) return false;
    v.lines.push(...text.split('\n'));
    return true;
  }

  /** The block detector's explanation starts with "<server>: "; false when no known server matches. */
  blocked(explanation: string): boolean {
    const [first = '', ...rest] = explanation.split('\n');
    const v = [...this.servers.values()].find((s) => first.startsWith(`${s.server}: `));
    if (!v) return false;
    v.lines.push(`BLOCKED? ${first.slice(v.server.length + 2)}`, ...rest);
    return true;
  }

  end(r: ServerResult, now: number): void {
    const v = this.get(r.server);
    if (!v) return;
    v.state = r.ok ? 'ok' : 'failed';
    v.endedAt = now;
    delete v.pauseEndsAt;
    if (!r.ok && r.error) v.error = r.error;
  }

  /** The server's task line at `now`. */
  title(server: string, now: number): string {
    const v = this.get(server);
    if (!v) return server;
    const head = `${v.server} [stage ${v.stage}]`;
    if (v.state === 'planning') return `${head} locking and planning`;
    const t = v.totals;
    const parts: string[] = [];
    if (t) {
      parts.push(`phase ${v.phase?.n ?? 0}/${t.phases}`);
      parts.push(`files ${v.files}/${t.files}`);
      parts.push(`${formatBytes(v.bytes)}/${formatBytes(t.bytes)}`);
    }
    if (v.counted !== undefined && v.limit !== undefined) parts.push(`counted ${v.counted}/${v.limit}`);
    if (v.state === 'ok' || v.state === 'failed') {
      const took = v.startedAt !== undefined && v.endedAt !== undefined ? ` in ${formatDuration(v.endedAt - v.startedAt)}` : '';
      return `${head} ${v.state === 'ok' ? 'done' : 'FAILED'}${took}${parts.length ? `: ${parts.join(' · ')}` : ''}`;
    }
    const pauseLeft = v.pauseEndsAt !== undefined ? Math.max(0, v.pauseEndsAt - now) : 0;
    // A countdown in whole seconds, rounded up: it reaches 0 s when the pause ends.
    if (v.state === 'pause') parts.push(`pause ${formatDuration(Math.ceil(pauseLeft / 1000) * 1000)}`);
    if (t && v.startedAt !== undefined) {
      // The plan's estimate less the time spent; never below what the current pause still takes.
      const left = Math.max(pauseLeft, t.etaMs - (now - v.startedAt), 0);
      parts.push(`ETA ${formatDuration(Math.ceil(left / 1000) * 1000)}`);
    }
    return `${head} ${parts.join(' · ')}`;
  }
}
