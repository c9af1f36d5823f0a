/** The one way commands get a manifest: load, print warnings, fail with every error at once. */
import { FtpsyncError } from '../errors.js';
import { formatFinding, loadManifest, type LoadResult } from '../manifest/load.js';
import type { Manifest } from '../manifest/types.js';
import { err, registerSecret, style } from './output.js';

export const DEFAULT_MANIFEST = 'ftpsync.yml';

export function registerManifestSecrets(manifest: Manifest): void {
  for (const s of Object.values(manifest.servers)) if (s.password) registerSecret(s.password.reveal());
}

export function loadManifestForCommand(file: string, opts: { requireEnv: boolean; quietWarnings?: boolean }): { manifest: Manifest; result: LoadResult } {
  const result = loadManifest(file, { requireEnv: opts.requireEnv });
  if (result.manifest) registerManifestSecrets(result.manifest);
  const errors = result.findings.filter((f) => f.severity === 'error');
  if (!opts.quietWarnings) {
    for (const f of result.findings.filter((x) => x.severity === 'warning')) err(style('yellow', formatFinding(f), process.stderr));
  }
  if (!result.manifest || errors.length > 0) {
    throw new FtpsyncError(
      'E_MANIFEST_INVALID',
      errors.map(formatFinding).join('\n') || `${file}: invalid manifest`,
      `Run \`ftpsync validate -c ${file}\` to see every problem.`,
    );
  }
  return { manifest: result.manifest, result };
}
