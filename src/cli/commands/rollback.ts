import type { Command } from 'commander';
import { makeReporter } from '../../run/progress.js';
import { rollbackManifest } from '../../run/rollback.js';
import { DEFAULT_MANIFEST, loadManifestForCommand } from '../manifest.js';
import { out, style } from '../output.js';
import { addRunOptions, ftpTrace, selection, type RunOptions } from '../run-options.js';

export function registerRollback(program: Command): void {
  const cmd = program
    .command('rollback')
    .description(
      'Put the previous release back on each server (syncs with twoPhase): the files the last apply replaced or deleted are renamed back from ' +
        '<remote>/.ftpsync-releases/, the files it added are deleted. Renames only: nothing is transferred. Also undoes the part of a switch an interrupted apply did.',
    )
    .option('-c, --config <file>', 'manifest file', DEFAULT_MANIFEST)
    .option('--json', 'print the result as JSON');
  addRunOptions(cmd).action(async (opts: RunOptions & { config: string; json?: boolean }) => {
    const loaded = loadManifestForCommand(opts.config, { requireEnv: true });
    const { manifest, servers } = selection(loaded.manifest, opts);
    const results = await rollbackManifest({
      manifest,
      ...(servers ? { servers } : {}),
      ...ftpTrace(opts),
      reporter: makeReporter({ json: Boolean(opts.json), line: out }),
    });
    const rolledBack = results.flatMap((r) => r.syncs).filter((s) => s.release !== null).length;
    if (opts.json) out(JSON.stringify({ event: 'summary', results }));
    else {
      for (const r of results) {
        const line = `${r.server}: ${r.ok ? 'ok' : 'FAILED'}: ${r.syncs.filter((s) => s.release).length} sync(s) rolled back; connections ${r.connections.control} control + ${r.connections.data} data`;
        out(r.ok ? line : style('red', line));
        if (r.error) for (const l of r.error.split('\n')) out(`    ${l}`);
      }
      if (results.length === 0) out('No sync uploads with twoPhase: nothing to roll back.');
    }
    process.exitCode = results.every((r) => r.ok) && rolledBack > 0 ? 0 : 1;
  });
}
