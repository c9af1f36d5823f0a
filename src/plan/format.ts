/**
 * Plan formatters (pure): text for terminals, markdown for pull-request comments, JSON for apply.
 */
import type { ActionKind, PlannedAction } from '../core/actions.js';
import { formatDuration } from '../manifest/duration.js';
import { deletesMostOfTarget, percentOfTarget } from './delete-guard.js';
import type { Plan, ServerPlan, SyncSummary } from './types.js';

const KIND_LABEL: Record<ActionKind, string> = {
  mkdir: 'mkdir',
  upload: 'upload',
  delete: 'delete',
  rmdir: 'rmdir',
  download: 'download',
  'mkdir-local': 'mkdir (local)',
  'delete-local': 'delete (local)',
  'rmdir-local': 'rmdir (local)',
  'write-state': 'write state file',
  switch: 'switch into place',
};
const KIND_ORDER: ActionKind[] = ['mkdir', 'upload', 'download', 'mkdir-local', 'delete', 'delete-local', 'rmdir', 'rmdir-local', 'switch', 'write-state'];

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function countsLine(counts: Partial<Record<ActionKind, number>> & { unchanged: number }): string {
  const parts = KIND_ORDER.filter((k) => counts[k]).map((k) => `${counts[k]} ${KIND_LABEL[k]}`);
  parts.push(`${counts.unchanged} unchanged`);
  return parts.join(', ');
}

const DELETE_KINDS: ReadonlySet<ActionKind> = new Set(['delete', 'delete-local']);

/**
 * A sync's changes with its deletions first (they are what cannot be undone), marked "!!" when
 * they take more than half of the target; then the other counts and the protected files.
 */
function syncChanges(sy: SyncSummary): string {
  const d = sy.deletions;
  const deletes =
    d.files === 0
      ? '0 deletions'
      : `${deletesMostOfTarget(d) ? '!! ' : ''}${d.files} deletion(s) of ${d.targetFiles} target file(s), ${percentOfTarget(d)} %${deletesMostOfTarget(d) ? ': more than half of the target' : ''}`;
  const others: SyncSummary['counts'] = { ...sy.counts };
  for (const k of DELETE_KINDS) delete others[k];
  // Deleting ftpsync's own leftover temporary files is not a deletion of the target's files.
  const leftovers = (sy.counts.delete ?? 0) + (sy.counts['delete-local'] ?? 0) - d.files;
  return `${deletes}; ${countsLine(others)}${leftovers > 0 ? `, ${leftovers} leftover temporary file(s) removed` : ''}${d.protected ? `, ${d.protected} protected` : ''}`;
}

/** Deletions listed first: a truncated list must not hide them behind the uploads. */
function deletionsFirst(actions: PlannedAction[]): PlannedAction[] {
  const isDeletion = (a: PlannedAction) => symbol(a.kind) === '-';
  return [...actions.filter(isDeletion), ...actions.filter((a) => !isDeletion(a))];
}

function totalDeletions(plan: Plan): number {
  return plan.servers.reduce((n, s) => n + s.syncs.reduce((m, sy) => m + sy.deletions.files, 0), 0);
}

function symbol(kind: ActionKind): string {
  if (kind.startsWith('delete') || kind.startsWith('rmdir')) return '-';
  if (kind === 'upload' || kind === 'download' || kind === 'write-state' || kind === 'switch') return '~';
  return '+';
}

function describeAction(a: PlannedAction): string {
  const mark = a.kind === 'upload' || a.kind === 'download' ? (a.reason === 'new' ? '+' : '~') : symbol(a.kind);
  return `${mark} ${KIND_LABEL[a.kind]} ${a.path}${a.size ? ` (${formatBytes(a.size)})` : ''}`;
}

function phaseLine(s: ServerPlan, i: number): string {
  const p = s.phases[i]!;
  const pause = p.pauseAfterMs > 0 ? `, then pause ${formatDuration(p.pauseAfterMs)}` : '';
  return `phase ${i + 1}: ${p.actionIds.length} action(s), ${p.connections} counted connection(s), ~${formatDuration(p.estimatedMs)}${pause}`;
}

/** Two-phase uploads: the staging and the switch, each with its estimate. */
function twoPhaseLines(s: ServerPlan): string[] {
  const t = s.twoPhase;
  if (!t) return [];
  const replaced = t.switch.replaced ? `, ${t.switch.replaced} replacing a live file (moved aside first: two renames each, sent together)` : '';
  return [
    `staging: ${t.staging.uploads} upload(s) to temporary names beside their targets, ~${formatDuration(t.staging.etaMs)}; the site does not change`,
    `switch: ${t.switch.files} rename(s) into place over ${s.parallel} session(s), pipelined, no new connection, ~${formatDuration(t.switch.etaMs)}${replaced}`,
  ];
}

function budgetLine(s: ServerPlan): string {
  return `budget ${s.budget} connections (maxConnections ${s.maxConnections} × headroom ${s.headroom} − ${s.parallel} session(s)${s.parallelChosen ? `, ${s.parallelChosen}` : ''}), TIME_WAIT ${formatDuration(s.timeWaitMs)}`;
}

export interface TextOptions {
  /** Files listed per server before "… and N more". */
  maxFiles?: number;
}

