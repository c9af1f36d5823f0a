#!/usr/bin/env node
/**
 * The GitHub Action's entry point (action.yml runs it): `ftpsync plan` or `ftpsync apply` with the
 * action's inputs, its outputs written to $GITHUB_OUTPUT, and on a pull request the plan posted as
 * ONE comment, found again by its marker and updated on every push. Plain Node 20, no dependencies:
 * the only network it uses besides the CLI's FTP servers is the GitHub API ($GITHUB_API_URL).
 *
 * Inputs arrive as INPUT_CONFIG, INPUT_COMMAND, INPUT_ARGS, INPUT_COMMENT (action.yml sets them);
 * the token as GITHUB_TOKEN; FTP passwords only through the environment the workflow gives the step.
 */
/* global fetch, AbortSignal */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Marks the plan comment, so each push updates it instead of adding one. */
export const MARKER = '<!-- ftpsync-plan -->';
/** GitHub refuses a comment body over 65,536 characters. */
const MAX_COMMENT = 65_000;
/** Bounds the comment search: 100 per page, 50 pages. */
const MAX_PAGES = 50;
const API_TIMEOUT_MS = 30_000;

const ACTION_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** @param {string} message */
const fail = (message) => {
  process.stdout.write(`::error::${message}\n`);
  return 1;
};

/**
 * Split the `args` input like a shell would for plain words and quotes ("a b", 'a b'); no expansion.
 * @param {string} text
 * @returns {string[]}
 */
export function splitArgs(text) {
  const args = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) args.push(m[1] ?? m[2] ?? m[3] ?? '');
  return args;
}

/**
 * The CLI to run: FTPSYNC_CLI; else the project's own install (its lockfile pins the version);
 * else the copy action.yml built in the action's directory.
 * @param {NodeJS.ProcessEnv} env
 */
export function cliPath(env) {
  if (env.FTPSYNC_CLI) return env.FTPSYNC_CLI;
  const installed = join(env.GITHUB_WORKSPACE ?? process.cwd(), 'node_modules', 'ftpsync-paced', 'dist', 'cli', 'main.js');
  return existsSync(installed) ? installed : join(ACTION_DIR, 'dist', 'cli', 'main.js');
}

/**
 * Run the CLI; its stdout and stderr go to the log as they come, and are kept.
 * @param {string} cli
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
function runCli(cli, args, env) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (/** @type {Buffer} */ d) => {
      stdout += d.toString();
      process.stdout.write(d);
    });
    child.stderr.on('data', (/** @type {Buffer} */ d) => {
      stderr += d.toString();
      process.stderr.write(d);
    });
    child.on('error', (e) => {
      process.stdout.write(`::error::could not start ${cli}: ${e.message}\n`);
      resolveRun({ code: 1, stdout, stderr });
    });
    child.on('close', (code) => resolveRun({ code: code ?? 1, stdout, stderr }));
  });
}

/**
 * The comment for a plan ftpsync printed and then refused (exit 1, e.g. the mass-delete guard):
 * the refusal first, quoted, then the plan it is about.
 * @param {string} plan
 * @param {string} stderr
 */
export function refusedPlanMarkdown(plan, stderr) {
  const quoted = stderr
    .trimEnd()
    .split('\n')
    .map((l) => `> ${l}`)
    .join('\n');
  return `${MARKER}\n> [!CAUTION]\n> **This plan was refused; apply would refuse it too:**\n>\n${quoted}\n\n${plan}`;
}

