/**
 * `npm run lab:baseline`: lftp mirror against every lab server, download and upload, passive
 * and active, through the firewall simulator at a limit of 100 with 600 small files. Prints the
 * table and writes it to bench/results/lftp-baseline.json. Run inside the client namespace
 * (scripts/lab-baseline.mjs does that).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLab, LAB_SERVERS, REPO } from './lab-client.js';
import { baselineTable, runLftpScenario, type LftpResult } from './lftp-baseline.js';

const lab = getLab();
const work = mkdtempSync(join(tmpdir(), 'ftpsync-baseline-'));
const results: LftpResult[] = [];
try {
  for (const server of LAB_SERVERS) {
    for (const direction of ['download', 'upload'] as const) {
      for (const mode of ['passive', 'active'] as const) {
        const r = await runLftpScenario(lab, { server, direction, mode, files: 600, dirs: 12, limit: 100, timeoutMs: 30_000 }, work);
        results.push(r);
        process.stderr.write(
          `${server} ${direction} ${mode}: blocked=${r.blocked} atBlock=${r.filesAtBlock} done=${r.filesDone} peak=${r.peak} tw=${r.peakTimeWait}\n`,
        );
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
writeFileSync(join(REPO, 'bench', 'results', 'lftp-baseline.json'), JSON.stringify({ measuredAt: new Date().toISOString(), results }, null, 2));
process.stdout.write(baselineTable(results) + '\n');
