/**
 * The lab reproduces the problem: `lftp mirror` (Debian's lftp, its defaults) through the
 * firewall simulator. One scenario = one server × direction × mode; it records whether lftp got
 * blocked, after how many files, and the peak server-side count with its TIME_WAIT share.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateTree } from './fixtures.js';
import type { Lab, LabServerName } from './lab-client.js';

export interface LftpScenario {
  server: LabServerName;
  direction: 'download' | 'upload';
  mode: 'passive' | 'active';
  files: number;
  dirs: number;
  limit: number;
  /** lftp is killed after this long (a blocked lftp retries for minutes). */
  timeoutMs: number;
  /** Extra lftp mirror options, e.g. '--parallel=1'. */
  mirrorOptions?: string;
}

export interface LftpResult extends LftpScenario {
  blocked: boolean;
  /** Files transferred when the simulator blocked the IP (null when not blocked). */
  filesAtBlock: number | null;
  filesDone: number;
  peak: number;
  peakTimeWait: number;
  wallMs: number;
  lftpExit: number | null;
  killedByTimeout: boolean;
}

function countFiles(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.isFile()) n++;
    }
  };
  walk(dir);
  return n;
}

export async function runLftpScenario(lab: Lab, sc: LftpScenario, workDir: string): Promise<LftpResult> {
  const s = lab.servers[sc.server];
  await lab.firewall.configure({ limit: null, intervalMs: 200 });
  await lab.dropClientSockets();
  await lab.waitQuiet();
  await lab.resetRoot(sc.server);
  const local = join(workDir, `${sc.server}-${sc.direction}-${sc.mode}`);
  rmSync(local, { recursive: true, force: true });
  mkdirSync(local, { recursive: true });
  if (sc.direction === 'download') {
    generateTree(s.root, { seed: 600, files: sc.files, dirs: sc.dirs, depth: 2, maxSmall: 512 });
    await lab.chownRoot(sc.server);
  } else {
    generateTree(local, { seed: 600, files: sc.files, dirs: sc.dirs, depth: 2, maxSmall: 512 });
  }
  const watched = sc.direction === 'download' ? local : s.root;
  // Reset only now: the peak must not include what the previous scenario left behind.
  await lab.firewall.reset();
  await lab.firewall.configure({ limit: sc.limit, blockMs: 20_000, intervalMs: 200 });

  const mirror = sc.direction === 'download' ? `mirror ${sc.mirrorOptions ?? ''} / ${local}` : `mirror -R ${sc.mirrorOptions ?? ''} ${local} /`;
  const script = [
    'set ftp:ssl-allow false',
    `set ftp:passive-mode ${sc.mode === 'passive' ? 'true' : 'false'}`,
    'set net:max-retries 3',
    'set net:timeout 4',
    'set net:reconnect-interval-base 1',
    'set net:reconnect-interval-max 2',
    mirror,
    'bye',
  ].join('; ');
  const started = Date.now();
  let filesAtBlock: number | null = null;
  let killedByTimeout = false;
  const child = spawn('lftp', ['--env-password', '-u', s.user, '-p', String(s.port), '-e', script, s.host], {
    env: { ...process.env, LFTP_PASSWORD: s.password },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  // Poll: files done and whether the simulator has blocked us (bounded by timeoutMs).
  while (!done) {
    if (Date.now() - started > sc.timeoutMs) {
      killedByTimeout = true;
      child.kill('SIGKILL');
      break;
    }
    if (filesAtBlock === null) {
      const st = await lab.firewall.stats();
      if (st.blocked) filesAtBlock = countFiles(watched);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const lftpExit = await exited;
  const wallMs = Date.now() - started;
  const stats = await lab.firewall.stats();
  if (filesAtBlock === null && stats.blocked) filesAtBlock = countFiles(watched);
  const result: LftpResult = {
    ...sc,
    blocked: stats.blocks.length > 0,
    filesAtBlock,
    filesDone: countFiles(watched),
    peak: stats.peak,
    peakTimeWait: stats.peakTimeWait,
    wallMs,
    lftpExit,
    killedByTimeout,
  };
  // Leave the lab clean for the next scenario: unblock and reset what the block left hanging.
  await lab.firewall.configure({ limit: null, intervalMs: 1000 });
  await lab.firewall.reset();
  await lab.dropClientSockets();
  return result;
}

export function baselineTable(results: LftpResult[]): string {
  const rows = results.map((r) =>
    `| ${r.server} | ${r.direction} | ${r.mode} | ${r.files} | ${r.limit} | ${r.blocked ? 'yes' : 'no'} | ${r.filesAtBlock ?? '—'} | ${r.filesDone} | ${r.peak} | ${r.peakTimeWait} | ${(r.wallMs / 1000).toFixed(1)} s${r.killedByTimeout ? ' (killed)' : ''} |`,
  );
  return [
    '| server | direction | mode | files | limit | blocked | files at block | files done | peak counted | TIME_WAIT at peak | wall |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
