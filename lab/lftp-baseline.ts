/**
 * The lab reproduces the problem: `lftp mirror` (Debian's lftp, its defaults) through the
 * firewall simulator. One scenario = one server × direction × mode; it records whether lftp got
 * blocked, after how many files, and the peak server-side count with its TIME_WAIT share.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Kill lftp this long after the simulator blocked it (the outcome is known; spare the retries). */
  stopAfterBlockMs?: number;
  /** Extra lftp mirror options, e.g. '--parallel=1'. */
  mirrorOptions?: string;
  /**
   * The workaround people use today (downloads only): `mirror --script` lists the tree, then the
   * script's gets run with a `sleep` after every `every` files, so each batch's TIME_WAITs expire
   * before the next batch. The first batch is smaller by the listing's own connections.
   */
  paced?: { every: number; sleepS: number };
  /** Seed and size of small files (default 600 / 512 bytes). */
  seed?: number;
  maxSmall?: number;
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
  await lab.clearTimeWait();
  await lab.waitQuiet();
  await lab.resetRoot(sc.server);
  const local = join(workDir, `${sc.server}-${sc.direction}-${sc.mode}`);
  rmSync(local, { recursive: true, force: true });
  mkdirSync(local, { recursive: true });
  if (sc.direction === 'download') {
    generateTree(s.root, { seed: sc.seed ?? 600, files: sc.files, dirs: sc.dirs, depth: 2, maxSmall: sc.maxSmall ?? 512 });
    await lab.chownRoot(sc.server);
  } else {
    generateTree(local, { seed: sc.seed ?? 600, files: sc.files, dirs: sc.dirs, depth: 2, maxSmall: sc.maxSmall ?? 512 });
  }
  const watched = sc.direction === 'download' ? local : s.root;
  // Reset only now: the peak must not include what the previous scenario left behind.
  await lab.firewall.reset();
  await lab.firewall.configure({ limit: sc.limit, blockMs: 20_000, intervalMs: 200 });

  const settings = [
    'set ftp:ssl-allow false',
    `set ftp:passive-mode ${sc.mode === 'passive' ? 'true' : 'false'}`,
    'set net:max-retries 3',
    'set net:timeout 4',
    'set net:reconnect-interval-base 1',
    'set net:reconnect-interval-max 2',
  ];
  const lftpArgs = ['--env-password', '-u', s.user, '-p', String(s.port)];
  const lftpEnv = { ...process.env, LFTP_PASSWORD: s.password };
  const started = Date.now();
  let commands: string;
  if (sc.paced && sc.direction === 'download') {
    // Step 1 (counted in the wall time): let mirror list the tree and write its commands.
    const scriptFile = join(workDir, `${sc.server}-mirror-script.lftp`);
    await new Promise<void>((res) =>
      spawn('lftp', [...lftpArgs, '-e', [...settings, `mirror --script=${scriptFile} / ${local}`, 'bye'].join('; '), s.host], {
        env: lftpEnv,
        stdio: 'ignore',
      }).on('exit', () => res()),
    );
    // A multi-line program goes in a file (-e would append the host to its last line).
    commands = join(workDir, `${sc.server}-paced.lftp`);
    writeFileSync(
      commands,
      [
        ...settings,
        `open --env-password -u ${s.user} -p ${s.port} ${s.host}`,
        ...pacedCommands(readFileSync(scriptFile, 'utf8'), sc.paced, sc.dirs + 1),
        'bye',
        '',
      ].join('\n'),
    );
  } else {
    const mirror = sc.direction === 'download' ? `mirror ${sc.mirrorOptions ?? ''} / ${local}` : `mirror -R ${sc.mirrorOptions ?? ''} ${local} /`;
    commands = [...settings, mirror, 'bye'].join('; ');
  }
  let filesAtBlock: number | null = null;
  let blockSeenAt = 0;
  let killedByTimeout = false;
  const child =
    sc.paced && sc.direction === 'download'
      ? spawn('lftp', ['-f', commands], { env: lftpEnv, stdio: 'ignore' })
      : spawn('lftp', [...lftpArgs, '-e', commands, s.host], { env: lftpEnv, stdio: 'ignore' });
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
      if (st.blocked) {
        filesAtBlock = countFiles(watched);
        blockSeenAt = Date.now();
      }
    } else if (sc.stopAfterBlockMs !== undefined && Date.now() - blockSeenAt > sc.stopAfterBlockMs) {
      child.kill('SIGKILL');
      break;
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

/**
 * lftp's `mirror --script` output made runnable in the same session, with a sleep after every
 * `every` gets (the first batch smaller by the `listed` connections the listing already used).
 */
export function pacedCommands(script: string, paced: { every: number; sleepS: number }, listed: number): string[] {
  const out: string[] = [];
  let inBatch = listed;
  for (const raw of script.split('\n')) {
    if (!raw.trim()) continue;
    // "get -O file:/x ftp://user@host:port/a/b" -> "get -O /x /a/b"; "mkdir file:/x" -> local mkdir.
    const line = raw.replace(/file:(?=\/)/g, '').replace(/ftp:\/\/[^/\s]+(?=\/)/g, '');
    if (/^mkdir /.test(line)) {
      out.push(`!mkdir -p ${line.slice(6).replace(/^-p /, '')}`);
      continue;
    }
    if (/^get /.test(line)) {
      if (inBatch >= paced.every) {
        out.push(`!sleep ${paced.sleepS}`);
        inBatch = 0;
      }
      inBatch++;
    }
    out.push(line);
  }
  return out;
}

export function baselineTable(results: LftpResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.server} | ${r.direction} | ${r.mode} | ${r.files} | ${r.limit} | ${r.blocked ? 'yes' : 'no'} | ${r.filesAtBlock ?? '—'} | ${r.filesDone} | ${r.peak} | ${r.peakTimeWait} | ${(r.wallMs / 1000).toFixed(1)} s${r.killedByTimeout ? ' (killed)' : ''} |`,
  );
  return [
    '| server | direction | mode | files | limit | blocked | files at block | files done | peak counted | TIME_WAIT at peak | wall |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
