/**
 * Build a plan from snapshots (pure): each sync's local walk, remote listing and state file, read
 * by run/snapshot.ts, go through the diff, the cost model and the scheduler.
 */
import {
  actionCost,
  actionDuration,
  applySetupMs,
  DEFAULT_RTT_MS,
  serverClosedCountedMs,
  timingFor,
  transferRoundTrips,
  type LearnedWork,
  type TimingModel,
} from '../budget/cost.js';
import { chooseParallel } from '../budget/auto-parallel.js';
import { schedule } from '../budget/schedule.js';
import type { PlannedAction } from '../core/actions.js';
import { connectionBudget } from '../core/firewall-limit.js';
import { isLoopbackHost } from '../core/hosts.js';
import type { LocalEntry, RemoteTree, SkippedEntry } from '../core/tree.js';
import type { Manifest, ServerConfig, SyncConfig } from '../manifest/types.js';
import { noMfmtNote } from './compare.js';
import { diffSync } from './diff.js';
import type { ContentSnapshot } from './state.js';
import { localDigest, remoteDigest } from './fingerprint.js';
import { PLAN_FORMAT_VERSION, type Plan, type ServerPlan, type SyncSummary, type TwoPhaseSteps } from './types.js';

/** Listed one by one up to this many per sync, then counted: a tree of links would drown the plan. */
export const MAX_SKIPPED_LISTED = 20;

/** The plan's warnings for what a sync's walk left out. */
export function skippedWarnings(server: string, sync: string, skipped: SkippedEntry[]): string[] {
  const out = skipped.slice(0, MAX_SKIPPED_LISTED).map((s) => `${server}: sync "${sync}": left out ${s.path}: ${s.reason}`);
  const more = skipped.length - MAX_SKIPPED_LISTED;
  if (more > 0) out.push(`${server}: sync "${sync}": left out ${more} more symlinks or special files`);
  return out;
}

/** Everything a sync's diff is computed from (run/snapshot.ts reads it); apply reads it again to check the fingerprint. */
export interface SyncInputs {
  local: Map<string, LocalEntry>;
  /** Local symlinks and special files the walk left out (plan warnings). */
  skipped?: SkippedEntry[];
  remote: RemoteTree;
  hashes?: Map<string, string>;
  /** Uploads compared by content: the state file and the server's hashes (absent otherwise). */
  content?: ContentSnapshot;
  listingStrategy: ServerPlan['listing']['strategy'];
  listingDataConnections: number;
  /** Uploads compared by size-mtime: whether the server lists MFMT in FEAT (absent otherwise). */
  serverMfmt?: boolean;
  /** Control round trip measured while listing, ms (null: not measured). */
  rttMs: number | null;
  /** How long reading these inputs took (local walk, hashes, listing), ms (null: not measured); apply reads them again. */
  readMs: number | null;
}

/** What planning read for one server. */
export interface ServerSnapshot {
  server: ServerConfig;
  /** The server's syncs, in manifest order. */
  syncs: SyncConfig[];
  /** One per sync, in the same order. */
  inputs: SyncInputs[];
  /** Warnings the remote sessions collected while reading (unsafe names ignored, no MFMT, ...). */
  poolWarnings: string[];
  /** Per-transfer work an earlier apply measured on this server (the ETA's calibration). */
  learned?: LearnedWork;
  /** What this process spent before planning (Node's start, the manifest), which apply spends again; 0 but for the first server. */
  processStartMs: number;
}

export interface BuildOptions {
  manifest: Manifest;
  manifestDigest: string;
  toolVersion: string;
  /** Only these servers (--server). */
  servers?: string[];
  createdAt: Date;
  /** One per planned server, in rollout order (planOrder). */
  snapshots: ServerSnapshot[];
}

const wantedSet = (servers?: string[]) => (servers?.length ? new Set(servers) : null);

/** The servers a plan covers, in rollout order: the wanted ones (all without a list) that have syncs. */
export function planOrder(manifest: Manifest, servers?: string[]): string[] {
  const wanted = wantedSet(servers);
  return manifest.rollout.stages
    .flatMap((s) => s.servers)
    .filter((n) => !wanted || wanted.has(n))
    .filter((n) => manifest.syncs.some((s) => s.servers.includes(n)));
}

export function fingerprintKey(server: string, sync: string): string {
  return `${server}/${sync}`;
}

