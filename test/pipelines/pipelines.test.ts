/**
 * The CI examples parse as YAML and every `ftpsync` command in them uses a subcommand and flags
 * that the built CLI really has (read from its --help output, not from a list kept here).
 */
import { readFileSync } from 'node:fs';
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

const EXAMPLES = ['examples/github-actions/ftpsync.yml', 'examples/gitlab-ci/.gitlab-ci.yml'];

describe('CI examples', () => {
  let topHelp = '';
  beforeAll(() => {
    ensureBuilt();
    topHelp = runCli(['--help']).stdout;
  }, 120_000);

  it('finds the ftpsync calls in a run line', () => {
    expect(ftpsyncCalls('npx --no ftpsync plan --config a.yml --format markdown > plan.md || test $? -eq 2')).toEqual([
      { command: 'plan', flags: ['--config', '--format'], formats: ['markdown'] },
    ]);
  });

  for (const file of EXAMPLES) {
    it(`${file}: valid YAML whose ftpsync calls match the CLI's real commands and flags`, () => {
      const doc: unknown = parse(readFileSync(join(REPO, file), 'utf8'), { uniqueKeys: true });
      const calls = strings(doc).flatMap(ftpsyncCalls);
      // npx must never fetch "ftpsync" by name: on the registry that name is another project.
      const npxLines = strings(doc).flatMap((t) => t.split('\n')).filter((l) => /\bnpx\b.*\bftpsync\b/.test(l));
      expect(npxLines.length).toBe(calls.length);
      for (const l of npxLines) expect(l).toMatch(/\bnpx --no ftpsync\b/);
      expect(calls.map((c) => c.command).sort()).toEqual(['apply', 'plan']);
      for (const call of calls) {
        expect(topHelp, `ftpsync has no "${call.command}" command`).toMatch(new RegExp(`^\\s+${call.command}\\b`, 'm'));
        const help = helpFlags(call.command);
        for (const flag of call.flags) expect(help.flags, `ftpsync ${call.command} has no ${flag}`).toContain(flag);
        for (const f of call.formats) expect(help.text).toContain(f);
      }
    });
  }

  it('the GitHub workflow comments on pull requests and applies only on main', () => {
    const wf = parse(readFileSync(join(REPO, EXAMPLES[0]!), 'utf8')) as {
      on: Record<string, unknown>;
      jobs: Record<string, { if: string; permissions?: Record<string, string>; steps: Array<Record<string, unknown>> }>;
    };
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'push']);
    expect(wf.jobs.plan?.if).toContain('pull_request');
    expect(wf.jobs.plan?.permissions?.['pull-requests']).toBe('write');
    expect(wf.jobs.apply?.if).toContain("refs/heads/main");
    // The password comes from secrets through env, never inline.
    for (const job of Object.values(wf.jobs)) {
      for (const step of job.steps) {
        const env = step.env as Record<string, string> | undefined;
        if (env?.FTP_PASSWORD) expect(env.FTP_PASSWORD).toBe('${{ secrets.FTP_PASSWORD }}');
      }
    }
    const script = strings(wf.jobs.plan).find((s) => s.includes('updateComment'));
    expect(script, 'the plan job updates its one comment instead of adding one per push').toBeDefined();
  });
});
