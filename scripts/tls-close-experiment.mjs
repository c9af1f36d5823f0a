#!/usr/bin/env node
// @ts-check
// The TLS close experiment (lab/tls-close-experiment.ts): takes the lab's lock, builds, brings the
// lab up, runs the experiment in the client namespace, prints its table, takes the lab down.
//   node scripts/tls-close-experiment.mjs [files per row, default 100] [--active]
import { runLabExperiment } from './lab-experiment.mjs';

await runLabExperiment('tls-close-experiment.ts', process.argv.slice(2));
