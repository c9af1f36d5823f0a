import type { Command } from 'commander';
import { applyManifest } from '../../run/apply.js';
import { makeReporter } from '../../run/progress.js';
import { summaryLines } from '../apply-summary.js';
import { DEFAULT_MANIFEST, loadManifestForCommand } from '../manifest.js';
import { FtpsyncError } from '../../errors.js';
import { LiveView, useLiveView } from '../live-view.js';
import { logLine, out } from '../output.js';
import { addRunOptions, ftpTrace, selection, type RunOptions } from '../run-options.js';

export function registerApply(program: Command): void {
  const cmd = program
    .command('apply [plan]')
    .description(
      'Carry out a plan: without PLAN, plan and apply now; with a saved plan.json, first refuse it if the manifest, local files or remote listing changed since. Runs rollout stages in order, each server inside its firewall budget, resumable after a crash.',
    )
    .option('-c, --config <file>', 'manifest file', DEFAULT_MANIFEST)
    .option('--json', 'one JSON event per line')
    .option('--allow-delete', 'allow deletions over the mass-delete guard (maxDelete, or an empty source), this run only');
  addRunOptions(cmd).action(async (planFile: string | undefined, opts: RunOptions & { config: string; json?: boolean; allowDelete?: boolean }) => {
    if (planFile && opts.sync) {
      throw new FtpsyncError(
        'E_USAGE',
        `--sync with a saved plan (${planFile}): the plan already says which syncs it changes`,
        `Make the plan with the syncs you want: \`ftpsync plan --sync ${opts.sync.join(' --sync ')} --out ${planFile}\`, then \`ftpsync apply ${planFile}\`.`,
      );
    }
    const loaded = loadManifestForCommand(opts.config, { requireEnv: true });
    const { manifest, servers } = selection(loaded.manifest, opts);
    // A terminal gets the live view; CI, pipes and --json the lines they always had.
    const live = useLiveView({ json: Boolean(opts.json), isTTY: process.stdout.isTTY, env: process.env }) ? new LiveView() : null;
    let outcome: Awaited<ReturnType<typeof applyManifest>>;
    try {
      outcome = await applyManifest({
        manifest,
        manifestDigest: loaded.result.digest!,
        ...(planFile ? { planFile } : {}),
        ...(servers ? { servers } : {}),
        allowDelete: Boolean(opts.allowDelete),
        ...ftpTrace(opts),
        reporter: live ?? makeReporter({ json: Boolean(opts.json), line: out }),
        onStage: (name, servers) => {
          if (live) live.stage(name, servers);
          else if (!opts.json) logLine(`stage ${name}: ${servers.join(', ')}`);
        },
      });
    } finally {
      await live?.finish();
    }
    const { results, notRun, ok } = outcome;
    if (opts.json) out(JSON.stringify({ event: 'summary', results, notRun }));
    else for (const l of summaryLines(results, notRun)) out(l);
    process.exitCode = ok ? 0 : 1;
  });
}
