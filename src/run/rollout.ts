/**
 * Rollout stages (pure orchestration, I/O injected): stages run in order, the servers of a stage
 * in parallel; a failed server halts the stages after it when the manifest says so.
 */
import type { Plan } from '../plan/types.js';

export interface ServerOutcome {
  server: string;
  ok: boolean;
}

export interface RolloutResult<R extends ServerOutcome> {
  results: R[];
  /** Servers of stages that did not run because an earlier stage failed: they keep the old release. */
  notRun: string[];
}

export async function runRollout<R extends ServerOutcome>(
  rollout: Plan['rollout'],
  /** The servers this run targets (--server applied); servers of a stage not listed here are left alone. */
  targets: string[],
  runServer: (server: string) => Promise<R>,
  onStage?: (name: string, servers: string[]) => void,
): Promise<RolloutResult<R>> {
  const results: R[] = [];
  const notRun: string[] = [];
  let halted = false;
  for (const stage of rollout.stages) {
    const servers = stage.servers.filter((s) => targets.includes(s));
    if (servers.length === 0) continue;
    if (halted) {
      notRun.push(...servers);
      continue;
    }
    onStage?.(stage.name, servers);
    const stageResults = await Promise.all(servers.map((s) => runServer(s)));
    results.push(...stageResults);
    if (rollout.haltOnFailure && stageResults.some((r) => !r.ok)) halted = true;
  }
  return { results, notRun };
}
