/**
 * `node dist/demo/main.js`: run the demo FTP server with its firewall counter in the foreground.
 * Configured from the environment (the password never on the command line):
 *   FTPSYNC_DEMO_ROOT (required), FTPSYNC_DEMO_PASSWORD (required), FTPSYNC_DEMO_USER (demo),
 *   FTPSYNC_DEMO_PORT (2121), FTPSYNC_DEMO_PASV (2122-2171), FTPSYNC_DEMO_LIMIT (40, CSF's CT_LIMIT),
 *   FTPSYNC_DEMO_LOG=1 to print every command, FTPSYNC_DEMO_PROFILE=iis|filezilla|no-mfmt|stat-broken
 *   to behave like another server (quirks.ts).
 * Prints one JSON line {"event":"listening",...} when ready and {"event":"firewall",...} at exit
 * (SIGTERM/SIGINT), so a parent process can read the peak.
 */
import { FirewallCounter } from './firewall-counter.js';
import { DemoFtpServer } from './ftp-server.js';
import { QUIRK_PROFILES, type QuirkProfile } from './quirks.js';

function env(name: string, fallback?: string): string {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') {
    process.stderr.write(`ftpsync demo server: set ${name}\n`);
    process.exit(1);
  }
  return v;
}

function parseRange(s: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(s);
  if (!m) throw new Error(`FTPSYNC_DEMO_PASV must look like 2122-2171, got ${s}`);
  return [Number(m[1]), Number(m[2])];
}

const port = Number(env('FTPSYNC_DEMO_PORT', '2121'));
const passivePorts = parseRange(env('FTPSYNC_DEMO_PASV', '2122-2171'));
const limit = Number(env('FTPSYNC_DEMO_LIMIT', '40'));
const logCommands = process.env.FTPSYNC_DEMO_LOG === '1';
const profile = process.env.FTPSYNC_DEMO_PROFILE;
if (profile && !QUIRK_PROFILES.includes(profile as QuirkProfile)) {
  process.stderr.write(`ftpsync demo server: FTPSYNC_DEMO_PROFILE must be one of ${QUIRK_PROFILES.join(', ')}\n`);
  process.exit(1);
}

let server: DemoFtpServer | null = null;
const counter = new FirewallCounter({
  limit,
  ports: [port, passivePorts],
  onBlock: (ip, count, byState) => {
    process.stdout.write(`${JSON.stringify({ event: 'blocked', ip, count, limit, byState })}\n`);
    server?.dropClient(ip);
  },
});
server = new DemoFtpServer({
  port,
  passivePorts,
  user: env('FTPSYNC_DEMO_USER', 'demo'),
  password: env('FTPSYNC_DEMO_PASSWORD'),
  root: env('FTPSYNC_DEMO_ROOT'),
  isBlocked: (ip) => counter.isBlocked(ip),
  ...(profile ? { quirks: { profile: profile as QuirkProfile } } : {}),
  ...(logCommands ? { log: (l: string) => process.stderr.write(`ftp: ${l}\n`) } : {}),
});

const bound = await server.listen();
counter.start();
process.stdout.write(`${JSON.stringify({ event: 'listening', port: bound, passivePorts, limit })}\n`);

const shutdown = () => {
  counter.sample();
  counter.stop();
  process.stdout.write(`${JSON.stringify({ event: 'firewall', limit, peaks: counter.report(), blocked: counter.blocked })}\n`);
  void server.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
