/**
 * Build a plan (the I/O half of planning): walk local trees, list remote trees with the cheapest
 * strategy, read checksum state files, then hand everything to the pure diff and scheduler.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { actionCost, actionDuration, applySetupMs, connectionBudget, DEFAULT_RTT_MS, serverClosedCountedMs, timingFor, type LearnedWork, type TimingModel } from '../budget/cost.js';
import { schedule } from '../budget/schedule.js';
import { FtpsyncError } from '../errors.js';
import { skippedWarnings, walkLocal, type LocalEntry, type LocalSnapshot } from '../local/walk.js';
import type { Manifest, ServerConfig, SyncConfig } from '../manifest/types.js';
import type { FtpRemotePool } from '../remote/pool.js';
import { remoteJoin } from '../remote/safe-names.js';
import type { RemoteTree } from '../remote/types.js';
import { diffSync, LOCK_NAME, parseState, STATE_FILE, type SyncState } from './diff.js';
import { localDigest, remoteDigest } from './fingerprint.js';
import { PLAN_FORMAT_VERSION, type Plan, type PlannedAction, type ServerPlan, type SyncSummary } from './types.js';

export interface BuildOptions {
  manifest: Manifest;
  manifestDigest: string;
  toolVersion: string;
  poolFor: (server: ServerConfig) => FtpRemotePool;
  /** Only these servers (--server). */
  servers?: string[];
  now?: () => Date;
  /** Per-transfer work an earlier apply measured on this server (the ETA's calibration). */
  learnedWork?: (server: ServerConfig) => LearnedWork;
}

