/**
 * The GitHub Action's entry script (action/entry.mjs) run as GitHub runs it: inputs as INPUT_*,
 * $GITHUB_OUTPUT, $GITHUB_EVENT_PATH pointing at a pull_request event (fixture, in GitHub's
 * payload shape), $GITHUB_API_URL at a stub of the issue-comments API on 127.0.0.1, and the built
 * CLI planning and applying against the demo FTP server. Also checks action.yml itself.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import { CLI, REPO, ensureBuilt } from '../cli/helpers.js';

const PASSWORD = 'Act10n-Pa55-qrs';
const TOKEN = 'ghs_stubtoken000';
const EVENT = join(REPO, 'test/action/fixtures/pull_request.synchronize.json');
const MARKER = '<!-- ftpsync-plan -->';

interface Comment {
  id: number;
  body: string;
  user: { login: string; type: string };
}
interface ApiCall {
  method: string;
  url: string;
  auth: string | undefined;
  body?: { body: string };
}

let base: string;
let ftp: DemoFtpServer;
let api: Server;
let apiUrl: string;
let comments: Comment[] = [];
let calls: ApiCall[] = [];

/** The part of GitHub's REST API the action uses: list (paged), create and update issue comments. */
function startApi(): Promise<string> {
  api = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      calls.push({
        method: req.method ?? '',
        url: url.pathname + url.search,
        auth: req.headers.authorization,
        ...(raw ? { body: JSON.parse(raw) as { body: string } } : {}),
      });
      const send = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { message: 'Bad credentials' });
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && (m = /^\/repos\/octo-org\/site\/issues\/42\/comments$/.exec(url.pathname))) {
        const per = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        return send(200, comments.slice((page - 1) * per, page * per));
      }
      if (req.method === 'POST' && /^\/repos\/octo-org\/site\/issues\/42\/comments$/.test(url.pathname)) {
        const c = { id: 9000 + comments.length, body: (JSON.parse(raw) as { body: string }).body, user: { login: 'github-actions[bot]', type: 'Bot' } };
        comments.push(c);
        return send(201, c);
      }
      if (req.method === 'PATCH' && (m = /^\/repos\/octo-org\/site\/issues\/comments\/(\d+)$/.exec(url.pathname))) {
        const c = comments.find((x) => x.id === Number(m![1]));
        if (!c) return send(404, { message: 'Not Found' });
        c.body = (JSON.parse(raw) as { body: string }).body;
        return send(200, c);
      }
      send(404, { message: 'Not Found' });
    });
  });
  return new Promise((resolve) => api.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(api.address() as AddressInfo).port}`)));
}

interface EntryRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

/** node action/entry.mjs with the environment a GitHub runner gives a step. */
function entry(inputs: Record<string, string>, event: { name: string; path?: string }, extraEnv: NodeJS.ProcessEnv = {}): Promise<EntryRun> {
  const outFile = join(base, `output-${Math.random().toString(36).slice(2)}`);
  writeFileSync(outFile, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NO_COLOR: '1',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: join(base, 'work'),
    GITHUB_OUTPUT: outFile,
    GITHUB_EVENT_NAME: event.name,
    ...(event.path ? { GITHUB_EVENT_PATH: event.path } : {}),
    GITHUB_API_URL: apiUrl,
    GITHUB_REPOSITORY: 'octo-org/site',
    GITHUB_TOKEN: TOKEN,
    RUNNER_TEMP: join(base, 'runner-temp'),
    FTPSYNC_CLI: CLI,
    ACTION_FTP_PASSWORD: PASSWORD,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    ...extraEnv,
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'action/entry.mjs')], { cwd: join(base, 'work'), env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const outputs = Object.fromEntries(
        readFileSync(outFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      resolve({ code, stdout, stderr, outputs });
    });
  });
}

beforeAll(async () => {
  ensureBuilt();
  base = mkdtempSync(join(tmpdir(), 'ftpsync-action-'));
  mkdirSync(join(base, 'root/www'), { recursive: true });
  mkdirSync(join(base, 'work/public'), { recursive: true });
  for (let i = 0; i < 4; i++) writeFileSync(join(base, `work/public/post-${i}.html`), `<p>${i}</p>`);
  ftp = new DemoFtpServer({ port: 0, user: 'deploy', password: PASSWORD, root: join(base, 'root'), passivePorts: [31480, 31499] });
  const port = await ftp.listen();
  writeFileSync(
    join(base, 'work/ftpsync.yml'),
    [
      'version: 1',
      'servers:',
      '  production:',
      '    host: 127.0.0.1',
      `    port: ${port}`,
      '    user: deploy',
      '    password: ${ACTION_FTP_PASSWORD}',
      '    tls: none',
      '    firewall: { maxConnections: 20, timeWait: 60s, parallel: 1 }',
      'syncs:',
      '  - { name: site, server: production, direction: upload, local: ./public, remote: /www }',
      '',
    ].join('\n'),
  );
  apiUrl = await startApi();
}, 120_000);

afterAll(async () => {
  await ftp?.close();
  await new Promise((r) => api?.close(r));
  if (base) rmSync(base, { recursive: true, force: true });
});

beforeEach(() => {
  calls = [];
});

describe('action/entry.mjs on a pull request', () => {
  it('plan: outputs exit-code 2, changes true, the markdown path; posts ONE comment with the marker', { timeout: 90_000 }, async () => {
    // Someone quoting an old plan: a person's comment with the marker is never taken over.
    comments = [{ id: 7, body: `> ${MARKER}\nlooks good`, user: { login: 'octocat', type: 'User' } }];
    const r = await entry({ command: 'plan', config: 'ftpsync.yml', args: '' }, { name: 'pull_request', path: EVENT });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs['exit-code']).toBe('2');
    expect(r.outputs.changes).toBe('true');
    const md = r.outputs['plan-markdown']!;
    expect(md).toBe(join(base, 'runner-temp/ftpsync/plan.md'));
    expect(readFileSync(md, 'utf8')).toMatch(/^## ftpsync plan/m);
    expect(calls.map((c) => c.method)).toEqual(['GET', 'POST']);
    expect(calls[0]!.url).toBe('/repos/octo-org/site/issues/42/comments?per_page=100&page=1');
    expect(calls.every((c) => c.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(comments).toHaveLength(2);
    expect(comments[1]!.body.slice(0, 60)).toMatch(new RegExp(`^${MARKER}\n## ftpsync plan`));
    expect(comments[1]!.body.split(MARKER)).toHaveLength(2);
    expect(comments[1]!.body).toContain('post-3.html');
    expect(comments[0]!.body).toBe(`> ${MARKER}\nlooks good`);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    expect(r.stdout).toContain('created the plan comment on octo-org/site#42');
  });

  it('the next push updates that comment instead of adding one, found past the first page', { timeout: 90_000 }, async () => {
    const bot = comments[1]!;
    // 150 other comments in front of it: the search pages through them.
    comments = [...Array.from({ length: 150 }, (_, i) => ({ id: 100 + i, body: `comment ${i}`, user: { login: 'someone', type: 'User' } })), bot];
    writeFileSync(join(base, 'work/public/post-4.html'), '<p>4</p>');
    const r = await entry({ command: 'plan' }, { name: 'pull_request', path: EVENT });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET /repos/octo-org/site/issues/42/comments?per_page=100&page=1',
      'GET /repos/octo-org/site/issues/42/comments?per_page=100&page=2',
      `PATCH /repos/octo-org/site/issues/comments/${bot.id}`,
    ]);
    expect(comments).toHaveLength(151);
    expect(bot.body).toContain('post-4.html');
    expect(r.stdout).toContain('updated the plan comment');
  });

  it('a comment the token may not write is a warning: the plan step still passes', { timeout: 90_000 }, async () => {
    const before = comments.map((c) => c.body);
    // A fork's read-only token, or a wrong one: the stub answers 401 like GitHub.
    const r = await entry({ command: 'plan' }, { name: 'pull_request', path: EVENT }, { GITHUB_TOKEN: 'ghs_wrong' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.changes).toBe('true');
    expect(r.stdout).toContain('::warning::could not post the plan comment: GET /repos/octo-org/site/issues/42/comments?per_page=100&page=1: HTTP 401');
    expect(calls.map((c) => c.method)).toEqual(['GET']);
    expect(comments.map((c) => c.body)).toEqual(before);
    expect(r.stdout).not.toContain('ghs_wrong');
  });

  it('a plan printed and then refused (exit 1): the comment shows the refusal, then the plan; the step fails', { timeout: 60_000 }, async () => {
    // A stand-in for the CLI's refusal (the mass-delete guard): the entry's handling is what is tested.
    const fake = join(base, 'refusing-cli.mjs');
    writeFileSync(
      fake,
      `process.stdout.write('${MARKER}\\n## ftpsync plan\\n\\n- delete 400 files\\n'); process.stderr.write('error: sync "site" would delete 400 files\\nhint: pass --allow-delete\\n'); process.exitCode = 1;`,
    );
    const bot = comments.find((c) => c.user.type === 'Bot')!;
    const r = await entry({ command: 'plan' }, { name: 'pull_request', path: EVENT }, { FTPSYNC_CLI: fake });
    expect(r.code).toBe(1);
    expect(r.outputs['exit-code']).toBe('1');
    expect(r.outputs.changes).toBe('true');
    expect(r.stdout).toContain('::error::ftpsync refused the plan');
    expect(r.stderr).toContain('would delete 400 files');
    expect(calls.map((c) => c.method)).toEqual(['GET', 'GET', 'PATCH']);
    expect(bot.body).toBe(
      `${MARKER}\n> [!CAUTION]\n> **This plan was refused; apply would refuse it too:**\n>\n> error: sync "site" would delete 400 files\n> hint: pass --allow-delete\n\n${MARKER}\n## ftpsync plan\n\n- delete 400 files\n`,
    );
    expect(readFileSync(r.outputs['plan-markdown']!, 'utf8')).toBe(bot.body);
  });

  it('comment: false plans without touching the pull request', { timeout: 60_000 }, async () => {
    const r = await entry({ command: 'plan', comment: 'false' }, { name: 'pull_request', path: EVENT });
    expect(r.code).toBe(0);
    expect(r.outputs['exit-code']).toBe('2');
    expect(calls).toEqual([]);
  });
});

