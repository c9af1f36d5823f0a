/** Options plan and apply share: which syncs (--sync) and the FTP trace (-v/--verbose). */
import type { Command } from 'commander';
import { selectSyncs } from '../manifest/select.js';
import type { Manifest } from '../manifest/types.js';
import type { FtpTrace } from '../run/context.js';
import { err } from './output.js';

export interface RunOptions {
  server?: string[];
  sync?: string[];
  verbose?: boolean;
}

export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--server <name...>', 'only these servers')
    .option('--sync <name...>', 'only these syncs (repeatable; with --server, only on those servers)')
    .option('-v, --verbose', 'print every FTP command and reply to stderr, per server and session (passwords masked)');
}

/** The manifest narrowed by --sync, and the --server list still to apply (none once --sync narrowed it). */
export function selection(manifest: Manifest, opts: RunOptions): { manifest: Manifest; servers?: string[] } {
  if (opts.sync) return { manifest: selectSyncs(manifest, opts.sync, opts.server) };
  return { manifest, ...(opts.server ? { servers: opts.server } : {}) };
}

/** -v: "production#2 > STOR index.html" on stderr; err() also redacts every loaded secret. */
export function ftpTrace(opts: RunOptions): { trace?: FtpTrace } {
  return opts.verbose ? { trace: (server, session, line) => err(`${server}#${session} ${line}`) } : {};
}
