// @ts-check
// A lab experiment run by hand (a lab/*.ts script): takes the lab's lock, builds, brings the lab
// up (the link at rttMs), runs the script in the client namespace under vite-node, takes the lab
// down, exits with the script's status.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NS_CLI, labDown, labUp } from './lab.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LOCK = '/run/lock/ftpsync-lab.lock';

/** @param {string} script a file in lab/ @param {string[]} args @param {{ rttMs?: number }} [o] */
export async function runLabExperiment(script, args, { rttMs = 0 } = {}) {
  if (!process.env.FTPSYNC_LAB_LOCK_HELD) {
    mkdirSync(dirname(LOCK), { recursive: true });
    const r = spawnSync('flock', [LOCK, process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, FTPSYNC_LAB_LOCK_HELD: '1' } });
    process.exit(r.status ?? 1);
  }
  if (spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'inherit' }).status !== 0) process.exit(1);
  await labUp({ rttMs });
  let status = 1;
  try {
    const viteNode = [join(REPO, 'node_modules', 'vite-node', 'vite-node.mjs'), join(REPO, 'lab', script), ...args];
    status = spawnSync('ip', ['netns', 'exec', NS_CLI, process.execPath, ...viteNode], { cwd: REPO, stdio: 'inherit' }).status ?? 1;
  } finally {
    labDown();
  }
  process.exit(status);
}
