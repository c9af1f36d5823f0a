/**
 * The mass-delete guard (pure): a plan that would empty a target, or delete more of it than the
 * sync's maxDelete allows, is refused unless the run (or the saved plan) says --allow-delete.
 * An empty build directory with `delete: true` would otherwise remove a whole site, and in CI
 * nobody reads the plan before apply runs it.
 */
import { FtpsyncError } from '../errors.js';
import type { DeleteLimit, SyncConfig } from '../manifest/types.js';
import type { Plan, SyncDeletions, SyncSummary } from './types.js';

/** Without maxDelete: refuse more than half of the target's files, when that is more than 10 files. */
export const DEFAULT_MAX_DELETE = { percent: 50, minFiles: 10 } as const;

export type GuardReason = 'empty-source' | 'over-limit';

/**
 * Why this sync's deletions are refused, or null. An empty source is refused whatever the count
 * limit (it is the failed-build case), unless maxDelete is "100%": any share of the target.
 */
export function guardReason(d: SyncDeletions, limit: DeleteLimit | undefined): GuardReason | null {
  if (d.files === 0) return null;
  const anyShare = limit !== undefined && 'percent' in limit && limit.percent >= 100;
  if (d.sourceFiles === 0 && !anyShare) return 'empty-source';
  if (limit === undefined) return d.files * 100 > DEFAULT_MAX_DELETE.percent * d.targetFiles && d.files > DEFAULT_MAX_DELETE.minFiles ? 'over-limit' : null;
  if ('count' in limit) return d.files > limit.count ? 'over-limit' : null;
  return d.files * 100 > limit.percent * d.targetFiles ? 'over-limit' : null;
}

/** The limit in words, for messages. */
export function limitText(limit: DeleteLimit | undefined): string {
  if (limit === undefined) return `the default: more than ${DEFAULT_MAX_DELETE.percent} % of the target's files and more than ${DEFAULT_MAX_DELETE.minFiles}`;
  return 'count' in limit ? `maxDelete ${limit.count} (files)` : `maxDelete "${limit.percent}%" of the target's files`;
}

/** Deletes more than half of what the target holds: the plan's formats mark it. */
export function deletesMostOfTarget(d: SyncDeletions): boolean {
  return d.files > 0 && d.files * 2 > d.targetFiles;
}

export function percentOfTarget(d: SyncDeletions): number {
  return d.targetFiles === 0 ? 100 : Math.round((d.files * 100) / d.targetFiles);
}

export interface GuardTrip {
  server: string;
  sync: SyncSummary;
  reason: GuardReason;
  limit: DeleteLimit | undefined;
  /** Kept releases of that many deploys hold what it deletes (two-phase uploads), for `ftpsync rollback`; 0: no copy is kept. */
  keptReleases: number;
}

/** What the guard reads of a sync's manifest entry. */
export type GuardedSync = { name: string; maxDelete?: DeleteLimit } & Partial<Pick<SyncConfig, 'direction' | 'twoPhase' | 'keepReleases'>>;

/** Every sync of the plan the guard refuses. `syncOf`: the sync's manifest entry (maxDelete, and whether a release keeps what it deletes). */
export function guardTrips(plan: Pick<Plan, 'servers'>, syncOf: (sync: string) => Omit<GuardedSync, 'name'> | undefined): GuardTrip[] {
  const trips: GuardTrip[] = [];
  for (const sp of plan.servers) {
    for (const sy of sp.syncs) {
      const config = syncOf(sy.name);
      const limit = config?.maxDelete;
      const reason = guardReason(sy.deletions, limit);
      const keptReleases = config?.direction === 'upload' && config.twoPhase ? (config.keepReleases ?? 0) : 0;
      if (reason) trips.push({ server: sp.server, sync: sy, reason, limit, keptReleases });
    }
  }
  return trips;
}

function tripLine(t: GuardTrip): string {
  const { sync: sy, server } = t;
  const d = sy.deletions;
  const [source, target] =
    sy.direction === 'upload' ? [`local ${sy.localPath}`, `${sy.remotePath} on ${server}`] : [`${sy.remotePath} on ${server}`, `local ${sy.localPath}`];
  const head = `sync "${sy.name}" on ${server} (${sy.direction})`;
  if (t.reason === 'empty-source') {
    return `${head}: the source (${source}) has no files while the target (${target}) has ${d.targetFiles}; the plan deletes ${d.files} of them (an empty build output or a wrong path looks like this)`;
  }
  return `${head}: the plan deletes ${d.files} of the ${d.targetFiles} files of the target (${target}), ${percentOfTarget(d)} %, over ${limitText(t.limit)}; source: ${source}`;
}

function recoverability(t: GuardTrip): string {
  return t.keptReleases > 0
    ? `What it deletes is moved into this deploy's release on the server (twoPhase): \`ftpsync rollback\` puts it back while the release is kept (keepReleases ${t.keptReleases}).`
    : `What it deletes cannot be restored: ftpsync keeps no copy of it (${t.sync.direction === 'download' ? 'a download deletes local files' : 'twoPhase is off or keepReleases is 0'}).`;
}

export interface RefusalContext {
  manifestFile: string;
  /** The saved plan's file when apply was given one (made without --allow-delete). */
  savedPlan?: string;
}

/** The refusal: names each sync, its numbers, its source, and the two ways to allow it. */
export function guardRefusal(trips: GuardTrip[], ctx: RefusalContext): FtpsyncError {
  const servers = [...new Set(trips.map((t) => t.server))].join(', ');
  const syncs = [...new Set(trips.map((t) => `"${t.sync.name}"`))].join(', ');
  const message = [
    `mass-delete guard: refused; nothing was changed on ${servers}:`,
    // Whether what it deletes can come back: say so before anyone allows it.
    ...trips.map((t) => `  - ${tripLine(t)}\n    ${recoverability(t)}`),
  ].join('\n');
  const oneRun = ctx.savedPlan
    ? `the plan ${ctx.savedPlan} was made without --allow-delete: review it and run \`ftpsync apply ${ctx.savedPlan} --allow-delete\`, or make it again with \`ftpsync plan --allow-delete --out ${ctx.savedPlan}\``
    : 'run again with --allow-delete (this run only)';
  const hint = `If these deletions are intended: ${oneRun}; or set maxDelete on sync ${syncs} in ${ctx.manifestFile} (a number of files, or a percentage such as "80%"; "100%" also allows an empty source). Otherwise check the source directory first.`;
  return new FtpsyncError('E_DELETE_GUARD', message, hint);
}

/**
 * Refuse the plan when the guard trips and neither this run (--allow-delete) nor the saved plan
 * (made with it) allows it. `syncs`: the manifest's, for each sync's maxDelete.
 */
export function checkDeleteGuard(
  plan: Pick<Plan, 'servers' | 'allowDelete'>,
  syncs: ReadonlyArray<GuardedSync>,
  o: RefusalContext & { allowDelete: boolean },
): void {
  if (o.allowDelete || plan.allowDelete) return;
  const trips = guardTrips(plan, (name) => syncs.find((s) => s.name === name));
  if (trips.length > 0) throw guardRefusal(trips, o);
}
