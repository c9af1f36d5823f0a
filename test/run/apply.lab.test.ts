/**
 * apply with the built CLI against the real lab servers, behind the firewall simulator:
 * 1,000-file uploads at a limit of 100, kill -9 at seeded random moments then converge,
 * a per-IP session cap (421), and a two-stage rollout whose second server is down.
 * Scenarios run one after another (one client IP: the firewall's count is shared).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI, ensureBuilt, REPO, runCli, runCliAsync } from '../cli/helpers.js';
import { compareTrees, generateTree, rng } from '../../lab/fixtures.js';
import { describeLab } from '../lab/harness.js';
import { TEMP_PREFIX } from '../../src/core/names.js';
import { ours, serverYaml } from './lab-manifest.js';

function files(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), statSync(p).ctimeMs);
    }
  };
  walk(dir);
  return out;
}

describeLab('apply against the lab servers', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-apply-'));
  const env = { LAB_PASSWORD: lab.servers.vsftpd.password, CI: 'true' };
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await lab.setSessionCap('pure-ftpd', null);
    await lab.disarmFirewall();
  }, 60_000);

  for (const name of ['vsftpd', 'pure-ftpd', 'proftpd'] as const) {
    it(`${name}: uploads 1,000 files at a limit of 100: never blocked, peak <= 100, trees byte-equal, then nothing to do`, async () => {
      await lab.resetRoot(name);
      await lab.armFirewall({ limit: 100, blockMs: 30_000, intervalMs: 200 });
      const local = join(work, `up-${name}`);
      generateTree(local, { seed: 21, files: 1000, dirs: 30, depth: 3, maxSmall: 600 });
      const file = join(work, `up-${name}.yml`);
      writeFileSync(
        file,
        `version: 1\nservers:\n${serverYaml(lab, name, 100)}syncs:\n  - { name: site, servers: [${name}], direction: upload, local: ${local}, remote: /www, delete: true }\n`,
      );
      // Plan first and apply the saved plan: what apply does must be what the plan said.
      const planFile = join(work, `up-${name}.plan.json`);
      const planned = runCli(['plan', '-c', file, '--format', 'json', '--out', planFile, '--detailed-exitcode'], { env, timeoutMs: 60_000 });
      expect(planned.code, planned.stdout + planned.stderr).toBe(2);
      const plan = JSON.parse(readFileSync(planFile, 'utf8')) as {
        servers: Array<{ listing: { strategy: string; dataConnections: number }; actions: Array<{ kind: string }> }>;
      };
      const kinds = new Map<string, number>();
      for (const a of plan.servers[0]!.actions) kinds.set(a.kind, (kinds.get(a.kind) ?? 0) + 1);
      expect(plan.servers[0]!.listing.dataConnections).toBe(0);
      const r = await runCliAsync(['apply', planFile, '-c', file], { env, timeoutMs: 240_000 });
      const stats = await lab.firewall.stats();
      // Every kind the plan had, in its order (with compare: auto, the state written last).
      const done = new RegExp(`${name}: ok: ${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')};`);
      expect(r.stdout, `planned ${JSON.stringify([...kinds])}`).toMatch(done);
      console.log(
        `[measure] ${name} upload 1000 @100: code ${r.code}, firewall peak ${stats.peak} (TIME_WAIT ${stats.peakTimeWait}), blocks ${stats.blocks.length}; ${r.stdout
          .split('\n')
          .filter((l) => l.includes(`${name}:`))
          .at(-1)}`,
      );
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(stats.blocks).toEqual([]);
      expect(stats.peak).toBeLessThanOrEqual(100);
      expect(r.stdout).toMatch(/1000 upload/);
      // The summary tells planning (here: checking the saved plan) from running.
      expect(r.stdout).toMatch(new RegExp(`${name}: ok: .*; planned in [0-9.]+s, ran [0-9.]+s`));
      expect(compareTrees(local, join(lab.servers[name].root, 'www'), ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
      const again = runCli(['plan', '-c', file, '--detailed-exitcode'], { env, timeoutMs: 60_000 });
      expect(again.code, again.stdout).toBe(0);
    }, 300_000);
  }

  it('vsftpd: kill -9 at 5 seeded random moments, then a re-run converges; nothing partial remains; finished files are not re-sent', async () => {
    await lab.resetRoot('vsftpd');
    await lab.disarmFirewall();
    const local = join(work, 'kill');
    generateTree(local, { seed: 31, files: 1000, dirs: 30, depth: 3, maxSmall: 2000 });
    const file = join(work, 'kill.yml');
    // size-mtime: what this checks is the upload's own atomicity (a landed file has its mtime);
    // what a kill costs the checksum state (compare: auto) is incremental.lab.test.ts's.
    // twoPhase: false: each file lands as it is sent (two-phase kills: two-phase.lab.test.ts).
    writeFileSync(
      file,
      `version: 1\nservers:\n${serverYaml(lab, 'vsftpd', 100)}syncs:\n  - { name: site, servers: [vsftpd], direction: upload, local: ${local}, remote: /www, delete: true, compare: size-mtime, twoPhase: false }\n`,
    );
    const remote = join(lab.servers.vsftpd.root, 'www');
    const landed = () => {
      try {
        return [...files(remote).keys()].filter((p) => !p.split('/').at(-1)!.startsWith(TEMP_PREFIX) && !ours(p)).length;
      } catch {
        return 0; // not created yet
      }
    };
    // Each run is killed once a seeded number of further files have landed, plus a seeded few ms
    // (a moment anywhere in an upload's steps), so the kills fall mid-run however fast the
    // machine: fixed times stopped working once 1,000 uploads took ~1.5 s.
    const rand = rng(7);
    const kills: string[] = [];
    for (let k = 0; k < 5; k++) {
      const target = landed() + 30 + Math.floor(rand() * 120);
      const extraMs = Math.floor(rand() * 20);
      const child = spawn(process.execPath, [CLI, 'apply', '-c', file], { cwd: REPO, env: { PATH: process.env.PATH, NO_COLOR: '1', ...env }, stdio: 'ignore' });
      let exited = false;
      const exit = new Promise<void>((res) => child.on('exit', () => res(void (exited = true))));
      const deadline = Date.now() + 60_000;
      while (!exited && landed() < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, extraMs));
      child.kill('SIGKILL');
      await exit;
      kills.push(`${target}+${extraMs}ms`);
    }
    const before = files(remote);
    const partialBefore = [...before.keys()].filter((p) => p.split('/').at(-1)!.startsWith(TEMP_PREFIX));
    const r = await runCliAsync(['apply', '-c', file], { env, timeoutMs: 240_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const after = files(remote);
    const landedBefore = [...before.keys()].filter((p) => !p.split('/').at(-1)!.startsWith(TEMP_PREFIX) && !ours(p));
    const resent = landedBefore.filter((p) => after.get(p) !== before.get(p));
    const uploadedLine = /(\d+) upload/.exec(r.stdout)?.[1] ?? '0';
    console.log(
      `[measure] kill -9 at ${kills.join(', ')} (files landed + ms): ${landedBefore.length} files under real names before the re-run, ${partialBefore.length} temporary files; the re-run uploaded ${uploadedLine}, re-sent ${resent.length} that had landed: ${resent.slice(0, 5).join(', ')}`,
    );
    expect(compareTrees(local, remote, ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
    expect([...after.keys()].filter((p) => p.includes(TEMP_PREFIX))).toEqual([]);
    expect(landedBefore.length).toBeGreaterThan(0);
    expect(landedBefore.length).toBeLessThan(1000);
    // A file whose rename landed but whose mtime was not set yet when killed may be sent again: at most one per kill and session.
    expect(resent.length).toBeLessThanOrEqual(kills.length * 2);
    expect(Number(uploadedLine)).toBeLessThanOrEqual(1000 - landedBefore.length + resent.length);
  }, 400_000);

  it('pure-ftpd with a per-IP session cap of 1 (421): apply backs off to fewer sessions and completes', async () => {
    await lab.setSessionCap('pure-ftpd', 1);
    await lab.resetRoot('pure-ftpd');
    const local = join(work, 'cap');
    generateTree(local, { seed: 41, files: 60, dirs: 4, depth: 2, maxSmall: 500 });
    const file = join(work, 'cap.yml');
    writeFileSync(
      file,
      `version: 1\nservers:\n${serverYaml(lab, 'pure-ftpd', 100)}syncs:\n  - { name: site, servers: [pure-ftpd], direction: upload, local: ${local}, remote: /www }\n`,
    );
    const r = await runCliAsync(['apply', '-c', file], { env, timeoutMs: 120_000 });
    await lab.setSessionCap('pure-ftpd', null);
    console.log(
      `[measure] session cap 1: code ${r.code}; ${r.stdout
        .split('\n')
        .filter((l) => /capped|Summary|pure-ftpd:/.test(l))
        .slice(-3)
        .join(' | ')}`,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/capped sessions/);
    expect(compareTrees(local, join(lab.servers['pure-ftpd'].root, 'www'), ours).equal).toBe(true);
  }, 180_000);

  it('a two-stage rollout whose second server is down: the first stage lands, the run halts, exit 1, the summary says who has the release', async () => {
    await lab.resetRoot('proftpd');
    const local = join(work, 'roll');
    generateTree(local, { seed: 51, files: 30, dirs: 3, depth: 1, maxSmall: 300 });
    const file = join(work, 'roll.yml');
    const down = `  down:\n    host: ${lab.serverAddress}\n    port: 2999\n    user: nobody\n    password: \${LAB_PASSWORD}\n    tls: none\n    timeouts: { connect: 3s }\n`;
    writeFileSync(
      file,
      `version: 1\nservers:\n${serverYaml(lab, 'proftpd', 100)}${serverYaml(lab, 'vsftpd', 100)}${down}syncs:\n  - { name: site, servers: [proftpd, down, vsftpd], direction: upload, local: ${local}, remote: /roll }\nrollout:\n  stages:\n    - { name: first, servers: [proftpd] }\n    - { name: second, servers: [down] }\n    - { name: third, servers: [vsftpd] }\n  haltOnFailure: true\n`,
    );
    const r = await runCliAsync(['apply', '-c', file], { env, timeoutMs: 120_000 });
    console.log(`[measure] rollout: code ${r.code}\n${r.stdout.slice(r.stdout.indexOf('Summary:'))}`);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/stage first: proftpd/);
    expect(r.stdout).toMatch(/proftpd: ok: .*30 upload/);
    expect(r.stdout).toMatch(/down: FAILED/);
    expect(r.stdout).toMatch(/not run \(an earlier stage failed\): vsftpd/);
    expect(compareTrees(local, join(lab.servers.proftpd.root, 'roll'), ours).equal).toBe(true);
    expect(r.stdout + r.stderr).not.toContain(lab.servers.vsftpd.password);
  }, 180_000);
});
