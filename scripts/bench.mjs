#!/usr/bin/env node
// @ts-check
// `npm run bench [-- --quick | --plan-only]`: build, take the machine-wide lab lock (as npm test
// does), bring the lab up unless it is, run bench/run.ts inside the client namespace, and take
// the lab down again if this script brought it up. --plan-only needs neither root nor the lab.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NS_CLI, labDown, labUp, readState } from './lab.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const planOnly = args.includes('--plan-only');
const LOCK = '/run/lock/ftpsync-lab.lock';
if (!planOnly && !process.env.FTPSYNC_LAB_LOCK_HELD) {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: the lab needs root (network namespaces, nftables); run as root, or use --plan-only\n');
    process.exit(1);
  }
  mkdirSync(dirname(LOCK), { recursive: true });
  const r = spawnSync('flock', [LOCK, process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, FTPSYNC_LAB_LOCK_HELD: '1' } });
  process.exit(r.status ?? 1);
}
if (spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'inherit' }).status !== 0) process.exit(1);
const viteNode = [process.execPath, join(REPO, 'node_modules', 'vite-node', 'vite-node.mjs'), join(REPO, 'bench', 'run.ts'), ...args];
if (planOnly) process.exit(spawnSync(viteNode[0], viteNode.slice(1), { cwd: REPO, stdio: 'inherit' }).status ?? 1);
const ours = !readState();
if (ours) await labUp();
let status = 1;
try {
  status = spawnSync('ip', ['netns', 'exec', NS_CLI, ...viteNode], { cwd: REPO, stdio: 'inherit' }).status ?? 1;
} finally {
  if (ours) labDown();
}
process.exit(status);
