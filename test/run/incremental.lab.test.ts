/**
 * Incremental deploys from a fresh checkout (issue 25), with the built CLI and the default
 * compare (auto) against the three lab servers: touch every file (what a checkout does) and
 * nothing is planned; same-size edits are found; a deleted or corrupt state is a warning and a
 * full compare (the server's hash where it has one, proftpd with mod_digest; else one announced
 * re-upload); a kill -9 mid-apply loses at most one checkpoint of the state.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { STATE_FILE } from '../../src/plan/state.js';
import { TEMP_PREFIX } from '../../src/core/names.js';
import { CHECKPOINT_EVERY } from '../../src/run/state-checkpoints.js';
import { CLI, ensureBuilt, REPO, runCli, runCliAsync } from '../cli/helpers.js';
import { compareTrees, generateTree } from '../../lab/fixtures.js';
import { describeLab, type LabServerName } from '../lab/harness.js';
import { ours, serverYaml } from './lab-manifest.js';

interface PlanJson {
  servers: Array<{
    actions: Array<{ kind: string; path: string }>;
    warnings: string[];
    syncs: Array<{ compareUsed: string; content?: { state: string; serverHash?: string | null } }>;
  }>;
}

const TWO_DAYS_AGO = (Date.now() - 2 * 86_400_000) / 1000;

function localFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** Set every file's mtime: to the past (a deploy made earlier), or now (a fresh checkout). */
function setTimes(dir: string, seconds: number): void {
  for (const f of localFiles(dir)) utimesSync(join(dir, f), seconds, seconds);
}

/** Change a file's content, same size. */
function flip(path: string): void {
  const b = readFileSync(path);
  b[0] = b[0] === 0x41 ? 0x42 : 0x41;
  writeFileSync(path, b);
}

