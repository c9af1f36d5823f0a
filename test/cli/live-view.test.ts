/**
 * apply's live view, for real: the built CLI runs in a pseudo-terminal (util-linux `script`)
 * against the project's demo FTP server on 127.0.0.1, with a budget small enough for one pause
 * (10 downloads, 5 per phase, timeWait 1 s: a pause of about 6 s). The captured output is cut
 * into the frames listr2 drew; the same run under CI=true and through a pipe prints the plain
 * timestamped lines.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import { CLI, ensureBuilt, runCliAsync } from './helpers.js';

const PASV: [number, number] = [31340, 31379];
const PASSWORD = 'live-view-test-pw';
let base: string;
let root: string;
let server: DemoFtpServer;
let port: number;

beforeAll(async () => {
  ensureBuilt();
  base = mkdtempSync(join(tmpdir(), 'ftpsync-live-view-'));
  root = join(base, 'root');
  mkdirSync(join(root, 'logs'), { recursive: true });
  for (let i = 0; i < 10; i++) writeFileSync(join(root, 'logs', `f${i}.log`), 'x'.repeat(2000 + i));
  server = new DemoFtpServer({ port: 0, user: 'demo', password: PASSWORD, root, passivePorts: PASV });
  port = await server.listen();
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

/** A project directory whose manifest mirrors the server's /logs into ./mirror. */
function project(name: string): string {
  const dir = join(base, name);
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'ftpsync.yml'),
    [
      'version: 1',
      'servers:',
      '  demo:',
      '    host: 127.0.0.1',
      `    port: ${port}`,
      '    user: demo',
      '    password: ${FTPSYNC_TEST_PASSWORD}',
      '    tls: none',
      '    firewall: { maxConnections: 6, headroom: 1, timeWait: 1s, parallel: 1, maxSessions: 2 }',
      'syncs:',
      '  - { name: logs, server: demo, direction: download, local: ./mirror, remote: /logs }',
      '',
    ].join('\n'),
  );
  return dir;
}

/** The environment of a user's terminal, without whatever CI variables run this test. */
function termEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color', FTPSYNC_TEST_PASSWORD: PASSWORD, ...extra };
}

/** Run `ftpsync apply` in a pseudo-terminal 160 columns wide; onOutput sees the output so far. */
function applyInPty(cwd: string, env: NodeJS.ProcessEnv, onOutput?: (soFar: string) => void): Promise<{ code: number | null; raw: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfec', `stty cols 160 rows 30; exec "${process.execPath}" "${CLI}" apply -c ftpsync.yml`, '/dev/null'], { cwd, env });
    let raw = '';
    child.stdout.on('data', (d: Buffer) => {
      raw += d.toString();
      onOutput?.(raw);
    });
    child.stderr.on('data', (d: Buffer) => (raw += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.end();
      resolve({ code, raw });
    });
  });
}

