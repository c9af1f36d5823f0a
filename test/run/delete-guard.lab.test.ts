/**
 * The mass-delete guard and protected paths against a real server (vsftpd), both directions,
 * with the built CLI: an empty source and 60 % deletions are refused (exit 1, every target file
 * still there), 40 % is allowed, --allow-delete proceeds, a saved plan made without the flag is
 * refused; protected files survive delete: true and an upload or download of the same name.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isTempName } from '../../src/core/names.js';
import { ensureBuilt, runCli, type CliRun } from '../cli/helpers.js';
import { describeLab } from '../lab/harness.js';
import { ours, serverYaml } from './lab-manifest.js';

/** The 20 files of the test site: a/p00.html … a/p09.html, b/p10.html … b/p19.html. */
const SITE = Array.from({ length: 20 }, (_, i) => `${i < 10 ? 'a' : 'b'}/p${String(i).padStart(2, '0')}.html`);

/** Every file under dir (relative path → content), ftpsync's own files left out. */
function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const rel = join(e.parentPath, e.name).slice(dir.length + 1);
    if (!ours(rel) && !rel.startsWith('.ftpsync/') && !isTempName(e.name)) out.set(rel, readFileSync(join(dir, rel), 'utf8'));
  }
  return out;
}

/** Make dir hold exactly these files (the site's content for each name). */
function writeTree(dir: string, files: string[]): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), `<p>${f}</p>\n`.repeat(1 + SITE.indexOf(f)));
  }
}

const text = (r: CliRun) => r.stdout + r.stderr;

