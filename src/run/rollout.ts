/**
 * Rollout stages (pure orchestration, I/O injected): stages run in order, the servers of a stage
 * in parallel; a failed server halts the stages after it when the manifest says so.
 */
import type { Plan, ServerPlan } from '../plan/types.js';

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
  plan: Pick<Plan, 'rollout' | 'servers'>,
  runServer: (sp: ServerPlan) => Promise<R>,
  onStage?: (name: string, servers: string[]) => void,
): Promise<RolloutResult<R>> {
  const results: R[] = [];
  const notRun: string[] = [];
  let halted = false;
  for (const stage of plan.rollout.stages) {
    // The plan holds only the servers this run targets (--server): a stage may be empty.
    const servers = plan.servers.filter((s) => stage.servers.includes(s.server));
    if (halted) {
      notRun.push(...servers.map((s) => s.server));
      continue;
    }
    onStage?.(stage.name, servers.map((s) => s.server));
    const stageResults = await Promise.all(servers.map((sp) => runServer(sp)));
    results.push(...stageResults);
    if (plan.rollout.haltOnFailure && stageResults.some((r) => !r.ok)) halted = true;
  }
  return { results, notRun };
}
