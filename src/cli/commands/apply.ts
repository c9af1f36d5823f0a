import type { Command } from 'commander';
import { applyManifest } from '../../run/apply.js';
import { makeReporter } from '../../run/progress.js';
import { summaryLines } from '../apply-summary.js';
import { DEFAULT_MANIFEST, loadManifestForCommand } from '../manifest.js';
import { LiveView, useLiveView } from '../live-view.js';
import { logLine, out } from '../output.js';

export function registerApply(program: Command): void {
  program
    .command('apply [plan]')
    .description('Carry out a plan: without PLAN, plan and apply now; with a saved plan.json, first refuse it if the manifest, local files or remote listing changed since. Runs rollout stages in order, each server inside its firewall budget, resumable after a crash.')
    .option('-c, --config <file>', 'manifest file', DEFAULT_MANIFEST)
    .option('--server <name...>', 'only these servers')
    .option('--json', 'one JSON event per line')
    .option('--allow-delete', 'allow deletions over the mass-delete guard (maxDelete, or an empty source), this run only')
    .action(async (planFile: string | undefined, opts: { config: string; server?: string[]; json?: boolean; allowDelete?: boolean }) => {
      const { manifest, result } = loadManifestForCommand(opts.config, { requireEnv: true });
      // A terminal gets the live view; CI, pipes and --json the lines they always had.
      const live = useLiveView({ json: Boolean(opts.json), isTTY: process.stdout.isTTY, env: process.env }) ? new LiveView() : null;
      let outcome: Awaited<ReturnType<typeof applyManifest>>;
      try {
        outcome = await applyManifest({
          manifest,
          manifestDigest: result.digest!,
          ...(planFile ? { planFile } : {}),
          ...(opts.server ? { servers: opts.server } : {}),
          allowDelete: Boolean(opts.allowDelete),
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
