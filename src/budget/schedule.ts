/**
 * The scheduler (pure): place actions on a timeline of `parallel` lanes so that, at every moment,
 * the connections the firewall still counts plus the ones we open stay within the budget B.
 * When the next action does not fit, a new phase starts after an exact pause: the time at which
 * enough earlier connections have stopped counting for a full phase (min(B, what is left)).
 * Stages are barriers: an action starts only after every action of a lower stage has ended.
 */
import type { Phase } from '../core/actions.js';

export interface SchedulableAction {
  id: string;
  stage: number;
  /** New counted connections this action opens. */
  connections: number;
  /** How long each of them keeps counting after it closes. */
  countedMs: number;
  durationMs: number;
}

/** A phase as the plan records it (plan/types.ts is the contract with apply). */
export type ScheduledPhase = Phase;

export interface Schedule {
  phases: ScheduledPhase[];
  /** Start time of each action, ms from the beginning. */
  starts: Map<string, number>;
  etaMs: number;
  countedConnections: number;
  theoreticalMinMs: number;
  boundMs: number;
}

export interface ScheduleInput {
  actions: SchedulableAction[];
  budget: number;
  parallel: number;
  /** Counted until these times (ms) when apply starts: e.g. the listing's data connections. */
  initiallyCounted?: number[];
}

/**
 * Whether a connection keeps counting TIME_WAIT-scale times after it closes (>= 5 s), as
 * server-closed ones do, rather than round trips, as uploads and reset-closed downloads do. The
 * theoretical minimum's pauses and the executor's whole-phase waits are for these only.
 */
export function lingers(countedMs: number): boolean {
  return countedMs >= LINGER_MS;
}
/** Real counting times are either round trips (<= ~0.1 s) or TIME_WAIT (>= 60 s); 5 s is between. */
export const LINGER_MS = 5_000;

/** Count of expiries strictly after t. */
function countedAt(expiries: number[], t: number): number {
  let n = 0;
  for (const e of expiries) if (e > t) n++;
  return n;
}

/** The earliest time >= t at which countedAt(expiries) <= limit. */
function whenCountedAtMost(expiries: number[], t: number, limit: number): number {
  const alive = expiries.filter((e) => e > t).sort((a, b) => a - b);
  const excess = alive.length - limit;
  return excess <= 0 ? t : alive[excess - 1]!;
}

export function schedule(input: ScheduleInput): Schedule {
  const { actions, parallel } = input;
  const budget = Math.max(1, input.budget);
  const lanes = new Array<number>(Math.max(1, parallel)).fill(0);
  const expiries = [...(input.initiallyCounted ?? [])];
  const starts = new Map<string, number>();
  const phases: ScheduledPhase[] = [];
  let remainingCost = actions.reduce((n, a) => n + a.connections, 0);
  const totalCost = remainingCost;
  let stage = actions[0]?.stage ?? 0;
  let stageEnd = 0;
  let current: ScheduledPhase | null = null;
  let phaseEnd = 0;

  const newPhase = (startMs: number) => {
    if (current) current.pauseAfterMs = Math.max(0, startMs - phaseEnd);
    current = { index: phases.length, actionIds: [], connections: 0, startMs, estimatedMs: 0, pauseAfterMs: 0 };
    phases.push(current);
  };

  for (const a of actions) {
    if (a.connections > budget) throw new Error(`action ${a.id} needs ${a.connections} connections, more than the budget ${budget}`);
    if (a.stage !== stage) {
      // Barrier: the next stage waits for every lane.
      const barrier = Math.max(stageEnd, ...lanes);
      lanes.fill(barrier);
      stage = a.stage;
    }
    let lane = 0;
    for (let i = 1; i < lanes.length; i++) if (lanes[i]! < lanes[lane]!) lane = i;
    let start = lanes[lane]!;
    if (!current) newPhase(start);
    if (a.connections > 0 && countedAt(expiries, start) + a.connections > budget) {
      // Budget exhausted: pause until a whole phase fits (or all that is left).
      const want = Math.min(budget, remainingCost);
      start = whenCountedAtMost(expiries, Math.max(start, phaseEnd), budget - want);
      newPhase(start);
      for (let i = 0; i < lanes.length; i++) lanes[i] = Math.max(lanes[i]!, start);
    }
    const end = start + a.durationMs;
    lanes[lane] = end;
    stageEnd = Math.max(stageEnd, end);
    for (let c = 0; c < a.connections; c++) expiries.push(end + a.countedMs);
    remainingCost -= a.connections;
    starts.set(a.id, start);
    const ph = current!;
    ph.actionIds.push(a.id);
    ph.connections += a.connections;
    phaseEnd = Math.max(phaseEnd, end);
    ph.estimatedMs = phaseEnd - ph.startMs;
  }
  const etaMs = Math.max(0, stageEnd, ...lanes);
  // Theoretical minimum (docs/firewall.md): N connections that keep counting for W (TIME_WAIT-scale,
  // see lingers) under budget B need at least (ceil(N/B) − 1) × W, plus the transfer time.
  // Connections that stop counting within seconds (uploads) add only their transfer time.
  const lingering = actions.filter((a) => a.connections > 0 && lingers(a.countedMs));
  const n = lingering.reduce((k, a) => k + a.connections, 0);
  const w = lingering.length ? Math.max(...lingering.map((a) => a.countedMs)) : 0;
  const transferMs = actions.reduce((t, a) => t + a.durationMs, 0) / Math.max(1, parallel);
  const theoreticalMinMs = Math.round(Math.max(0, Math.ceil(n / budget) - 1) * w + transferMs);
  // What the order adds at most: every stage barrier can idle lanes for up to one action's duration,
  // and each phase can end with lanes unevenly loaded by up to one action.
  const maxDur = actions.reduce((m, a) => Math.max(m, a.durationMs), 0);
  const stages = new Set(actions.map((a) => a.stage)).size;
  const initialWait = input.initiallyCounted?.length ? Math.max(0, ...input.initiallyCounted) : 0;
  // The guarantee: every pause waits for at most one counting time plus one action, and there
  // are at most ceil(N/B) − 1 of them (each phase takes min(B, what is left)); stage barriers and
  // uneven lanes cost at most one action's duration each.
  const wMax = actions.reduce((m, a) => (a.connections > 0 ? Math.max(m, a.countedMs) : m), 0);
  const pausesAtMost = Math.max(0, Math.ceil(totalCost / budget) - 1);
  const boundMs = Math.round(transferMs + pausesAtMost * (wMax + maxDur) + (stages + phases.length) * maxDur + initialWait);
  return { phases, starts, etaMs: Math.round(etaMs), countedConnections: totalCost, theoreticalMinMs, boundMs };
}
