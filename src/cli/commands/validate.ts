import type { Command } from 'commander';
import { formatFinding, loadManifest } from '../../manifest/load.js';
import { registerManifestSecrets, DEFAULT_MANIFEST } from '../manifest.js';
import { out, style } from '../output.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('Check the manifest without connecting anywhere: every problem at once, as FILE:LINE:COL.')
    .option('-c, --config <file>', 'manifest file', DEFAULT_MANIFEST)
    .option('--json', 'print the findings as JSON')
    .option('--require-env', 'treat unset ${ENV} references as errors (as plan and apply do)')
    .action((opts: { config: string; json?: boolean; requireEnv?: boolean }) => {
      const result = loadManifest(opts.config, { requireEnv: opts.requireEnv ?? false });
      if (result.manifest) registerManifestSecrets(result.manifest);
      const errors = result.findings.filter((f) => f.severity === 'error');
      const valid = errors.length === 0 && result.manifest !== null;
      if (opts.json) {
        out(JSON.stringify({ file: opts.config, valid, findings: result.findings }, null, 2));
      } else {
        for (const f of result.findings) out(style(f.severity === 'error' ? 'red' : 'yellow', formatFinding(f)));
        if (valid) {
          const m = result.manifest!;
          out(`${opts.config}: valid (${Object.keys(m.servers).length} server(s), ${m.syncs.length} sync(s), ${m.rollout.stages.length} rollout stage(s))`);
        } else {
          out(`${opts.config}: ${errors.length} error(s)`);
        }
      }
      process.exitCode = valid ? 0 : 1;
    });
}
