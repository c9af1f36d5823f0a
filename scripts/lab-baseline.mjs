#!/usr/bin/env node
// @ts-check
// `npm run lab:baseline`: bring the lab up (unless it is), run lftp's baseline inside the client
// namespace, print the table, and take the lab down again if this script brought it up.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NS_CLI, labDown, labUp, readState } from './lab.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
if (spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'inherit' }).status !== 0) process.exit(1);
const ours = !readState();
if (ours) await labUp();
const r = spawnSync(
  'ip',
  ['netns', 'exec', NS_CLI, process.execPath, join(REPO, 'node_modules', 'vite-node', 'vite-node.mjs'), join(REPO, 'lab', 'baseline-report.ts')],
  { cwd: REPO, stdio: 'inherit' },
);
if (ours) labDown();
process.exit(r.status ?? 1);
