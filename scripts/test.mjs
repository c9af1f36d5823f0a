#!/usr/bin/env node
// @ts-check
// `npm test`: build, bring the lab up (as root on Linux), run the whole vitest suite inside the
// lab's client network namespace so in-process tests reach the servers directly, and always tear
// the lab down. Without root the suite runs as is and lab tests are skipped with the reason;
// with CI=true a lab that cannot start is a failure. vitest's own summary is the last output.
// The whole suite (no vitest args, as CI runs it) first runs `npm run typecheck` and `npm run lint`
// (eslint, the import rules, prettier --check); FTPSYNC_SKIP_LINT=1 skips lint locally, never in CI.
//   node scripts/test.mjs [vitest args...]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NS_CLI, labDown, labUp } from './lab.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ci = process.env.CI === 'true';
const vitestArgs = process.argv.slice(2);

/** @param {string} msg */
function say(msg) {
  process.stderr.write(`test: ${msg}\n`);
}

// One lab per machine: runs started while another holds it wait their turn (flock), so a second
// `npm test` never tears down the lab under the first one.
const LOCK = '/run/lock/ftpsync-lab.lock';
if (process.platform === 'linux' && process.getuid?.() === 0 && !process.env.FTPSYNC_LAB_LOCK_HELD) {
  mkdirSync(dirname(LOCK), { recursive: true });
  const r = spawnSync('flock', [LOCK, process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, FTPSYNC_LAB_LOCK_HELD: '1' } });
  if (/** @type {NodeJS.ErrnoException | undefined} */ (r.error)?.code !== 'ENOENT') process.exit(r.status ?? 1);
}

const skipLint = process.env.FTPSYNC_SKIP_LINT === '1';
if (skipLint && ci) say('FTPSYNC_SKIP_LINT is ignored with CI=true: lint runs');
const checks = vitestArgs.length > 0 ? [] : skipLint && !ci ? ['typecheck'] : ['typecheck', 'lint'];
for (const script of checks) {
  if (spawnSync('npm', ['run', '--silent', script], { cwd: REPO, stdio: 'inherit' }).status !== 0) {
    say(`npm run ${script} failed`);
    process.exit(1);
  }
}

const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'inherit' });
if (build.status !== 0) {
  say('build failed');
  process.exit(1);
}

let labIsUp = false;
const env = { ...process.env };
if (process.platform !== 'linux' || process.getuid?.() !== 0) {
  env.FTPSYNC_LAB_SKIP_REASON = 'the lab needs root on Linux (network namespaces, nftables)';
} else {
  try {
    await labUp();
    labIsUp = true;
  } catch (e) {
    const reason = `the lab did not start: ${e instanceof Error ? e.message : String(e)}`;
    if (ci) {
      say(reason);
      labDown({ quiet: true });
      process.exit(1);
    }
    env.FTPSYNC_LAB_SKIP_REASON = reason;
  }
}

/** @type {import('node:child_process').ChildProcess | null} */
let child = null;
const teardown = () => {
  if (labIsUp) {
    labIsUp = false;
    labDown({ quiet: true });
  }
};
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(sig, () => {
    child?.kill(sig);
    teardown();
    process.exit(130);
  });
}

const vitest = join(REPO, 'node_modules', 'vitest', 'vitest.mjs');
const cmd = labIsUp ? 'ip' : process.execPath;
const args = labIsUp ? ['netns', 'exec', NS_CLI, process.execPath, vitest, 'run', ...vitestArgs] : [vitest, 'run', ...vitestArgs];
child = spawn(cmd, args, { cwd: REPO, env, stdio: 'inherit' });
const code = await new Promise((r) => child.on('exit', (c, sig) => r(c ?? (sig ? 1 : 0))));
teardown();
process.exit(code);