describeLab('incremental deploys with compare: auto (the default)', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-incr-'));
  const env = { LAB_PASSWORD: lab.servers.vsftpd.password, CI: 'true' };
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await lab.disarmFirewall();
  }, 60_000);

  const plan = (file: string) => {
    const r = runCli(['plan', '-c', file, '--format', 'json', '--detailed-exitcode'], { env, timeoutMs: 60_000 });
    expect(r.code === 0 || r.code === 2, r.stdout + r.stderr).toBe(true);
    const p = JSON.parse(r.stdout) as PlanJson;
    const sp = p.servers[0]!;
    return {
      code: r.code,
      uploads: sp.actions
        .filter((a) => a.kind === 'upload')
        .map((a) => a.path)
        .sort(),
      kinds: sp.actions.map((a) => a.kind),
      warnings: sp.warnings,
      sync: sp.syncs[0]!,
    };
  };
  const apply = async (file: string) => {
    const r = await runCliAsync(['apply', '-c', file], { env, timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return r.stdout;
  };

  const offersHash: Record<LabServerName, boolean> = { vsftpd: false, 'pure-ftpd': false, proftpd: true };
  for (const name of ['vsftpd', 'pure-ftpd', 'proftpd'] as const) {
    it(`${name}: touch all → no changes; 3 same-size edits → those 3; state deleted or corrupt → one warning and a full compare`, async () => {
      await lab.resetRoot(name);
      const local = join(work, `site-${name}`);
      const files = generateTree(local, { seed: 25, files: 40, dirs: 4, depth: 2, maxSmall: 400 });
      setTimes(local, TWO_DAYS_AGO);
      const file = join(work, `${name}.yml`);
      writeFileSync(
        file,
        `version: 1\nservers:\n${serverYaml(lab, name, 100)}syncs:\n  - { name: site, servers: [${name}], direction: upload, local: ${local}, remote: /www, delete: true }\n`,
      );
      const remoteState = join(lab.servers[name].root, 'www', STATE_FILE);

      // First deploy: an empty server, no state; apply writes the state.
      const first = plan(file);
      expect(first.sync.compareUsed).toBe('checksum');
      expect(first.uploads).toHaveLength(40);
      await apply(file);
      expect(existsSync(remoteState)).toBe(true);

      // A fresh checkout: every file newer (a checkout made after the deploy: a checksum upload
      // leaves the server's own time, the upload's, on each file). With the defaults: nothing to do (exit 0).
      setTimes(local, Date.now() / 1000 + 600);
      const touched = runCli(['plan', '-c', file, '--detailed-exitcode'], { env, timeoutMs: 60_000 });
      expect(touched.code, touched.stdout + touched.stderr).toBe(0);
      // The same with size-mtime wants everything again, and the plan says why.
      const mtimeFile = join(work, `${name}-mtime.yml`);
      writeFileSync(mtimeFile, readFileSync(file, 'utf8').replace('delete: true }', 'delete: true, compare: size-mtime }'));
      const byMtime = runCli(['plan', '-c', mtimeFile, '--detailed-exitcode'], { env, timeoutMs: 60_000 });
      expect(byMtime.code).toBe(2);
      expect(byMtime.stdout).toMatch(/40 of 40 upload\(s\) have the same size .* fresh checkout/);

      // Three same-size edits: exactly those three.
      const edited = [files[3]!, files[17]!, files[31]!];
      for (const f of edited) flip(join(local, f));
      const three = plan(file);
      expect(three.uploads).toEqual([...edited].sort());
      expect(three.warnings.filter((w) => /checksum|fresh checkout/.test(w))).toEqual([]);
      await apply(file);
      expect(plan(file).code).toBe(0);

      // The state deleted (and one more same-size edit not deployed): one warning, a full compare.
      rmSync(remoteState);
      flip(join(local, files[5]!));
      const lost = plan(file);
      const stateNotes = lost.warnings.filter((w) => w.includes(STATE_FILE));
      expect(stateNotes, lost.warnings.join('\n')).toHaveLength(1);
      expect(lost.sync.content?.state).toBe('missing');
      if (offersHash[name]) {
        expect(lost.sync.content?.serverHash).toBe('XSHA256');
        expect(lost.uploads).toEqual([files[5]!]);
      } else {
        expect(lost.sync.content?.serverHash).toBeNull();
        expect(lost.uploads).toHaveLength(40);
        expect(stateNotes[0]).toMatch(/40 file\(s\) of the same size .* uploaded once/);
      }
      expect(lost.kinds).toContain('write-state');
      await apply(file);
      expect(plan(file).code).toBe(0);

      // A corrupt state: a warning and a full compare, never a crash.
      writeFileSync(remoteState, '{"version":1,"files":{"a":');
      const corrupt = plan(file);
      expect(corrupt.sync.content?.state).toBe('invalid');
      expect(corrupt.warnings.filter((w) => w.includes(STATE_FILE))).toEqual([expect.stringMatching(/not usable \(not JSON/)]);
      expect(corrupt.uploads).toHaveLength(offersHash[name] ? 0 : 40);
      await apply(file);
      expect(plan(file).code).toBe(0);
      expect(compareTrees(local, join(lab.servers[name].root, 'www'), ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
    }, 180_000);
  }

  it(`vsftpd: kill -9 in the middle of a 1,000-file apply: the next plan re-uploads at most one checkpoint (${CHECKPOINT_EVERY} files)`, async () => {
    await lab.resetRoot('vsftpd');
    const local = join(work, 'kill');
    generateTree(local, { seed: 26, files: 1000, dirs: 20, depth: 3, maxSmall: 1000 });
    const file = join(work, 'kill.yml');
    writeFileSync(
      file,
      // twoPhase: false: the state's checkpoints are one-phase's (two-phase switches the state once, at the end).
      `version: 1\nservers:\n${serverYaml(lab, 'vsftpd', 1000)}syncs:\n  - { name: site, servers: [vsftpd], direction: upload, local: ${local}, remote: /www, delete: true, twoPhase: false }\n`,
    );
    const remote = join(lab.servers.vsftpd.root, 'www');
    const landed = () => {
      const out: string[] = [];
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (!e.name.startsWith(TEMP_PREFIX) && !ours(relative(remote, p))) out.push(relative(remote, p));
        }
      };
      if (existsSync(remote)) walk(remote);
      return out;
    };
    const child = spawn(process.execPath, [CLI, 'apply', '-c', file], { cwd: REPO, env: { PATH: process.env.PATH, NO_COLOR: '1', ...env }, stdio: 'ignore' });
    let exited = false;
    const exit = new Promise<void>((res) => child.on('exit', () => res(void (exited = true))));
    const deadline = Date.now() + 60_000;
    while (!exited && landed().length < 550 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exit;
    const before = landed().length;
    const state = JSON.parse(readFileSync(join(remote, STATE_FILE), 'utf8')) as { files: Record<string, unknown> };
    const next = plan(file);
    const resent = next.uploads.length - (1000 - before);
    console.log(
      `[measure] kill -9 after ${before} of 1000 files landed: the state on the server listed ${Object.keys(state.files).length}; the next plan uploads ${next.uploads.length} (${resent} of them had landed); state file ${statSync(join(remote, STATE_FILE)).size} bytes`,
    );
    expect(before).toBeGreaterThanOrEqual(550);
    expect(before).toBeLessThan(1000);
    expect(resent).toBeGreaterThanOrEqual(0);
    // Without checkpoints every landed file would be uploaded again (vsftpd cannot hash).
    expect(resent).toBeLessThanOrEqual(CHECKPOINT_EVERY);
    await apply(file);
    expect(plan(file).code).toBe(0);
    expect(compareTrees(local, remote, ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
  }, 180_000);
});
