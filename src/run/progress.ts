/**
 * Progress for apply: plain timestamped lines (CI, pipes, and for now terminals too) or one JSON
 * event per line with --json. Pauses print a countdown line every 10 s.
 */
import type { PlannedAction } from '../core/actions.js';
import { formatDuration } from '../manifest/duration.js';

export interface Reporter {
  phase(server: string, n: number, of: number, actions: number, connections: number): void;
  pause(server: string, ms: number, counted: number, limit: number): void;
  progress(server: string, a: PlannedAction, counted: number, limit: number): void;
  blocked(explanation: string): void;
  note(server: string, text: string): void;
}

export function makeReporter(o: { json: boolean; line: (s: string) => void; everyN?: number }): Reporter {
  const done = new Map<string, number>();
  const everyN = o.everyN ?? 25;
  const ts = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const emit = (event: Record<string, unknown>, text: string) => o.line(o.json ? JSON.stringify({ at: new Date().toISOString(), ...event }) : `${ts()} ${text}`);
  return {
    phase(server, n, of, actions, connections) {
      emit({ event: 'phase', server, phase: n, phases: of, actions, connections }, `${server}: phase ${n}/${of}: ${actions} action(s), ${connections} counted connection(s)`);
    },
    pause(server, ms, counted, limit) {
      emit({ event: 'pause', server, ms, counted, limit }, `${server}: pausing ${formatDuration(ms)}: ${counted}/${limit} connections still counted by the firewall`);
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
