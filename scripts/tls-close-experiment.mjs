#!/usr/bin/env node
// @ts-check
// The TLS close experiment (lab/tls-close-experiment.ts): takes the lab's lock, builds, brings the
// lab up, runs the experiment in the client namespace, prints its table, takes the lab down.
//   node scripts/tls-close-experiment.mjs [files per row, default 100] [--active]
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NS_CLI, labDown, labUp } from './lab.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LOCK = '/run/lock/ftpsync-lab.lock';
if (!process.env.FTPSYNC_LAB_LOCK_HELD) {
  mkdirSync(dirname(LOCK), { recursive: true });
  const r = spawnSync('flock', [LOCK, process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, FTPSYNC_LAB_LOCK_HELD: '1' } });
  process.exit(r.status ?? 1);
}
if (spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'inherit' }).status !== 0) process.exit(1);
await labUp();
let status = 1;
try {
  const viteNode = [join(REPO, 'node_modules', 'vite-node', 'vite-node.mjs'), join(REPO, 'lab', 'tls-close-experiment.ts'), ...process.argv.slice(2)];
  status = spawnSync('ip', ['netns', 'exec', NS_CLI, process.execPath, ...viteNode], { cwd: REPO, stdio: 'inherit' }).status ?? 1;
} finally {
  labDown();
}
process.exit(status);
