import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { FtpsyncError } from '../../errors.js';
import { DEFAULT_MANIFEST } from '../manifest.js';
import { out } from '../output.js';
import { packageName } from '../../paths.js';

// Paths inside the installed package: the npm name (package.json) differs from the command.
const starterManifest = (pkg: string): string => `# yaml-language-server: $schema=./node_modules/${pkg}/schemas/ftpsync.schema.json
# ftpsync manifest. Reference: ./node_modules/${pkg}/README.md, section "Manifest reference".
version: 1

servers:
  production:
    host: ftp.example.com
    user: deploy
    # Never write a password here: it comes from the environment (or use passwordFile).
    password: \${FTP_PASSWORD}
    tls: explicit            # none | explicit | implicit; certificates are verified
    mode: passive            # passive | active
    firewall:
      # What your host's firewall tolerates per client IP (CSF CT_LIMIT). Ask your host;
      # 100 is a safe guess for shared hosting. TIME_WAIT sockets count too.
      maxConnections: 100
      # How long a closed connection keeps counting: Linux 60s, Windows up to 240s.
      timeWait: 240s
      headroom: 0.8          # use at most 80 % of maxConnections
      parallel: auto         # sessions: 2 on a LAN, more across the internet (up to maxSessions)
      maxSessions: 4         # the FTP server's own per-IP session cap

syncs:
  - name: site
    server: production
    direction: upload        # upload | download
    local: ./public
    remote: /public_html
    delete: false            # true: remove remote files that are gone locally
    # protect: ["wp-content/uploads/**"]   # remote files never deleted or overwritten
    # maxDelete: 200         # refuse more deletions than this (default: over half of the site, over 10 files)
    exclude: ["**/.git/**", "**/.DS_Store"]
    # auto: uploads by content (a fresh CI checkout re-uploads nothing), downloads by size-mtime
    compare: auto            # auto | checksum | size-mtime | size
    last: ["index.html"]     # uploaded after everything else
`;

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Write a commented starter ftpsync.yml (never overwrites an existing file).')
    .option('-c, --config <file>', 'file to create', DEFAULT_MANIFEST)
    .action((opts: { config: string }) => {
      if (existsSync(opts.config)) {
        throw new FtpsyncError(
          'E_EXISTS',
          `${opts.config} already exists; not overwriting it`,
          'Edit it, or pass -c OTHER.yml to write the starter elsewhere.',
        );
      }
      writeFileSync(opts.config, starterManifest(packageName()), { flag: 'wx' });
      out(`wrote ${opts.config}: edit the server and sync, set FTP_PASSWORD, then run \`ftpsync validate\` and \`ftpsync plan\``);
    });
}
