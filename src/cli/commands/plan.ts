import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { FtpsyncError } from '../../errors.js';
import { planHasChanges } from '../../plan/build.js';
import { checkDeleteGuard } from '../../plan/delete-guard.js';
import { formatJson, formatMarkdown, formatText } from '../../plan/format.js';
import type { Plan } from '../../plan/types.js';
import { makePlan, planningContext } from '../../run/context.js';
import { DEFAULT_MANIFEST, loadManifestForCommand } from '../manifest.js';
import { out } from '../output.js';
import { addRunOptions, ftpTrace, selection, type RunOptions } from '../run-options.js';

export function registerPlan(program: Command): void {
  const cmd = program
    .command('plan')
    .description(
      'Show what would change on each server, what it costs in connections, and the phases and pauses that keep it inside the firewall budget. Lists remote trees (over the control connection where the server allows); changes nothing.',
    )
    .option('-c, --config <file>', 'manifest file', DEFAULT_MANIFEST)
    .option('--format <format>', 'text, markdown (for a pull-request comment) or json', 'text')
    .option('--out <file>', 'also save the plan as JSON, for `ftpsync apply <file>`')
    .option('--detailed-exitcode', 'exit 2 when changes are planned, 0 when there are none, 1 on error')
    .option('--allow-delete', 'allow deletions over the mass-delete guard (maxDelete, or an empty source); a saved plan records it');
  addRunOptions(cmd).action(async (opts: RunOptions & { config: string; format: string; out?: string; detailedExitcode?: boolean; allowDelete?: boolean }) => {
    if (!['text', 'markdown', 'json'].includes(opts.format)) throw new FtpsyncError('E_USAGE', `--format ${opts.format}: expected text, markdown or json`);
    const loaded = loadManifestForCommand(opts.config, { requireEnv: true });
    const { manifest, servers } = selection(loaded.manifest, opts);
    const ctx = planningContext(ftpTrace(opts));
    try {
      const plan: Plan = { ...(await makePlan(manifest, loaded.result.digest!, ctx, servers)), allowDelete: Boolean(opts.allowDelete) };
      if (opts.out) writeFileSync(opts.out, formatJson(plan));
      out(opts.format === 'json' ? formatJson(plan) : opts.format === 'markdown' ? formatMarkdown(plan) : formatText(plan));
      if (opts.out && opts.format !== 'json') out(`Saved the plan to ${opts.out}: run \`ftpsync apply ${opts.out}\`.`);
      // The plan is shown (and saved) first: the refusal is about what it lists.
      checkDeleteGuard(plan, manifest.syncs, { allowDelete: false, manifestFile: manifest.file });
      process.exitCode = opts.detailedExitcode && planHasChanges(plan) ? 2 : 0;
    } finally {
      await ctx.close();
    }
  });
}
