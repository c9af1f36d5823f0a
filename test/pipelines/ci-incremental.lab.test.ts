/**
 * The CI examples deploy incrementally from a fresh clone: the deploy job's ftpsync commands, read
 * from the example (GitHub Actions' apply job, through the action's entry script; GitLab's ftpsync-apply job), run twice, each time
 * in a fresh `git clone` of a fixture repository, against the lab (vsftpd: no hash command, so
 * only the checksum state can tell). The second run must upload nothing. `npm ci` is not run
 * (no registry here): `npx --no ftpsync` becomes the built CLI.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLI, ensureBuilt, REPO } from '../cli/helpers.js';
import { generateTree } from '../../lab/fixtures.js';
import { describeLab } from '../lab/harness.js';
import { serverYaml } from '../run/lab-manifest.js';

/** The deploy job's lines that call ftpsync. */
function deployCommands(example: string): string[] {
  const doc = parse(readFileSync(join(REPO, example), 'utf8')) as Record<string, unknown>;
  let lines: string[];
  if (example.includes('github')) {
    // The workflow's apply job runs this repository's action: its entry script, with the step's
    // inputs as GitHub hands them over (INPUT_*), and the built CLI in place of the installed one.
    const steps = (doc.jobs as Record<string, { steps: Array<{ uses?: string; with?: Record<string, string> }> }>).apply!.steps;
    const step = steps.find((s) => s.uses && /\/ftpsync@/.test(s.uses))!;
    const input = (k: string) => `INPUT_${k.toUpperCase()}='${(step.with?.[k] ?? '').replace(/'/g, `'\\''`)}'`;
    return [
      `GITHUB_WORKSPACE="$PWD" FTPSYNC_CLI="${CLI}" ${['command', 'config', 'args'].map(input).join(' ')} "${process.execPath}" "${join(REPO, 'action/entry.mjs')}"`,
    ];
  } else {
    lines = ((doc['ftpsync-apply'] as { script: string[] }).script ?? []).flatMap((l) => l.split('\n'));
  }
  return lines.map((l) => l.trim()).filter((l) => /\bftpsync\b/.test(l));
}

function run(cmd: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const line = cmd.replace(/\bnpx --no ftpsync\b/g, `"${process.execPath}" "${CLI}"`);
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', line], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

describeLab('CI examples deploy incrementally from a fresh clone', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-ci-'));
  const git = (args: string[], cwd: string) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd, encoding: 'utf8' });
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  for (const example of ['examples/github-actions/ftpsync.yml', 'examples/gitlab-ci/.gitlab-ci.yml']) {
    it(`${example}: the second deploy from a fresh clone uploads nothing`, async () => {
      const commands = deployCommands(example);
      expect(commands.length).toBeGreaterThan(0);
      await lab.resetRoot('vsftpd');
      const name = example.includes('github') ? 'gh' : 'gl';
      const origin = join(work, `${name}-origin`);
      mkdirSync(origin);
      generateTree(join(origin, 'public'), { seed: 27, files: 60, dirs: 5, depth: 2, maxSmall: 800 });
      // The user's ftpsync.yml: the defaults (compare not set), the password from the CI secret.
      writeFileSync(
        join(origin, 'ftpsync.yml'),
        `version: 1\nservers:\n${serverYaml(lab, 'vsftpd', 100).replace('${LAB_PASSWORD}', '${FTP_PASSWORD}')}syncs:\n  - { name: site, servers: [vsftpd], direction: upload, local: ./public, remote: /www, delete: true }\n`,
      );
      git(['init', '-q', '-b', 'main'], origin);
      git(['add', '-A'], origin);
      git(['commit', '-q', '-m', 'site'], origin);
      const env = { FTP_PASSWORD: lab.servers.vsftpd.password, CI: 'true' };

      const deploy = async (n: number) => {
        const clone = join(work, `${name}-clone-${n}`);
        git(['clone', '-q', origin, clone], work);
        // The first deploy was days ago: its checkout's times are in the past, so the second
        // clone's files are all newer (size-mtime would upload every one of them again).
        if (n === 1) for (const f of files(clone)) utimesSync(join(clone, f), new Date(Date.now() - 2 * 86_400_000), new Date(Date.now() - 2 * 86_400_000));
        const outs: string[] = [];
        for (const c of commands) {
          const r = await run(c, clone, env);
          expect(r.code, `${c}\n${r.out}`).toBe(0);
          outs.push(r.out);
        }
        return outs.join('\n');
      };
      const first = await deploy(1);
      expect(first).toMatch(/vsftpd: ok: .*60 upload/);
      const second = await deploy(2);
      console.log(
        `[measure] ${example}: first deploy: ${/vsftpd: ok: [^;]*/.exec(first)?.[0]}; second, from a fresh clone: ${/vsftpd: ok: [^;]*/.exec(second)?.[0]}`,
      );
      expect(second).toMatch(/vsftpd: ok: nothing to do/);
      expect(second).not.toMatch(/\d+ upload/);
    }, 120_000);
  }
});
