#!/usr/bin/env node
// @ts-check
// Round trips per file on each lab server (lab/round-trips.ts), the lab's link at the given RTT.
//   node scripts/round-trips.mjs [--rtt MS, default 20] [--tls: explicit FTPS] [files, default 50]
import { runLabExperiment } from './lab-experiment.mjs';

const args = process.argv.slice(2);
const at = args.indexOf('--rtt');
const rttMs = at >= 0 ? Number(args.splice(at, 2)[1]) : 20;
await runLabExperiment('round-trips.ts', args, { rttMs });
