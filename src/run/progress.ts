/**
 * Progress events of apply, and their plain rendering: timestamped lines (CI, pipes) or one JSON
 * event per line with --json. A terminal gets a live view instead (cli/live-view.ts).
 */
import type { PlannedAction } from '../core/actions.js';
import { formatDuration } from '../manifest/duration.js';
import type { ServerPlan } from '../plan/types.js';
import type { ServerResult } from './executor.js';

/** What one server's run has to do (actions a journal records as done are left out). */
export interface RunTotals {
  phases: number;
  actions: number;
  /** Uploads and downloads, and their bytes. */
  files: number;
  bytes: number;
  /** The plan's estimate for the whole run, ms. */
  etaMs: number;
}

export interface Reporter {
  phase(server: string, n: number, of: number, actions: number, connections: number): void;
  /** A pause of `ms` starts now, before the next phase. */
  pause(server: string, ms: number, counted: number, limit: number): void;
  progress(server: string, a: PlannedAction, counted: number, limit: number): void;
  blocked(explanation: string): void;
  note(server: string, text: string): void;
  /** The server is planned and its run starts (a live view shows totals; the log lines do not). */
  serverStart?(server: string, totals: RunTotals): void;
  /** The server's run ended, whichever way. */
  serverEnd?(result: ServerResult): void;
}

const isTransfer = (a: PlannedAction) => a.kind === 'upload' || a.kind === 'download';

/** A server plan's totals, without the actions `done` says an earlier run finished. */
export function runTotals(sp: ServerPlan, done: (id: string) => boolean = () => false): RunTotals {
  const left = sp.actions.filter((a) => !done(a.id));
  const files = left.filter(isTransfer);
  return { phases: sp.phases.length, actions: left.length, files: files.length, bytes: files.reduce((n, a) => n + a.size, 0), etaMs: sp.etaMs };
}

export function makeReporter(o: { json: boolean; line: (s: string) => void; everyN?: number }): Reporter {
  const done = new Map<string, number>();
  const everyN = o.everyN ?? 25;
  const ts = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const emit = (event: Record<string, unknown>, text: string) =>
    o.line(o.json ? JSON.stringify({ at: new Date().toISOString(), ...event }) : `${ts()} ${text}`);
  return {
    phase(server, n, of, actions, connections) {
      emit(
        { event: 'phase', server, phase: n, phases: of, actions, connections },
        `${server}: phase ${n}/${of}: ${actions} action(s), ${connections} counted connection(s)`,
      );
    },
    pause(server, ms, counted, limit) {
      emit(
        { event: 'pause', server, ms, counted, limit },
        `${server}: pausing ${formatDuration(ms)}: ${counted}/${limit} connections still counted by the firewall`,
      );
    },
    progress(server, a, counted, limit) {
      const n = (done.get(server) ?? 0) + 1;
      done.set(server, n);
      if (o.json) emit({ event: 'action', server, kind: a.kind, path: a.path, size: a.size, counted, limit }, '');
      else if (n % everyN === 0) emit({}, `${server}: ${n} action(s) done; ${counted}/${limit} connections counted`);
    },
    blocked(explanation) {
      emit({ event: 'blocked', explanation }, `BLOCKED? ${explanation}`);
    },
    note(server, text) {
      emit({ event: 'note', server, text }, `${server}: ${text}`);
    },
  };
}