describeLab('mass-delete guard and protected paths (vsftpd)', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-guard-'));
  const env = { LAB_PASSWORD: lab.servers.vsftpd.password, CI: 'true' };
  /** Seconds each CLI run took, for the [measure] line. */
  let runs: number[] = [];
  const cli = (args: string[]) => {
    const t = performance.now();
    const r = runCli(args, { env, timeoutMs: 60_000 });
    runs.push((performance.now() - t) / 1000);
    return r;
  };
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** The sync's two sides for a direction: the source the test edits, the target the guard keeps. */
  async function setup(direction: 'upload' | 'download', extra = '') {
    const local = join(work, `${direction}-local`);
    const remote = join(lab.servers.vsftpd.root, direction === 'upload' ? 'www' : 'dl');
    const [source, target] = direction === 'upload' ? [local, remote] : [remote, local];
    const file = join(work, `${direction}.yml`);
    rmSync(local, { recursive: true, force: true });
    mkdirSync(local, { recursive: true });
    mkdirSync(remote, { recursive: true });
    await lab.chownRoot('vsftpd');
    writeFileSync(
      file,
      `version: 1\nservers:\n${serverYaml(lab, 'vsftpd', 100)}syncs:\n  - { name: site, servers: [vsftpd], direction: ${direction}, local: ${local}, remote: ${direction === 'upload' ? '/www' : '/dl'}, delete: true${extra} }\n`,
    );
    const setSource = async (files: string[]) => {
      writeTree(source, files);
      await lab.chownRoot('vsftpd');
    };
    return { file, source, target, setSource };
  }

  /** A refusal: exit 1, names the sync and the ways out, and the target is exactly as before. */
  function expectRefused(r: CliRun, target: string, before: Map<string, string>, numbers: RegExp, direction: 'upload' | 'download'): void {
    expect(r.code, text(r)).toBe(1);
    expect(text(r)).toContain('mass-delete guard: refused');
    expect(text(r)).toContain('sync "site" on vsftpd');
    expect(text(r)).toMatch(numbers);
    expect(text(r)).toContain('--allow-delete');
    expect(text(r)).toContain('set maxDelete on sync "site"');
    // A two-phase upload (the default) moves what it deletes into its release; a download keeps no copy.
    expect(text(r)).toContain(direction === 'upload' ? '`ftpsync rollback` puts it back while the release is kept (keepReleases 1)' : 'cannot be restored');
    expect(readTree(target)).toEqual(before);
  }

  for (const direction of ['upload', 'download'] as const) {
    it(`${direction}: empty source and 60 % refused (live and saved plan), 40 % allowed, --allow-delete proceeds`, async () => {
      await lab.resetRoot('vsftpd');
      const { file, source, target, setSource } = await setup(direction);
      const planFile = join(work, `${direction}.plan.json`);
      runs = [];

      await setSource(SITE);
      expect(text(cli(['apply', '-c', file]))).toMatch(/vsftpd: ok/);
      const full = readTree(target);
      expect(full.size).toBe(20);

      // An empty source (a failed build): plan and apply refuse, nothing is deleted.
      await setSource([]);
      const plan0 = cli(['plan', '-c', file]);
      expectRefused(plan0, target, full, /the source \(.*\) has no files while the target \(.*\) has 20; the plan deletes 20 of them/, direction);
      expect(plan0.stdout).toContain('!! 20 deletion(s) of 20 target file(s), 100 %: more than half of the target');
      const apply0 = cli(['apply', '-c', file]);
      expectRefused(apply0, target, full, /has no files while the target/, direction);
      console.log(
        `[refusal] ${direction} plan, empty source (stderr):\n${plan0.stderr}[refusal] ${direction} apply, empty source (stdout, summary):\n${apply0.stdout.split('Summary:')[1]}`,
      );

      // 40 % (8 of 20): under the default limit, applied without the flag.
      await setSource(SITE.slice(0, 12));
      const forty = cli(['apply', '-c', file]);
      expect(forty.code, text(forty)).toBe(0);
      expect(readTree(target)).toEqual(readTree(source));
      await setSource(SITE);
      expect(cli(['apply', '-c', file]).code).toBe(0);
      expect(readTree(target)).toEqual(full);

      // 60 % (12 of 20): refused live, and as a saved plan made without the flag.
      await setSource(SITE.slice(0, 8));
      const sixty = /the plan deletes 12 of the 20 files of the target \(.*\), 60 %, over the default/;
      expectRefused(cli(['apply', '-c', file]), target, full, sixty, direction);
      const saved = cli(['plan', '-c', file, '--out', planFile]);
      expectRefused(saved, target, full, sixty, direction);
      expect((JSON.parse(readFileSync(planFile, 'utf8')) as { allowDelete: boolean }).allowDelete).toBe(false);
      const applySaved = cli(['apply', planFile, '-c', file]);
      expectRefused(applySaved, target, full, sixty, direction);
      expect(text(applySaved)).toContain(`the plan ${planFile} was made without --allow-delete`);
      console.log(`[refusal] ${direction} apply of a saved plan, 60 % (stderr):\n${applySaved.stderr}`);

      // The same plan made with --allow-delete is carried out.
      const allowed = cli(['plan', '-c', file, '--allow-delete', '--out', planFile, '--detailed-exitcode']);
      expect(allowed.code, text(allowed)).toBe(2);
      expect((JSON.parse(readFileSync(planFile, 'utf8')) as { allowDelete: boolean }).allowDelete).toBe(true);
      const applied = cli(['apply', planFile, '-c', file]);
      expect(applied.code, text(applied)).toBe(0);
      expect(readTree(target)).toEqual(readTree(source));
      expect(readTree(target).size).toBe(8);

      // apply --allow-delete, this run only: even an empty source.
      await setSource([]);
      const wipe = cli(['apply', '-c', file, '--allow-delete']);
      expect(wipe.code, text(wipe)).toBe(0);
      expect(readTree(target).size).toBe(0);
      console.log(
        `[measure] delete guard ${direction}: ${runs.length} CLI runs, ${runs.reduce((a, b) => a + b, 0).toFixed(1)} s in all: ${runs.map((s) => s.toFixed(2)).join(', ')} s`,
      );
    }, 120_000);

    it(`${direction}: protected files survive delete: true and a source file of the same name`, async () => {
      await lab.resetRoot('vsftpd');
      const protect = direction === 'upload' ? `, protect: ['uploads/**', '.well-known/**']` : `, protect: ['*.log', '.well-known/**']`;
      const { file, source, target, setSource } = await setup(direction, protect);
      // On the target: files the site itself made, and one the source also has (other content).
      const kept =
        direction === 'upload' ? ['uploads/2026/photo.jpg', 'uploads/avatar.png', '.well-known/security.txt'] : ['app.log', '.well-known/security.txt'];
      for (const f of kept) {
        mkdirSync(dirname(join(target, f)), { recursive: true });
        writeFileSync(join(target, f), `made on the target: ${f}\n`);
      }
      writeFileSync(join(target, 'old.html'), 'stale\n');
      await setSource(SITE.slice(0, 3));
      mkdirSync(join(source, '.well-known'), { recursive: true });
      writeFileSync(join(source, '.well-known/security.txt'), 'the source has another version of this file\n');
      if (direction === 'download') writeFileSync(join(source, 'app.log'), 'the server has another log\n');
      await lab.chownRoot('vsftpd');
      const plan = cli(['plan', '-c', file]);
      expect(plan.code, text(plan)).toBe(0);
      expect(plan.stdout).toMatch(new RegExp(`1 deletion\\(s\\) of 1 target file\\(s\\), 100 %: more than half of the target; .*, ${kept.length} protected;`));
      const r = cli(['apply', '-c', file]);
      expect(r.code, text(r)).toBe(0);
      const after = readTree(target);
      for (const f of kept) expect(after.get(f), f).toBe(`made on the target: ${f}\n`);
      expect(after.has('old.html')).toBe(false);
      for (const f of SITE.slice(0, 3)) expect(after.get(f)).toBe(readTree(source).get(f));
      // Nothing left to do: protected differences are not planned again and again.
      expect(cli(['plan', '-c', file, '--detailed-exitcode']).code).toBe(0);
    }, 60_000);
  }
});