/** The timing model for a server: from the least round trip its listings measured. */
function timingFromInputs(inputs: SyncInputs[], learned: LearnedWork = {}): TimingModel {
  const measured = inputs.map((x) => x.rttMs).filter((r): r is number => r !== null);
  return timingFor(measured.length ? Math.min(...measured) : DEFAULT_RTT_MS, learned);
}

/**
 * Plan one server from the inputs of its syncs (pure). `processStartMs`: what this process spent
 * before planning (Node's start, loading the manifest), which apply spends again.
 */
export function planServer(
  server: ServerConfig,
  syncs: SyncConfig[],
  inputs: SyncInputs[],
  timing: TimingModel = timingFromInputs(inputs),
  poolWarnings: string[] = [],
  processStartMs = 0,
): ServerPlan {
  const actions: PlannedAction[] = [];
  const summaries: SyncSummary[] = [];
  const warnings: string[] = [...poolWarnings];
  syncs.forEach((sync, i) => {
    const input = inputs[i]!;
    const d = diffSync({
      server: server.name,
      sync,
      local: input.local,
      remote: input.remote,
      ...(input.hashes ? { localHashes: input.hashes } : {}),
      ...(input.content ?? {}),
    });
    // Syncs run one after another: offset each sync's stages past the previous one's.
    for (const a of d.actions) actions.push({ ...a, stage: i * 100_000 + a.stage, cost: actionCost(a.kind, server, timing.rttMs) });
    summaries.push(d.summary);
    warnings.push(...d.warnings, ...skippedWarnings(server.name, sync.name, input.skipped ?? []));
    if (input.serverMfmt === false) warnings.push(noMfmtNote(`${server.name}/${sync.name}`, sync.name));
  });
  const listingData = inputs.reduce((n, x) => n + x.listingDataConnections, 0);
  const scheduled = actions.map((a) => ({
    id: a.id,
    stage: a.stage,
    connections: a.cost.connections,
    countedMs: a.cost.countedMs,
    durationMs: durationOf(a, timing, server),
  }));
  // Listing data connections made at plan time may still count when apply starts: reserve them.
  const scheduleWith = (parallel: number) => {
    const budget = connectionBudget({ ...server.firewall, parallel });
    return schedule({
      actions: scheduled,
      budget,
      parallel,
      initiallyCounted: Array.from({ length: Math.min(listingData, budget - 1) }, () => serverClosedCountedMs(server)),
    });
  };
  const choice = server.firewall.parallelAuto
    ? chooseParallel(server.firewall, timing.rttMs, scheduled.filter((a) => a.connections > 0).length, (p) => scheduleWith(p).etaMs)
    : null;
  const parallel = choice?.parallel ?? server.firewall.parallel;
  const budget = connectionBudget({ ...server.firewall, parallel });
  const sched = scheduleWith(parallel);
  // apply starts, reads the same inputs again (to plan, or to check the fingerprint), logs in
  // and takes its lock: what planning measured, plus the round trips planning did not make.
  const readMs = inputs.reduce((t, x) => t + (x.readMs ?? [...x.remote.values()].filter((e) => e.type === 'dir').length * (timing.rttMs + 1)), 0);
  const setupMs = actions.length > 0 ? applySetupMs(timing, processStartMs + readMs) : 0;
  const twoPhase = twoPhaseSteps(actions, timing, server, parallel, sched.etaMs + setupMs);
  if (sched.etaMs > 3 * 3_600_000)
    warnings.push(
      `${server.name}: the budget (${budget} connections per ${Math.round(server.firewall.timeWaitMs / 1000)} s) makes this take about ${Math.round(sched.etaMs / 3_600_000)} h; consider dataClose: reset (see probe), or ask the host for a higher limit`,
    );
  if (server.tls === 'none' && !isLoopbackHost(server.host)) warnings.push(`${server.name}: plain FTP: the password travels in clear text`);
  const learned = server.firewall.learned;
  if (learned)
    warnings.push(
      `${server.name}: planning with maxConnections ${server.firewall.maxConnections}, learned from a firewall block at ${learned.at} (the manifest says ${learned.manifestMaxConnections}); to reset it, delete the "${server.host}:${server.port}" entry in ${learned.store}, or set firewall.confirmed: true if ${learned.manifestMaxConnections} is the host's real limit`,
    );
  if (server.password?.source === 'literal') warnings.push(`${server.name}: the manifest holds a literal password`);
  return {
    server: server.name,
    host: server.host,
    budget,
    maxConnections: server.firewall.maxConnections,
    headroom: server.firewall.headroom,
    timeWaitMs: server.firewall.timeWaitMs,
    parallel,
    ...(choice ? { parallelChosen: choice.reason } : {}),
    listing: { strategy: inputs[0]?.listingStrategy ?? 'stat', dataConnections: listingData },
    syncs: summaries,
    actions,
    // Durations are fractional (LAN transfers take a few ms: rounding each one skewed the ETA); the plan shows whole ms.
    phases: sched.phases.map((p) => ({
      index: p.index,
      actionIds: p.actionIds,
      connections: p.connections,
      startMs: Math.round(p.startMs),
      estimatedMs: Math.round(p.estimatedMs),
      pauseAfterMs: Math.round(p.pauseAfterMs),
    })),
    countedConnections: sched.countedConnections,
    rttMs: timing.rttMs,
    theoreticalMinMs: sched.theoreticalMinMs,
    etaMs: sched.etaMs + setupMs,
    boundMs: sched.boundMs + setupMs,
    ...(twoPhase ? { twoPhase } : {}),
    warnings: [...new Set(warnings)],
  };
}

