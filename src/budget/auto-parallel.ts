/**
 * `parallel: auto` (pure): how many sessions to run, from the measured round trip, the server's
 * session cap and the budget. On a LAN a transfer costs the server's work, not round trips, and
 * two sessions are what the bench measured fastest; across the internet each file costs round
 * trips, so sessions overlap them: the plan's own ETA is compared for each session count, and
 * the fewest sessions within AUTO_PARALLEL_SLACK of the fastest win (every session is a login
 * and a counted connection).
 */
import { connectionBudget, LAN_PARALLEL } from '../core/firewall-limit.js';

/** Below this round trip the link is a LAN: the fixed choice. */
export const LAN_RTT_MS = 5;
/** A session count within this fraction of the fastest ETA is as good (fewer sessions win). */
export const AUTO_PARALLEL_SLACK = 0.05;

export interface ParallelChoice {
  parallel: number;
  /** Why, for the plan's text: "auto: round trip 50 ms". */
  reason: string;
}

/** The session counts worth trying: up to the server's cap, each leaving the budget room for one data connection per session. */
export function parallelCandidates(fw: { maxConnections: number; headroom: number; maxSessions: number }): number[] {
  const out: number[] = [];
  for (let s = 1; s <= Math.min(16, fw.maxSessions); s++) if (connectionBudget({ ...fw, parallel: s }) >= s) out.push(s);
  return out.length ? out : [1];
}

/**
 * The session count for `parallel: auto`. `etaFor(s)`: the plan's ETA with s sessions (only
 * asked across the internet); `transfers`: how many actions open a data connection (no more
 * sessions than that: an idle session is a login for nothing).
 */
export function chooseParallel(
  fw: { maxConnections: number; headroom: number; maxSessions: number },
  rttMs: number,
  transfers: number,
  etaFor: (parallel: number) => number,
): ParallelChoice {
  const candidates = parallelCandidates(fw);
  const most = candidates.at(-1)!;
  if (rttMs < LAN_RTT_MS) return { parallel: Math.min(LAN_PARALLEL, most), reason: `auto: round trip ${formatRtt(rttMs)}, a LAN` };
  const useful = candidates.filter((s) => s <= Math.max(1, transfers));
  const etas = useful.map((s) => ({ s, eta: etaFor(s) }));
  const best = Math.min(...etas.map((e) => e.eta));
  const pick = etas.find((e) => e.eta <= best * (1 + AUTO_PARALLEL_SLACK))!;
  return { parallel: pick.s, reason: `auto: round trip ${formatRtt(rttMs)}` };
}

function formatRtt(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
