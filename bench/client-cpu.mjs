// Preloaded into the ftpsync processes the bench runs (NODE_OPTIONS=--import): on exit, writes the
// process's own CPU time (user + system, every thread: process.cpuUsage) to the file named by
// FTPSYNC_BENCH_CPU_FILE, so a row can say what the client itself spent beside the machine's total.
import { writeFileSync } from 'node:fs';

const file = process.env.FTPSYNC_BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    const u = process.cpuUsage();
    writeFileSync(file, JSON.stringify({ cpuMs: Math.round((u.user + u.system) / 1000) }));
  });
}
