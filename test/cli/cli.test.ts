import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, REPO, runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ftpsync-cli-'));
beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ftpsync --help / --version', () => {
  it("--version prints the package version and Node's", () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
    for (const flag of ['--version', '-V']) {
      const r = runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`ftpsync ${pkg.version} (npm package ${pkg.name}, Node ${process.version})\n`);
    }
  });
  it('--help lists the commands and the exit codes', () => {
    const r = runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['validate', 'init']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).toContain('Exit codes: 0 ok or nothing to do, 1 error, 2 changes planned');
  });
  it('a reader that quits early (`ftpsync --help | head -1`) is not an error', async () => {
    const child = spawn(process.execPath, [CLI, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the CLI has started: its help goes to a pipe nobody reads (EPIPE).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
  it('an unknown command is a usage error, exit 1', () => {
    const r = runCli(['deploy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown command 'deploy'");
  });
});

describe('ftpsync validate', () => {
  it('accepts the top-level ftpsync.yml (exit 0)', () => {
    const r = runCli(['validate'], { env: { FTPSYNC_DEMO_PASSWORD: 'x' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ftpsync.yml: valid (1 server(s), 2 sync(s), 1 rollout stage(s))\n');
  });
  it('reports every problem as FILE:LINE:COL and exits 1, no stack trace', () => {
    const f = join(dir, 'bad.yml');
    writeFileSync(f, 'version: 1\nservers:\n  web:\n    host: h\n    user: u\n    tls: tsl\n    mode: pasv\nsyncs: []\n');
    const r = runCli(['validate', '-c', f]);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      `${f}:6:10: error: servers.web.tls must be one of "none", "explicit", "implicit" (got "tsl")`,
      `${f}:7:11: error: servers.web.mode must be one of "passive", "active" (got "pasv")`,
      `${f}:8:8: error: syncs must have at least 1 item`,
      `${f}: 3 error(s)`,
    ]);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
  it('--json prints the findings as data', () => {
    const f = join(dir, 'bad.yml');
    const r = runCli(['validate', '-c', f, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.valid).toBe(false);
    expect(j.findings[0]).toEqual({
      severity: 'error',
      file: f,
      line: 6,
      col: 10,
      message: 'servers.web.tls must be one of "none", "explicit", "implicit" (got "tsl")',
    });
  });
  it('a missing manifest is one line and exit 1', () => {
    const r = runCli(['validate'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ftpsync.yml:1:1: error: no such file; run `ftpsync init`');
  });
});

describe('ftpsync init', () => {
  it('writes a starter that validates, and refuses to overwrite it', () => {
    const cwd = mkdtempSync(join(dir, 'init-'));
    const first = runCli(['init'], { cwd });
    expect(first.code).toBe(0);
    const text = readFileSync(join(cwd, 'ftpsync.yml'), 'utf8');
    // Paths inside the installed package, whose npm name is ftpsync-paced (see test/package for them existing).
    expect(text.split('\n').slice(0, 2)).toEqual([
      '# yaml-language-server: $schema=./node_modules/ftpsync-paced/schemas/ftpsync.schema.json',
      '# ftpsync manifest. Reference: ./node_modules/ftpsync-paced/README.md, section "Manifest reference".',
    ]);
    const v = runCli(['validate'], { cwd, env: { FTP_PASSWORD: 'x' } });
    // The starter points at ./public, which this empty directory does not have: that is the one error.
    expect(v.stdout).toContain('ftpsync.yml:27:12: error: sync "site": local directory ./public does not exist');
    const second = runCli(['init'], { cwd });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('error: ftpsync.yml already exists; not overwriting it');
    expect(readFileSync(join(cwd, 'ftpsync.yml'), 'utf8')).toBe(text);
  });
});

describe('secrets never appear in output', () => {
  const SECRET = 'S3cr3t-Pa55-xyzzy';
  const cases: Array<[string, string, NodeJS.ProcessEnv]> = [
    ['env, valid', 'password: ${FTP_PASSWORD}', { FTP_PASSWORD: SECRET }],
    ['literal, valid (warned)', `password: ${SECRET}`, {}],
    ['literal, invalid manifest', `password: ${SECRET}\n    tls: bogus`, {}],
    ['literal of the wrong type', `password: [${SECRET}]`, {}],
    ['env, invalid manifest', 'password: ${FTP_PASSWORD}\n    port: x', { FTP_PASSWORD: SECRET }],
  ];
  it.each(cases)('%s', (_name, passwordLine, env) => {
    const f = join(dir, 'secret.yml');
    writeFileSync(
      f,
      `version: 1\nservers:\n  web:\n    host: ftp.example.com\n    user: u\n    ${passwordLine}\nsyncs:\n  - name: s\n    server: web\n    direction: upload\n    local: .\n    remote: /www\n`,
    );
    for (const args of [
      ['validate', '-c', f],
      ['validate', '-c', f, '--json'],
      ['validate', '-c', f, '--require-env'],
    ]) {
      const r = runCli(args, { env });
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      expect(r.stdout.length + r.stderr.length).toBeGreaterThan(0);
    }
  });
});