/**
 * One call to the GitHub REST API.
 * @param {NodeJS.ProcessEnv} env
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 */
async function github(env, method, path, body) {
  const base = (env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/$/, '');
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${env.GITHUB_TOKEN ?? ''}`,
      'x-github-api-version': '2022-11-28',
      'user-agent': 'ftpsync-action',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(API_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return /** @type {unknown} */ (await res.json());
}

/**
 * Post the plan as the pull request's one ftpsync comment, or update the one already there (a bot's
 * comment carrying the marker; a person quoting it is left alone).
 * @param {NodeJS.ProcessEnv} env
 * @param {{ owner: string, repo: string, number: number }} pr
 * @param {string} markdown
 * @returns {Promise<'created' | 'updated'>}
 */
export async function upsertPlanComment(env, pr, markdown) {
  const text = markdown.length > MAX_COMMENT ? `${markdown.slice(0, MAX_COMMENT)}\n\n… (cut: the whole plan is in the job log)` : markdown;
  // plan --format markdown starts with the marker already; a body without it gets one.
  const body = text.includes(MARKER) ? text : `${MARKER}\n${text}`;
  const repoPath = `/repos/${encodeURIComponent(pr.owner)}/${encodeURIComponent(pr.repo)}`;
  for (let page = 1; page <= MAX_PAGES; page++) {
    const comments = /** @type {Array<{ id: number, body?: string, user?: { type?: string } }>} */ (
      await github(env, 'GET', `${repoPath}/issues/${pr.number}/comments?per_page=100&page=${page}`)
    );
    const mine = comments.find((c) => c.user?.type === 'Bot' && (c.body ?? '').includes(MARKER));
    if (mine) {
      await github(env, 'PATCH', `${repoPath}/issues/comments/${mine.id}`, { body });
      return 'updated';
    }
    if (comments.length < 100) break;
  }
  await github(env, 'POST', `${repoPath}/issues/${pr.number}/comments`, { body });
  return 'created';
}

/**
 * The pull request this run is for, from the event GitHub recorded; null for other events.
 * @param {NodeJS.ProcessEnv} env
 */
export function pullRequestOf(env) {
  if (!['pull_request', 'pull_request_target'].includes(env.GITHUB_EVENT_NAME ?? '') || !env.GITHUB_EVENT_PATH) return null;
  const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
  const number = event.pull_request?.number ?? event.number;
  const full = event.repository?.full_name ?? env.GITHUB_REPOSITORY ?? '';
  const [owner, repo] = full.split('/');
  if (typeof number !== 'number' || !owner || !repo) return null;
  return { owner, repo, number };
}

/** @param {NodeJS.ProcessEnv} env @param {Record<string, string>} outputs */
function setOutputs(env, outputs) {
  const lines = Object.entries(outputs)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
  if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, lines);
  else process.stdout.write(lines);
}

/**
 * apply's summary names each server with "nothing to do" when it changed nothing.
 * @param {string} stdout
 */
export function applyChanged(stdout) {
  const rows = stdout.split('\n').filter((l) => /^ {2}\S+: (ok|FAILED): /.test(l));
  return rows.some((l) => !/: (ok|FAILED): nothing to do;/.test(l));
}

/** @param {NodeJS.ProcessEnv} env @returns {Promise<number>} */
export async function run(env) {
  const command = (env.INPUT_COMMAND ?? 'plan').trim();
  if (command !== 'plan' && command !== 'apply') return fail(`command: expected plan or apply, got "${command}"`);
  const config = (env.INPUT_CONFIG ?? '').trim() || 'ftpsync.yml';
  const extra = splitArgs(env.INPUT_ARGS ?? '');
  const cli = cliPath(env);
  const cwd = env.GITHUB_WORKSPACE ?? process.cwd();
  /** @type {NodeJS.ProcessEnv} */
  const childEnv = { ...env, CI: 'true' };
  delete childEnv.GITHUB_TOKEN;
  const configPath = resolve(cwd, config);

  if (command === 'apply') {
    const r = await runCli(cli, ['apply', '--config', configPath, ...extra], childEnv);
    setOutputs(env, { 'exit-code': String(r.code), changes: String(applyChanged(r.stdout)), 'plan-markdown': '' });
    return r.code;
  }

  const r = await runCli(cli, ['plan', '--config', configPath, '--format', 'markdown', '--detailed-exitcode', ...extra], childEnv);
  // Exit 1 after a whole plan was printed is a refusal of that plan: the comment shows both.
  const refused = r.code === 1 && r.stdout.includes(MARKER);
  const markdown = refused ? refusedPlanMarkdown(r.stdout, r.stderr) : r.stdout;
  const dir = join(env.RUNNER_TEMP ?? tmpdir(), 'ftpsync');
  mkdirSync(dir, { recursive: true });
  const planFile = join(dir, 'plan.md');
  writeFileSync(planFile, markdown);
  // Exit 2 is "changes planned": a result, not a failure.
  setOutputs(env, { 'exit-code': String(r.code), changes: String(r.code === 2 || refused), 'plan-markdown': planFile });
  if (r.code !== 0 && r.code !== 2 && !refused) return fail(`ftpsync plan failed (exit ${r.code}); see the lines above`);
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, markdown);

  const pr = (env.INPUT_COMMENT ?? 'true').trim() === 'false' ? null : pullRequestOf(env);
  if (pr) {
    try {
      const how = await upsertPlanComment(env, pr, markdown);
      process.stdout.write(`${how} the plan comment on ${pr.owner}/${pr.repo}#${pr.number}\n`);
    } catch (e) {
      // A fork's pull request gets a read-only token: the plan is still in the log and the summary.
      process.stdout.write(
        `::warning::could not post the plan comment: ${e instanceof Error ? e.message : String(e)} (does the job have pull-requests: write?)\n`,
      );
    }
  }
  return refused ? fail('ftpsync refused the plan (see the comment or the lines above)') : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run(process.env).then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stdout.write(`::error::${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