/** An action's estimated duration; a switch that replaces a live file moves it aside first (four commands, not two). */
function durationOf(a: Pick<PlannedAction, 'kind' | 'size' | 'reason' | 'staged' | 'mtimeMs'>, timing: TimingModel, server: ServerConfig): number {
  const d = actionDuration(a.kind, a.size, timing, transferRoundTrips(a, server));
  return a.kind === 'switch' && a.reason === 'changed' ? 2 * d : d;
}

/**
 * The staging and the switch as separate steps. The switch opens no connection: its renames are
 * spread over the parallel sessions, pipelined in batches, with no pause; the staging is the rest
 * of the estimate.
 */
function twoPhaseSteps(actions: PlannedAction[], timing: TimingModel, server: ServerConfig, parallel: number, etaMs: number): TwoPhaseSteps | undefined {
  const switches = actions.filter((a) => a.kind === 'switch');
  if (!switches.length) return undefined;
  const switchMs = Math.round(switches.reduce((t, a) => t + durationOf(a, timing, server), 0) / Math.max(1, parallel));
  return {
    staging: { uploads: actions.filter((a) => a.kind === 'upload' && a.staged).length, etaMs: Math.max(0, Math.round(etaMs - switchMs)) },
    switch: { files: switches.length, replaced: switches.filter((a) => a.reason === 'changed').length, etaMs: switchMs },
  };
}

export function buildPlan(o: BuildOptions): Plan {
  const { manifest } = o;
  const wanted = wantedSet(o.servers);
  const fingerprint: Plan['fingerprint'] = { manifest: o.manifestDigest, local: {}, remote: {} };
  const servers: ServerPlan[] = [];
  for (const snap of o.snapshots) {
    snap.syncs.forEach((sync, i) => {
      const input = snap.inputs[i]!;
      fingerprint.local[fingerprintKey(snap.server.name, sync.name)] = localDigest(input.local, input.hashes);
      fingerprint.remote[fingerprintKey(snap.server.name, sync.name)] = remoteDigest(input.remote);
    });
    servers.push(planServer(snap.server, snap.syncs, snap.inputs, timingFromInputs(snap.inputs, snap.learned), snap.poolWarnings, snap.processStartMs));
  }
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    createdAt: o.createdAt.toISOString(),
    tool: { name: 'ftpsync', version: o.toolVersion },
    manifestFile: manifest.file,
    // `ftpsync plan --allow-delete` sets it on the plan it prints and saves.
    allowDelete: false,
    fingerprint,
    rollout: {
      stages: manifest.rollout.stages
        .map((s) => ({ name: s.name, servers: s.servers.filter((n) => !wanted || wanted.has(n)) }))
        .filter((s) => s.servers.length > 0),
      haltOnFailure: manifest.rollout.haltOnFailure,
    },
    servers,
  };
}

export function planHasChanges(plan: Plan): boolean {
  return plan.servers.some((s) => s.actions.length > 0);
}
