/**
 * The CI examples parse as YAML and every `ftpsync` command in them uses a subcommand and flags
 * that the built CLI really has (read from its --help output, not from a list kept here). The
 * GitHub workflow goes through the repository's action (action.yml, tested in test/action); the
 * GitLab pipeline's merge-request note script is run against a stub of GitLab's notes API.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, ensureBuilt, runCli } from '../cli/helpers.js';

interface FtpsyncCall {
  command: string;
  flags: string[];
  formats: string[];
}

/** Every string in a parsed YAML document (run: and script: lines live at various depths). */
function strings(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(strings);
  if (node && typeof node === 'object') return Object.values(node).flatMap(strings);
  return [];
}

/** `npx --no ftpsync plan --config x --format markdown` -> { command: plan, flags: [...] }. */
function ftpsyncCalls(text: string): FtpsyncCall[] {
  const calls: FtpsyncCall[] = [];
  for (const line of text.split('\n')) {
    const m = /(?:^|[\s;&|])(?:npx (?:--[a-z]+ )*)?ftpsync ([a-z]+)((?: [^|>;&]*)?)/.exec(line);
    if (!m) continue;
    const words = (m[2] ?? '').trim().split(/\s+/).filter(Boolean);
    const formats: string[] = [];
    words.forEach((w, i) => {
      if (w === '--format' && words[i + 1]) formats.push(words[i + 1]!);
    });
    calls.push({ command: m[1]!, flags: words.filter((w) => w.startsWith('-')).map((w) => w.split('=')[0]!), formats });
  }
  return calls;
}

function helpFlags(command: string): { flags: Set<string>; text: string } {
  const r = runCli([command, '--help']);
  expect(r.code, r.stderr).toBe(0);
  const flags = new Set<string>();
  for (const m of r.stdout.matchAll(/(?:^|[\s,])(--?[a-zA-Z][\w-]*)/g)) flags.add(m[1]!);
  return { flags, text: r.stdout };
}

const GITHUB = 'examples/github-actions/ftpsync.yml';
const GITLAB = 'examples/gitlab-ci/.gitlab-ci.yml';