const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
/** log-update erases the last frame (erase line, cursor up, ..., cursor to column 1) before drawing the next. */
const FRAME_BREAK = /(?:\u001b\[2K(?:\u001b\[1A)?)+\u001b\[G/;

function frames(raw: string): string[] {
  return raw.split(FRAME_BREAK).map((f) => f.replace(ANSI, '').replace(/\r/g, '').trimEnd());
}
/** Numbers masked, the spinner's glyph too: a frame that does not change from run to run. */
const normalize = (frame: string) => frame.replace(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/gmu, '*').replace(/\d+(\.\d+)?/g, '#');

const TASK_LINE =
  /demo \[stage all\] phase (?<phase>\d)\/(?<phases>\d) · files (?<files>\d+)\/(?<ofFiles>\d+) · [\d.]+ (?:B|KiB)\/[\d.]+ KiB · counted (?<counted>\d+)\/6 · pause (?<pause>\d+)s · ETA (?<eta>\d+)s/;

describe('apply on a terminal: the live view', () => {
  it('one task line per server with phase, files, bytes, counted connections, a pause counting down and the ETA', { timeout: 60_000 }, async () => {
    const dir = project('tty');
    // A directory where the server has a file: planning leaves it alone and says so (a sub-line).
    mkdirSync(join(dir, 'mirror', 'f0.log'), { recursive: true });
    const r = await applyInPty(dir, termEnv());
    expect(r.code, r.raw).toBe(0);
    const all = frames(r.raw);
    const paused = all.filter((f) => TASK_LINE.test(f));
    expect(paused.length, r.raw).toBeGreaterThan(1);
    const at = paused.map((f) => TASK_LINE.exec(f)!.groups!);
    const seconds = at.map((g) => Number(g.pause));
    // The countdown moves: it starts at the pause's length and falls second by second.
    expect(new Set(seconds).size).toBeGreaterThanOrEqual(3);
    expect(seconds[0]).toBeGreaterThan(seconds.at(-1)!);
    for (let i = 1; i < seconds.length; i++) expect(seconds[i]).toBeLessThanOrEqual(seconds[i - 1]!);
    // Paused after phase 1 of 2: its 5 downloads done (f0.log left alone: 9 to do), 5 of 6 counted.
    expect(at[0]).toMatchObject({ phase: '1', phases: '2', files: '5', ofFiles: '9' });
    expect(Number(at[0]!.counted)).toBeGreaterThan(0);
    // The ETA never says less than the pause still takes.
    for (const g of at) expect(Number(g.eta)).toBeGreaterThanOrEqual(Number(g.pause));
    // The planning warning is the task's sub-line, indented under it.
    expect(paused[0]).toMatch(/\n {2}› warning: demo\/logs: f0\.log is a file on one side and a directory on the other; left alone/);
    expect(normalize(paused[0]!)).toMatchInlineSnapshot(`
      "* demo [stage all] phase #/# · files #/# · # KiB/# KiB · counted #/# · pause #s · ETA #s
        › warning: demo/logs: f#.log is a file on one side and a directory on the other; left alone"
    `);
    // The last frame: the task ended, then the summary as on every output.
    expect(all.at(-1)).toMatch(/demo \[stage all\] done in [\d.]+s: phase 2\/2 · files 9\/9/);
    expect(r.raw).toMatch(/Summary:\r?\n {2}demo: ok: 9 download/);
    // Colours on a terminal without NO_COLOR (the pause in yellow, listr's icons).
    expect(r.raw).toContain('\u001b[33mpause ');
    expect(r.raw).not.toContain(PASSWORD);
  });

  it('NO_COLOR: no colour at all; a failed action is a sub-line and the task ends FAILED', { timeout: 60_000 }, async () => {
    const dir = project('no-color');
    const gone = join(root, 'logs', 'f9.log');
    let removed = false;
    try {
      // f9.log is in phase 2: it disappears from the server during the pause before it.
      const r = await applyInPty(dir, termEnv({ NO_COLOR: '1' }), (soFar) => {
        if (!removed && /pause \d+s/.test(soFar)) {
          unlinkSync(gone);
          removed = true;
        }
      });
      expect(removed, r.raw).toBe(true);
      expect(r.code, r.raw).toBe(1);
      // Cursor movement and erasing, never a colour (SGR) sequence.
      expect(r.raw).not.toMatch(/\u001b\[[0-9;]*m/);
      const last = frames(r.raw)
        .filter((f) => f.includes('demo [stage all]'))
        .at(-1)!;
      expect(last).toMatch(/demo \[stage all\] FAILED in [\d.]+s: phase 2\/2 · files 9\/10/);
      expect(last).toMatch(/\n {2}› failed: download f9\.log: /);
      expect(r.raw).toMatch(/Summary:\r?\n {2}demo: FAILED: 9 download/);
    } finally {
      writeFileSync(gone, 'x'.repeat(2009));
    }
  });
});

/** Plain lines without their timestamps, numbers of the pause masked; every line must carry a timestamp. */
function plainLines(stdout: string): string[] {
  const progress = stdout.replace(/\r/g, '').split('\nSummary:')[0]!.trim().split('\n');
  for (const l of progress) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /);
  return progress.map((l) => l.slice(21).replace(/pausing [\d.]+s: \d+\//, 'pausing #s: #/'));
}

describe('apply without a terminal, or under CI: the plain lines, unchanged', () => {
  const expected = [
    'stage all: demo',
    'demo: phase 1/2: 5 action(s), 5 counted connection(s)',
    'demo: pausing #s: #/6 connections still counted by the firewall',
    'demo: phase 2/2: 5 action(s), 5 counted connection(s)',
  ];

  it('through a pipe', { timeout: 60_000 }, async () => {
    const r = await runCliAsync(['apply', '-c', 'ftpsync.yml'], { cwd: project('pipe'), env: { FTPSYNC_TEST_PASSWORD: PASSWORD } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(plainLines(r.stdout)).toEqual(expected);
    expect(r.stdout).toMatch(/\nSummary:\n {2}demo: ok: 10 download/);
  });

  it('on a terminal with CI=true', { timeout: 60_000 }, async () => {
    const r = await applyInPty(project('ci'), termEnv({ CI: 'true' }));
    expect(r.code, r.raw).toBe(0);
    expect(r.raw).not.toContain('\u001b[');
    expect(plainLines(r.raw)).toEqual(expected);
  });
});
