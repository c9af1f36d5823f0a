/**
 * plan/apply --sync NAME (repeatable) and -v/--verbose, with the built CLI against the project's
 * demo FTP server on 127.0.0.1: which syncs and servers are planned and applied, the error for an
 * unknown name, and the FTP trace on stderr (commands and replies per server and session, PASS masked).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import { CLI, ensureBuilt } from './helpers.js';

const PASSWORD = 'Tr4ce-Pa55-zyx';

/** Asynchronous: the in-process server must keep answering while the CLI runs. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: base, env: { PATH: process.env.PATH, NO_COLOR: '1', RUNOPT_PASSWORD: PASSWORD } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let base: string;
let server: DemoFtpServer;

interface PlanJson {
  servers: Array<{ server: string; syncs: Array<{ name: string }> }>;
}
const planned = (stdout: string) => (JSON.parse(stdout) as PlanJson).servers.map((s) => `${s.server}:${s.syncs.map((y) => y.name).join('+')}`);

beforeAll(async () => {
  ensureBuilt();
  base = mkdtempSync(join(tmpdir(), 'ftpsync-runopt-'));
  mkdirSync(join(base, 'root'), { recursive: true });
  for (const d of ['site', 'assets']) {
    mkdirSync(join(base, d));
    for (let i = 0; i < 3; i++) writeFileSync(join(base, d, `${d}-${i}.txt`), `${d} ${i}`);
  }
  server = new DemoFtpServer({ port: 0, user: 'demo', password: PASSWORD, root: join(base, 'root'), passivePorts: [31460, 31479] });
  const port = await server.listen();
  // Two server entries for the one demo server: "a" gets both syncs, "b" only assets.
  const srv = (name: string) => [
    `  ${name}:`,
    '    host: 127.0.0.1',
    `    port: ${port}`,
    '    user: demo',
    '    password: ${RUNOPT_PASSWORD}',
    '    tls: none',
    '    firewall: { maxConnections: 20, timeWait: 60s, parallel: 1 }',
  ];
  writeFileSync(
    join(base, 'ftpsync.yml'),
    [
      'version: 1',
      'servers:',
      ...srv('a'),
      ...srv('b'),
      'syncs:',
      '  - { name: site, server: a, direction: upload, local: ./site, remote: /a/site }',
      '  - { name: assets, servers: [a, b], direction: upload, local: ./assets, remote: /b/assets }',
      '',
    ].join('\n'),
  );
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('--sync', () => {
  it('plans only the named syncs, on the servers they use; repeatable', { timeout: 90_000 }, async () => {
    const all = await cli(['plan', '--format', 'json']);
    expect(all.code, all.stderr).toBe(0);
    expect(planned(all.stdout)).toEqual(['a:site+assets', 'b:assets']);

    const site = await cli(['plan', '--format', 'json', '--sync', 'site']);
    expect(site.code, site.stderr).toBe(0);
    expect(planned(site.stdout)).toEqual(['a:site']);

    const both = await cli(['plan', '--format', 'json', '--sync', 'site', '--sync', 'assets', '--server', 'b']);
    expect(both.code, both.stderr).toBe(0);
    expect(planned(both.stdout)).toEqual(['b:assets']);
  });

  it('an unknown sync is a usage error that lists the known ones', { timeout: 30_000 }, async () => {
    const r = await cli(['plan', '--sync', 'sight']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: --sync sight: no such sync in');
    expect(r.stderr).toContain('hint: Known syncs: site, assets');
  });

  it('a sync that does not run on the named server says so', { timeout: 30_000 }, async () => {
    const r = await cli(['plan', '--sync', 'site', '--server', 'b']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nothing to do (site on a)');
  });

  it('apply --sync changes only that sync; with a saved plan it is refused', { timeout: 90_000 }, async () => {
    const saved = await cli(['apply', 'plan.json', '--sync', 'site']);
    expect(saved.code).toBe(1);
    expect(saved.stderr).toContain('--sync with a saved plan (plan.json)');

    const r = await cli(['apply', '--sync', 'site']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(base, 'root/a/site/site-2.txt'))).toBe(true);
    expect(existsSync(join(base, 'root/b/assets'))).toBe(false);
  });
});

describe('-v/--verbose', () => {
  it("prints each session's FTP commands and replies on stderr, PASS masked; stdout unchanged", { timeout: 90_000 }, async () => {
    // /a/site exists since the apply above: the plan lists it.
    const quiet = await cli(['plan', '--sync', 'site']);
    const r = await cli(['plan', '--sync', 'site', '-v']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replace(/\d+(\.\d+)? ?m?s\b/g, 'T')).toBe(quiet.stdout.replace(/\d+(\.\d+)? ?m?s\b/g, 'T'));
    const lines = r.stderr.split('\n');
    expect(lines).toContain('a#1 > USER demo');
    expect(lines).toContain('a#1 > PASS ****');
    expect(
      lines.some((l) => /^a#1 < 230\b/.test(l)),
      r.stderr,
    ).toBe(true);
    expect(
      lines.some((l) => /^a#1 > (STAT|MLSD|LIST)\b/.test(l)),
      r.stderr,
    ).toBe(true);
    expect(
      lines.every((l) => l === '' || /^a#\d+ /.test(l)),
      r.stderr,
    ).toBe(true);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it('apply -v traces the uploads too', { timeout: 90_000 }, async () => {
    const r = await cli(['apply', '--sync', 'assets', '--server', 'b', '--verbose']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^b#\d+ > STOR .*assets-0\.txt/m);
    expect(r.stderr).toContain('> PASS ****');
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });
});