interface Step {
  uses?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface GitLabJob {
  stage: string;
  rules: Array<{ if: string }>;
  script: string[];
  resource_group?: string;
}

describe('CI examples', () => {
  let topHelp = '';
  beforeAll(() => {
    ensureBuilt();
    topHelp = runCli(['--help']).stdout;
  }, 120_000);

  /** The command exists and takes every flag given (from the CLI's own --help). */
  function expectRealCall(call: FtpsyncCall): void {
    expect(topHelp, `ftpsync has no "${call.command}" command`).toMatch(new RegExp(`^\\s+${call.command}\\b`, 'm'));
    const help = helpFlags(call.command);
    for (const flag of call.flags) expect(help.flags, `ftpsync ${call.command} has no ${flag}`).toContain(flag);
    for (const f of call.formats) expect(help.text).toContain(f);
  }

  it('finds the ftpsync calls in a run line', () => {
    expect(ftpsyncCalls('npx --no ftpsync plan --config a.yml --format markdown > plan.md || test $? -eq 2')).toEqual([
      { command: 'plan', flags: ['--config', '--format'], formats: ['markdown'] },
    ]);
  });

  it(`${GITLAB}: valid YAML whose ftpsync calls match the CLI's real commands and flags`, () => {
    const doc: unknown = parse(readFileSync(join(REPO, GITLAB), 'utf8'), { uniqueKeys: true });
    const calls = strings(doc).flatMap(ftpsyncCalls);
    // npx must never fetch "ftpsync" by name: on the registry that name is another project.
    const npxLines = strings(doc)
      .flatMap((t) => t.split('\n'))
      .filter((l) => /\bnpx\b.*\bftpsync\b/.test(l));
    expect(npxLines.length).toBe(calls.length);
    for (const l of npxLines) expect(l).toMatch(/\bnpx --no ftpsync\b/);
    expect(calls.map((c) => c.command).sort()).toEqual(['apply', 'plan']);
    for (const call of calls) expectRealCall(call);
  });

  it(`${GITLAB}: plan on merge requests, apply on the default branch, one deploy at a time`, () => {
    const doc = parse(readFileSync(join(REPO, GITLAB), 'utf8')) as Record<string, GitLabJob>;
    const jobs = Object.values(doc).filter((j): j is GitLabJob => Boolean(j && typeof j === 'object' && 'script' in j));
    const planJob = jobs.find((j) => j.script.some((l) => /ftpsync plan\b/.test(l)))!;
    const applyJob = jobs.find((j) => j.script.some((l) => /ftpsync apply\b/.test(l)))!;
    expect(planJob.rules.map((r) => r.if)).toEqual(['$CI_PIPELINE_SOURCE == "merge_request_event"']);
    expect(applyJob.rules.map((r) => r.if)).toEqual(['$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH']);
    expect(applyJob.resource_group).toBeTruthy();
    expect(planJob.script.join('\n')).toContain('/merge_requests/${env.CI_MERGE_REQUEST_IID}/notes');
    // No secret written into the file: tokens and passwords are CI/CD variables.
    expect(readFileSync(join(REPO, GITLAB), 'utf8')).not.toMatch(/glpat-|PRIVATE-TOKEN": "[^"$]/);
  });

  it(`${GITLAB}: the note script adds ONE plan note, then updates it (against a stub of GitLab's API)`, { timeout: 60_000 }, async () => {
    const doc = parse(readFileSync(join(REPO, GITLAB), 'utf8')) as Record<string, GitLabJob>;
    const planJob = Object.values(doc).find((j) => j && typeof j === 'object' && 'script' in j && j.script.some((l) => /ftpsync plan\b/.test(l)))!;
    const noteStep = planJob.script.find((l) => l.includes('/notes'))!;
    const notes: Array<{ id: number; body: string; system: boolean }> = [{ id: 1, body: 'merged main into this branch', system: true }];
    const seen: string[] = [];
    const api = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${String(req.headers['private-token'])}`);
        const m = /^\/api\/v4\/projects\/77\/merge_requests\/5\/notes(?:\/(\d+))?/.exec(req.url ?? '');
        res.setHeader('content-type', 'application/json');
        if (!m) return res.writeHead(404).end('{}');
        if (req.method === 'GET') return res.end(JSON.stringify(notes));
        const body = (JSON.parse(raw) as { body: string }).body;
        if (req.method === 'POST') notes.push({ id: 2 + notes.length, body, system: false });
        else if (req.method === 'PUT') notes.find((n) => n.id === Number(m[1]))!.body = body;
        res.writeHead(req.method === 'POST' ? 201 : 200).end('{}');
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'ftpsync-gitlab-'));
    const run = (plan: string) => {
      writeFileSync(join(dir, 'plan.md'), plan);
      return new Promise<{ code: number | null; out: string }>((resolve) => {
        const env = {
          PATH: process.env.PATH,
          CI_API_V4_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}/api/v4`,
          CI_PROJECT_ID: '77',
          CI_MERGE_REQUEST_IID: '5',
          GITLAB_NOTE_TOKEN: 'note-token',
        };
        const child = spawn('bash', ['-ec', noteStep], { cwd: dir, env });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });
    };
    try {
      const first = await run('<!-- ftpsync-plan -->\n## ftpsync plan\n\none change\n');
      expect(first.code, first.out).toBe(0);
      expect(first.out).toContain('added the plan note');
      const second = await run('<!-- ftpsync-plan -->\n## ftpsync plan\n\ntwo changes\n');
      expect(second.code, second.out).toBe(0);
      expect(second.out).toContain('updated the plan note');
      expect(notes.filter((n) => !n.system).map((n) => n.body)).toEqual(['<!-- ftpsync-plan -->\n## ftpsync plan\n\ntwo changes\n']);
      expect(seen.every((l) => l.endsWith(' note-token'))).toBe(true);
      expect(seen.map((l) => l.split(' ')[0])).toEqual(['GET', 'POST', 'GET', 'PUT']);
    } finally {
      api.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`${GITHUB}: uses this repository's action, plan on pull requests and apply only on main`, () => {
    const wf = parse(readFileSync(join(REPO, GITHUB), 'utf8'), { uniqueKeys: true }) as {
      on: Record<string, unknown>;
      jobs: Record<string, { if: string; permissions?: Record<string, string>; steps: Step[] }>;
    };
    const action = parse(readFileSync(join(REPO, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown> };
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'push']);
    expect(wf.jobs.plan?.if).toContain('pull_request');
    expect(wf.jobs.plan?.permissions?.['pull-requests']).toBe('write');
    expect(wf.jobs.apply?.if).toContain('refs/heads/main');
    const commandOf: Record<string, string> = {};
    for (const [name, job] of Object.entries(wf.jobs)) {
      const ours = job.steps.filter((s) => s.uses && /\/ftpsync@/.test(s.uses));
      expect(ours, `job ${name} runs the ftpsync action once`).toHaveLength(1);
      const step = ours[0]!;
      for (const key of Object.keys(step.with ?? {})) expect(Object.keys(action.inputs), `action.yml has no input ${key}`).toContain(key);
      commandOf[name] = step.with?.command ?? 'plan';
      // args go to the CLI as they are: they must be real flags of that command.
      const args = step.with?.args ?? '';
      if (args) expectRealCall({ command: commandOf[name]!, flags: args.split(/\s+/).filter((w) => w.startsWith('-')), formats: [] });
      // The password comes from secrets through env, never through with: or inline.
      expect(step.env?.FTP_PASSWORD).toBe('${{ secrets.FTP_PASSWORD }}');
      expect(JSON.stringify(step.with ?? {})).not.toContain('secrets.');
    }
    expect(commandOf).toEqual({ plan: 'plan', apply: 'apply' });
    // Few lines: the comment logic lives in the action now.
    expect(
      readFileSync(join(REPO, GITHUB), 'utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.trim().startsWith('#')).length,
    ).toBeLessThanOrEqual(40);
  });
});
