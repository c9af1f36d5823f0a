import type { Command } from 'commander';
import { assertKnownServers } from '../../manifest/servers.js';
import { probeServer, type ProbeFindings } from '../../probe/probe.js';
import { formatFindingsText, recommend, recommendationYaml } from '../../probe/report.js';
import { DEFAULT_MANIFEST, loadManifestForCommand } from '../manifest.js';
import { err, out, style } from '../output.js';

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .argument('[server...]', 'servers to probe (default: every server in the manifest)')
    .description(
      'Ask each server what it supports: FEAT, TLS (protocol, certificate, session reuse), which listings work and are complete (STAT, MLSD, LIST), ' +
        'passive and active mode, atomic rename, MFMT, round-trip time, and whether downloads closed with a reset complete cleanly. ' +
        'Ends with the settings to paste into ftpsync.yml. Opens about a dozen connections (and says how many); writes only in a temporary ' +
        'directory it removes.',
    )
    .option('-c, --config <file>', 'manifest file', DEFAULT_MANIFEST)
    .option('--json', 'print the findings and recommendations as JSON')
    .action(async (names: string[], opts: { config: string; json?: boolean }) => {
      const { manifest } = loadManifestForCommand(opts.config, { requireEnv: true });
      assertKnownServers(manifest, names, 'probe');
      const targets = names.length > 0 ? names : Object.keys(manifest.servers);
      const results: Array<{ server: string; findings?: ProbeFindings; recommended?: Record<string, unknown>; recommendedYaml?: string; error?: string }> = [];
      for (const name of targets) {
        const config = manifest.servers[name]!;
        try {
          const findings = await probeServer(manifest, config, (line) => !opts.json && err(`${name}: ${line}`));
          const r = recommend(findings, config);
          results.push({ server: name, findings, recommended: r.settings, recommendedYaml: recommendationYaml(name, r) });
          if (!opts.json) out(`${formatFindingsText(findings, r)}\n`);
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          results.push({ server: name, error: message });
          if (!opts.json) out(style('red', `${name}: probe failed: ${message}\n`));
        }
      }
      if (opts.json) out(JSON.stringify({ servers: results }, null, 2));
      process.exitCode = results.some((r) => r.error !== undefined) ? 1 : 0;
    });
}
