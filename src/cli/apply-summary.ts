/** apply's closing summary for a terminal or a log: one line per server, its failures, what did not run. */
import { formatDuration } from '../manifest/duration.js';
import { formatBytes } from '../plan/format.js';
import type { ServerResult } from '../run/executor.js';

export function summaryLines(results: ServerResult[], notRun: string[]): string[] {
  const lines = ['', 'Summary:'];
  for (const r of results) {
    const d = r.done;
    const did =
      Object.entries(d)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ') || 'nothing to do';
    lines.push(
      `  ${r.server}: ${r.ok ? 'ok' : 'FAILED'}: ${did}; ${formatBytes(r.bytes)}; skipped ${r.skippedFromJournal} (done in an earlier run); failed ${r.failed.length}; connections ${r.connections.control} control + ${r.connections.data} data, peak counted ${r.peakCounted}; ${r.planMs !== undefined ? `planned in ${formatDuration(r.planMs)}, ran ` : ''}${formatDuration(r.elapsedMs)}`,
    );
    if (r.switched) lines.push(`    ${switchedLine(r.switched)}`);
    for (const f of r.failed.slice(0, 20)) lines.push(`    failed ${f.path}: ${f.error}`);
    if (r.error && !r.ok) lines.push(...r.error.split('\n').map((l) => `    ${l}`));
  }
  if (notRun.length) lines.push(`  not run (an earlier stage failed): ${notRun.join(', ')} — these servers still have the previous release`);
  return lines;
}

/** Two-phase uploads: how long the site mixed two releases ("switched 1,000 files in 0.9 s"). */
export function switchedLine(s: NonNullable<ServerResult['switched']>): string {
  const seconds = s.windowMs < 10_000 ? (s.windowMs / 1000).toFixed(1) : String(Math.round(s.windowMs / 1000));
  const release = s.releases.length ? `; previous release kept as ${s.releases.join(', ')} (\`ftpsync rollback\` restores it)` : '';
  return `switched ${s.files.toLocaleString('en-US')} file(s) in ${seconds} s${release}`;
}
