#!/usr/bin/env node
// @ts-check
// `npm run demo`: start the project's own FTP server on 127.0.0.1:2121 (no root, no install),
// then `ftpsync plan` and `ftpsync apply` the top-level ftpsync.yml through its small budget,
// then print what a CSF-like firewall counted. Cleans up its temp dirs and processes on exit
// and on Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist/cli/main.js');
const serverMain = path.join(repo, 'dist/demo/main.js');
const manifest = path.join(repo, 'ftpsync.yml');
const LOG_FILES = Number(process.env.FTPSYNC_DEMO_LOG_FILES ?? 40);
const LIMIT = Number(process.env.FTPSYNC_DEMO_LIMIT ?? 40);
const PORT = process.env.FTPSYNC_DEMO_PORT ?? '2121';

/** @param {string} msg */
const say = (msg) => process.stdout.write(`\n== ${msg}\n`);

if (!existsSync(cli) || !existsSync(serverMain)) {
  say('building (npm run build)');
  const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repo, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

// Everything this run creates, removed on every way out.
const serverRoot = mkdtempSync(path.join(tmpdir(), 'ftpsync-demo-'));
const localState = [path.join(repo, '.demo'), path.join(repo, '.ftpsync')].filter((p) => !existsSync(p));
/** @type {import('node:child_process').ChildProcess | null} */
let server = null;
/** @type {import('node:child_process').ChildProcess | null} */
let child = null;
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (child && child.exitCode === null) child.kill('SIGTERM');
  if (server && server.exitCode === null) server.kill('SIGTERM');
  rmSync(serverRoot, { recursive: true, force: true });
  for (const p of localState) rmSync(p, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    process.stdout.write(`\n${sig}: stopping the demo and cleaning up\n`);
    cleanup();
    process.exit(130);
  });
}

// The server's side: an empty /www to deploy to, and /logs for the download sync to mirror.
mkdirSync(path.join(serverRoot, 'www'));
mkdirSync(path.join(serverRoot, 'logs'));
for (let i = 0; i < LOG_FILES; i++) {
  const day = String(i).padStart(3, '0');
  writeFileSync(path.join(serverRoot, 'logs', `access-${day}.log`), `127.0.0.1 - - "GET /page-${day}.html" 200 ${1000 + i}\n`.repeat(20));
}

// Sockets a previous run left in TIME_WAIT on the demo's ports still count against the firewall
// limit for up to 60 s, and this run's ftpsync cannot know about them: let them drain first.
const { parseProcNetTcp, countByRemoteIp } = await import(path.join(repo, 'dist/firewall/proc-net-tcp.js'));
const pasv = (process.env.FTPSYNC_DEMO_PASV ?? '2122-2171').split('-').map(Number);
function leftoverSockets() {
  const tables = ['/proc/net/tcp', '/proc/net/tcp6'].map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : ''));
  const counts = countByRemoteIp(
    tables.flatMap((t) => parseProcNetTcp(t)),
    [Number(PORT), [pasv[0], pasv[1]]],
  );
  return [...counts.values()].reduce((n, c) => n + c.total, 0);
}
for (let waited = 0, left = leftoverSockets(); left > 0 && waited < 65; waited++, left = leftoverSockets()) {
  if (waited === 0) say(`${left} socket(s) from an earlier run still count on the demo ports (TIME_WAIT lasts 60 s); waiting for them to clear`);
  process.stdout.write(`\r  ${left} still counted, ${waited}s waited `);
  await new Promise((r) => setTimeout(r, 1000));
}

const password = randomBytes(18).toString('base64url');
const env = { ...process.env, FTPSYNC_DEMO_PASSWORD: password };

say(`starting the demo FTP server on 127.0.0.1:${PORT} (firewall stand-in: CT_LIMIT ${LIMIT}, TIME_WAIT counted)`);
server = spawn(process.execPath, [serverMain], {
  env: { ...env, FTPSYNC_DEMO_ROOT: serverRoot, FTPSYNC_DEMO_PORT: PORT, FTPSYNC_DEMO_LIMIT: String(LIMIT) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
/** @type {Array<Record<string, unknown>>} */
const events = [];
const ready = new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the demo server did not start within 10 s')), 10_000);
  server.once('exit', (code) => reject(new Error(`the demo server exited (${code}) — is port ${PORT} in use?`)));
  createInterface({ input: /** @type {import('node:stream').Readable} */ (server.stdout) }).on('line', (line) => {
    let ev;
    try {
      ev = JSON.parse(line);
    } catch {
      return;
    }
    events.push(ev);
    if (ev.event === 'listening') {
      clearTimeout(timer);
      resolve(ev);
    }
    if (ev.event === 'blocked')
      process.stdout.write(`\n!! firewall: ${ev.ip} blocked at ${ev.count} connections (limit ${ev.limit}): ${JSON.stringify(ev.byState)}\n`);
  });
});

/**
 * @param {string[]} args
 * @returns {Promise<number>}
 */
function run(args) {
  return new Promise((resolve) => {
    process.stdout.write(`\n$ ftpsync ${args.join(' ')}\n`);
    child = spawn(process.execPath, [cli, ...args], { cwd: repo, env, stdio: 'inherit' });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function serverReport() {
  const srv = /** @type {import('node:child_process').ChildProcess} */ (server);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 3000);
    srv.once('exit', () => {
      clearTimeout(timer);
      resolve(events.find((e) => e.event === 'firewall') ?? null);
    });
    srv.kill('SIGTERM');
  });
}

let exitCode = 0;
try {
  await ready;
  const planCode = await run(['plan', '-c', manifest]);
  if (planCode !== 0) throw new Error(`ftpsync plan exited ${planCode}`);
  const applyCode = await run(['apply', '-c', manifest]);
  if (applyCode !== 0) {
    exitCode = applyCode;
    process.stdout.write(`\nftpsync apply exited ${applyCode}\n`);
  }
  // A second plan shows there is nothing left to do.
  if (applyCode === 0) await run(['plan', '-c', manifest]);
} catch (err) {
  process.stderr.write(`\ndemo: ${/** @type {Error} */ (err).message}\n`);
  exitCode = 1;
}

const fw = server && server.exitCode === null ? await serverReport() : null;
if (fw) {
  const peak = fw.peaks[0];
  say('what the firewall saw');
  if (!peak) process.stdout.write('no connections counted\n');
  else
    process.stdout.write(
      `peak ${peak.peak} sockets from ${peak.ip} (${JSON.stringify(peak.byStateAtPeak)}) against a limit of ${fw.limit}: ` +
        (fw.blocked.length ? 'BLOCKED\n' : 'never blocked\n'),
    );
  if (fw.blocked.length) exitCode ||= 1;
}
cleanup();
process.exit(exitCode);