/** Everything a sync's diff was computed from; apply re-reads it to check the fingerprint. */
export interface SyncInputs {
  local: Map<string, LocalEntry>;
  /** Local symlinks and special files the walk left out (plan warnings). */
  skipped?: LocalSnapshot['skipped'];
  remote: RemoteTree;
  hashes?: Map<string, string>;
  state: SyncState | null;
  listingStrategy: ServerPlan['listing']['strategy'];
  listingDataConnections: number;
  /** Control round trip measured while listing, ms (null: not measured). */
  rttMs: number | null;
  /** How long reading these inputs took (local walk, hashes, listing), ms (null: not measured); apply reads them again. */
  readMs: number | null;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function readSyncInputs(server: ServerConfig, sync: SyncConfig, pool: FtpRemotePool): Promise<SyncInputs> {
  const started = performance.now();
  const snapshot: LocalSnapshot = sync.direction === 'download' && !existsSync(sync.localPath) ? { entries: new Map(), skipped: [] } : walkLocal(sync.localPath, sync);
  const local = snapshot.entries;
  let hashes: Map<string, string> | undefined;
  if (sync.compare === 'checksum' && sync.direction === 'upload') {
    hashes = new Map();
    for (const [p, e] of local) if (e.type === 'file') hashes.set(p, await sha256File(join(sync.localPath, ...p.split('/'))));
  }
  return pool.withSession(async (session) => {
    // Round trips measured before and after the listing: apply's other sessions log in at the
    // start, and the server's work for their logins inflated the first NOOPs (docs/benchmarks.md).
    const rttBefore = await session.roundTripMs();
    let remote: RemoteTree = new Map();
    let strategy: ServerPlan['listing']['strategy'] = 'stat';
    let dataConnections = 0;
    try {
      // The lock apply holds while it lists is not part of the tree.
      const listed = await session.listTree(sync.remotePath, (p) => p === LOCK_NAME);
      remote = listed.tree;
      strategy = listed.strategy;
      dataConnections = listed.dataConnections;
    } catch (e) {
      // A remote root that does not exist yet is an empty tree (an upload creates it).
      if (!(e instanceof FtpsyncError && e.details.ftpCode === 550)) throw e;
      if (sync.direction === 'download') throw new FtpsyncError('E_FTP', `${server.name}: remote directory ${sync.remotePath} does not exist`, `Check syncs "${sync.name}" remote:.`, { server: server.name, remotePath: sync.remotePath, ftpCode: 550 });
    }
    const state = sync.compare === 'checksum' ? parseState(await session.readSmallFile(remoteJoin(sync.remotePath, STATE_FILE))) : null;
    const rttMs = Math.min(rttBefore, await session.roundTripMs(2));
    return { local, skipped: snapshot.skipped, remote, ...(hashes ? { hashes } : {}), state, listingStrategy: strategy, listingDataConnections: dataConnections, rttMs, readMs: Math.round(performance.now() - started) };
  });
}

export function fingerprintKey(server: string, sync: string): string {
  return `${server}/${sync}`;
}

/** The timing model for a server: from the least round trip its listings measured. */
export function timingFromInputs(inputs: SyncInputs[], learned: LearnedWork = {}): TimingModel {
  const measured = inputs.map((x) => x.rttMs).filter((r): r is number => r !== null);
  return timingFor(measured.length ? Math.min(...measured) : DEFAULT_RTT_MS, learned);
}

/**
 * Plan one server from the inputs of its syncs (pure). `processStartMs`: what this process spent
 * before planning (Node's start, loading the manifest), which apply spends again.
 */
export function planServer(server: ServerConfig, syncs: SyncConfig[], inputs: SyncInputs[], timing: TimingModel = timingFromInputs(inputs), poolWarnings: string[] = [], processStartMs = 0): ServerPlan {
  const actions: PlannedAction[] = [];
  const summaries: SyncSummary[] = [];
  const warnings: string[] = [...poolWarnings];
  syncs.forEach((sync, i) => {
    const input = inputs[i]!;
    const d = diffSync({ server: server.name, sync, local: input.local, remote: input.remote, state: input.state, ...(input.hashes ? { localHashes: input.hashes } : {}) });
    // Syncs run one after another: offset each sync's stages past the previous one's.
    for (const a of d.actions) actions.push({ ...a, stage: i * 100_000 + a.stage, cost: actionCost(a.kind, server, timing.rttMs) });
    summaries.push(d.summary);
    warnings.push(...d.warnings, ...skippedWarnings(server.name, sync.name, input.skipped ?? []));
  });
  const budget = connectionBudget(server);
  const listingData = inputs.reduce((n, x) => n + x.listingDataConnections, 0);
  // Listing data connections made at plan time may still count when apply starts: reserve them.
  const sched = schedule({
    actions: actions.map((a) => ({ id: a.id, stage: a.stage, connections: a.cost.connections, countedMs: a.cost.countedMs, durationMs: actionDuration(a.kind, a.size, timing) })),
    budget,
    parallel: server.firewall.parallel,
    initiallyCounted: Array.from({ length: Math.min(listingData, budget - 1) }, () => serverClosedCountedMs(server)),
  });
  // apply starts, reads the same inputs again (to plan, or to check the fingerprint), logs in
  // and takes its lock: what planning measured, plus the round trips planning did not make.
  const readMs = inputs.reduce((t, x) => t + (x.readMs ?? [...x.remote.values()].filter((e) => e.type === 'dir').length * (timing.rttMs + 1)), 0);
  const setupMs = actions.length > 0 ? applySetupMs(timing, processStartMs + readMs) : 0;
  if (sched.etaMs > 3 * 3_600_000) warnings.push(`${server.name}: the budget (${budget} connections per ${Math.round(server.firewall.timeWaitMs / 1000)} s) makes this take about ${Math.round(sched.etaMs / 3_600_000)} h; consider dataClose: reset (see probe), or ask the host for a higher limit`);
  if (server.tls === 'none' && !['127.0.0.1', 'localhost', '::1'].includes(server.host)) warnings.push(`${server.name}: plain FTP: the password travels in clear text`);
  if (server.password?.source === 'literal') warnings.push(`${server.name}: the manifest holds a literal password`);
  return {
    server: server.name,
    host: server.host,
    budget,
    maxConnections: server.firewall.maxConnections,
    headroom: server.firewall.headroom,
    timeWaitMs: server.firewall.timeWaitMs,
    parallel: server.firewall.parallel,
    listing: { strategy: inputs[0]?.listingStrategy ?? 'stat', dataConnections: listingData },
    syncs: summaries,
    actions,
    // Durations are fractional (LAN transfers take a few ms: rounding each one skewed the ETA); the plan shows whole ms.
    phases: sched.phases.map((p) => ({ index: p.index, actionIds: p.actionIds, connections: p.connections, startMs: Math.round(p.startMs), estimatedMs: Math.round(p.estimatedMs), pauseAfterMs: Math.round(p.pauseAfterMs) })),
    countedConnections: sched.countedConnections,
    rttMs: timing.rttMs,
    theoreticalMinMs: sched.theoreticalMinMs,
    etaMs: sched.etaMs + setupMs,
    boundMs: sched.boundMs + setupMs,
    warnings: [...new Set(warnings)],
  };
}

export async function buildPlan(o: BuildOptions): Promise<Plan> {
  const { manifest } = o;
  const wanted = o.servers?.length ? new Set(o.servers) : null;
  const servers: ServerPlan[] = [];
  const fingerprint: Plan['fingerprint'] = { manifest: o.manifestDigest, local: {}, remote: {} };
  // Time since this process started (performance.now()'s origin): Node, modules, the manifest.
  let processStartMs = Math.round(performance.now());
  const order = manifest.rollout.stages.flatMap((s) => s.servers).filter((n) => !wanted || wanted.has(n));
  for (const name of order) {
    const server = manifest.servers[name]!;
    const syncs = manifest.syncs.filter((s) => s.servers.includes(name));
    if (syncs.length === 0) continue;
    const pool = o.poolFor(server);
    const inputs: SyncInputs[] = [];
    for (const sync of syncs) {
      const input = await readSyncInputs(server, sync, pool);
      inputs.push(input);
      fingerprint.local[fingerprintKey(name, sync.name)] = localDigest(input.local, input.hashes);
      fingerprint.remote[fingerprintKey(name, sync.name)] = remoteDigest(input.remote);
    }
    servers.push(planServer(server, syncs, inputs, timingFromInputs(inputs, o.learnedWork?.(server)), pool.warnings(), processStartMs));
    processStartMs = 0;
  }
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    createdAt: (o.now?.() ?? new Date()).toISOString(),
    tool: { name: 'ftpsync', version: o.toolVersion },
    manifestFile: manifest.file,
    fingerprint,
    rollout: {
      stages: manifest.rollout.stages.map((s) => ({ name: s.name, servers: s.servers.filter((n) => !wanted || wanted.has(n)) })).filter((s) => s.servers.length > 0),
      haltOnFailure: manifest.rollout.haltOnFailure,
    },
    servers,
  };
}

export function planHasChanges(plan: Plan): boolean {
  return plan.servers.some((s) => s.actions.length > 0);
}
