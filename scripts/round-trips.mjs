#!/usr/bin/env node
// @ts-check
// Round trips per file on each lab server (lab/round-trips.ts): takes the lab's lock, builds,
// brings the lab up with the link at the given RTT, prints the table, takes the lab down.
//   node scripts/round-trips.mjs [--rtt MS, default 20] [files, default 50]
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
const args = process.argv.slice(2);
const at = args.indexOf('--rtt');
const rttMs = at >= 0 ? Number(args.splice(at, 2)[1]) : 20;
if (spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'inherit' }).status !== 0) process.exit(1);
await labUp({ rttMs });
let status = 1;
try {
  const viteNode = [join(REPO, 'node_modules', 'vite-node', 'vite-node.mjs'), join(REPO, 'lab', 'round-trips.ts'), ...args];
  status = spawnSync('ip', ['netns', 'exec', NS_CLI, process.execPath, ...viteNode], { cwd: REPO, stdio: 'inherit' }).status ?? 1;
} finally {
  labDown();
}
process.exit(status);