describe('action/entry.mjs outside a pull request', () => {
  it('apply (push to main): uploads, exit-code 0, changes true, no API call; then plan: exit-code 0, changes false', { timeout: 120_000 }, async () => {
    const r = await entry({ command: 'apply', args: '--server production' }, { name: 'push' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs).toEqual({ 'exit-code': '0', changes: 'true', 'plan-markdown': '' });
    expect(existsSync(join(base, 'root/www/post-4.html'))).toBe(true);
    expect(r.stdout).toContain('Summary:');

    const again = await entry({ command: 'apply' }, { name: 'push' });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.outputs.changes).toBe('false');

    const plan = await entry({ command: 'plan' }, { name: 'push' });
    expect(plan.code).toBe(0);
    expect(plan.outputs['exit-code']).toBe('0');
    expect(plan.outputs.changes).toBe('false');
    expect(calls).toEqual([]);
    expect(r.stdout + r.stderr + plan.stdout + plan.stderr).not.toContain(PASSWORD);
  });

  it('a failing plan fails the step with exit-code 1 and posts nothing', { timeout: 60_000 }, async () => {
    const r = await entry({ command: 'plan', config: 'missing.yml' }, { name: 'pull_request', path: EVENT });
    expect(r.code).toBe(1);
    expect(r.outputs['exit-code']).toBe('1');
    expect(r.stdout).toContain('::error::ftpsync plan failed (exit 1)');
    expect(calls).toEqual([]);
  });

  it('an unknown command is an error naming the two it accepts', { timeout: 30_000 }, async () => {
    const r = await entry({ command: 'deploy' }, { name: 'push' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('::error::command: expected plan or apply, got "deploy"');
  });
});

describe('action.yml', () => {
  interface ActionYml {
    name: string;
    description: string;
    inputs: Record<string, { description: string; required?: boolean; default?: string }>;
    outputs: Record<string, { description: string; value: string }>;
    runs: { using: string; steps: Array<{ id?: string; run?: string; shell?: string; env?: Record<string, string> }> };
  }
  const text = readFileSync(join(REPO, 'action.yml'), 'utf8');
  const action = parse(text, { uniqueKeys: true }) as ActionYml;

  it('has the required keys, the inputs config/command/args and outputs exit-code/changes/plan-markdown', () => {
    expect(action.name).toBe('ftpsync');
    expect(action.description.length).toBeGreaterThan(0);
    expect(action.description.length).toBeLessThanOrEqual(125);
    expect(action.runs.using).toBe('composite');
    for (const i of ['config', 'command', 'args']) expect(action.inputs[i]?.description, i).toBeTruthy();
    expect(action.inputs.command?.default).toBe('plan');
    expect(Object.keys(action.outputs).sort()).toEqual(['changes', 'exit-code', 'plan-markdown']);
    // Composite steps must name their shell.
    for (const s of action.runs.steps) if (s.run) expect(s.shell).toBe('bash');
  });

  it('every ${{ inputs.X }} and steps.ID.outputs.Y it references exists; secrets only through env', () => {
    for (const m of text.matchAll(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g)) expect(Object.keys(action.inputs), m[0]).toContain(m[1]);
    const ids = action.runs.steps.map((s) => s.id).filter(Boolean);
    const entryScript = readFileSync(join(REPO, 'action/entry.mjs'), 'utf8');
    for (const [name, o] of Object.entries(action.outputs)) {
      const m = /^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$/.exec(o.value);
      expect(m, name).not.toBeNull();
      expect(ids).toContain(m![1]);
      // ... and the entry script writes that output.
      expect(entryScript).toContain(`'${m![2]}'`.replace(/^'(\w+)'$/, '$1'));
    }
    // The entry script reads each input action.yml hands it as INPUT_*.
    const step = action.runs.steps.find((s) => s.id === 'ftpsync')!;
    for (const k of Object.keys(step.env ?? {}).filter((k) => k.startsWith('INPUT_'))) expect(entryScript).toContain(`env.${k}`);
    expect(step.run).toContain('$GITHUB_ACTION_PATH/action/entry.mjs');
    expect(Object.keys(action.inputs).filter((i) => /pass|secret|key/i.test(i))).toEqual([]);
    expect(
      text
        .split('\n')
        .filter((l) => !l.trimStart().startsWith('#'))
        .join('\n'),
    ).not.toMatch(/secrets\./);
  });
});