export function formatText(plan: Plan, o: TextOptions = {}): string {
  const maxFiles = o.maxFiles ?? 50;
  const out: string[] = [];
  if (plan.servers.length === 0) return 'Nothing to plan: no server has a sync.\n';
  for (const s of plan.servers) {
    out.push(`Server ${s.server} (${s.host})`);
    out.push(`  ${budgetLine(s)}`);
    out.push(`  listing: ${s.listing.strategy}, ${s.listing.dataConnections} data connection(s)`);
    for (const sy of s.syncs) {
      const cmp = sy.compareUsed === sy.compareRequested ? sy.compareUsed : `${sy.compareUsed} (asked: ${sy.compareRequested})`;
      out.push(
        `  sync ${sy.name} (${sy.direction} ${sy.direction === 'upload' ? `${sy.localPath} → ${sy.remotePath}` : `${sy.remotePath} → ${sy.localPath}`}, compare ${cmp}): ${syncChanges(sy)}; ${formatBytes(sy.bytes)}`,
      );
    }
    if (s.actions.length === 0) {
      out.push('  no changes');
    } else {
      for (let i = 0; i < s.phases.length; i++) out.push(`  ${phaseLine(s, i)}`);
      for (const l of twoPhaseLines(s)) out.push(`  ${l}`);
      out.push(
        `  ${s.countedConnections} counted connection(s); ETA ${formatDuration(s.etaMs)} (theoretical minimum ${formatDuration(s.theoreticalMinMs)}${s.rttMs !== undefined ? `; round trip ${s.rttMs} ms` : ''})`,
      );
      for (const a of deletionsFirst(s.actions).slice(0, maxFiles)) out.push(`    ${describeAction(a)}`);
      if (s.actions.length > maxFiles) out.push(`    … and ${s.actions.length - maxFiles} more (--format json lists every action)`);
    }
    for (const w of s.warnings) out.push(`  warning: ${w}`);
    out.push('');
  }
  const total = plan.servers.reduce((n, s) => n + s.actions.length, 0);
  const deletions = totalDeletions(plan);
  if (total > 0) out.push(deletions === 0 ? 'No file deletions.' : `Deletions: ${deletions} file(s) (listed first above).`);
  out.push(
    total === 0
      ? 'No changes.'
      : `Plan: ${total} action(s) on ${plan.servers.filter((s) => s.actions.length).length} server(s). Run \`ftpsync apply\` to carry it out.`,
  );
  return `${out.join('\n')}\n`;
}

function escapeMd(s: string): string {
  return s.replace(/([\\`*_{}[\]<>|#])/g, '\\$1');
}

export function formatMarkdown(plan: Plan, o: { maxFiles?: number } = {}): string {
  const maxFiles = o.maxFiles ?? 200;
  const out: string[] = ['<!-- ftpsync-plan -->', '## ftpsync plan', ''];
  const total = plan.servers.reduce((n, s) => n + s.actions.length, 0);
  // Deletions come first in a pull-request comment: a reviewer sees them before anything else.
  const deleting = plan.servers.flatMap((s) => s.syncs.filter((sy) => sy.deletions.files > 0).map((sy) => ({ server: s.server, sy })));
  if (deleting.length === 0) out.push('**No file deletions.**', '');
  else {
    out.push(`**${totalDeletions(plan)} file deletion(s):**`, '');
    for (const { server, sy } of deleting) {
      const d = sy.deletions;
      out.push(
        `- ${deletesMostOfTarget(d) ? '⚠️ **more than half of the target:** ' : ''}${escapeMd(server)} / ${escapeMd(sy.name)}: ${d.files} of ${d.targetFiles} target file(s), ${percentOfTarget(d)} %`,
      );
    }
    out.push('');
  }
  out.push(total === 0 ? '**No changes.**' : `**${total} action(s)** on ${plan.servers.filter((s) => s.actions.length).length} server(s).`, '');
  out.push('| server | changes | counted connections | phases | pauses | ETA | theoretical minimum |', '|---|---|---|---|---|---|---|');
  for (const s of plan.servers) {
    const changes = s.syncs.map((sy) => `${escapeMd(sy.name)}: ${escapeMd(syncChanges(sy))}`).join('<br>');
    // Short pauses (an upload's socket counts for a few round trips) add up differently from TIME_WAIT pauses: show the total.
    const pauses = s.phases.filter((p) => p.pauseAfterMs > 0);
    const paused = pauses.reduce((sum, p) => sum + p.pauseAfterMs, 0);
    out.push(
      `| ${escapeMd(s.server)} | ${changes} | ${s.countedConnections} / budget ${s.budget} | ${s.phases.length} | ${pauses.length}${paused > 0 ? `, ${formatDuration(paused)} in all` : ''} | ${formatDuration(s.etaMs)} | ${formatDuration(s.theoreticalMinMs)} |`,
    );
  }
  for (const s of plan.servers) {
    out.push('', `### ${escapeMd(s.server)}`, '', `${budgetLine(s)}; listing by ${s.listing.strategy} (${s.listing.dataConnections} data connection(s)).`);
    if (s.phases.length) {
      out.push('');
      for (let i = 0; i < s.phases.length; i++) out.push(`- ${phaseLine(s, i)}`);
      for (const l of twoPhaseLines(s)) out.push(`- ${escapeMd(l)}`);
    }
    for (const w of s.warnings) out.push('', `> ⚠️ ${escapeMd(w)}`);
    if (s.actions.length) {
      out.push('', `<details><summary>${s.actions.length} file action(s)</summary>`, '', '```diff');
      for (const a of deletionsFirst(s.actions).slice(0, maxFiles)) out.push(describeAction(a).replace(/^~/, '!'));
      if (s.actions.length > maxFiles) out.push(`# … and ${s.actions.length - maxFiles} more`);
      out.push('```', '', '</details>');
    }
  }
  return `${out.join('\n')}\n`;
}

export function formatJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
