/**
 * applyManifest called as a function, no process spawned: against the demo FTP server on loopback,
 * plan and apply an upload, then a saved plan that has nothing left to do, then a saved plan made
 * stale by a local change (refused, and its lock given back).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import { loadManifest } from '../../src/manifest/load.js';
import type { Manifest } from '../../src/manifest/types.js';
import { formatJson } from '../../src/plan/format.js';
import { applyManifest } from '../../src/run/apply.js';
import { makePlan, planningContext } from '../../src/run/context.js';
import { makeReporter } from '../../src/run/progress.js';
import { LOCK_NAME } from '../../src/run/remote-lock.js';

let base: string;
let server: DemoFtpServer;
let manifest: Manifest;
let digest: string;
const lines: string[] = [];
const reporter = makeReporter({ json: false, line: (l) => lines.push(l) });

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'ftpsync-apply-fn-'));
  mkdirSync(join(base, 'root/www'), { recursive: true });
  writeFileSync(join(base, 'root/www/old.html'), 'stale');
  mkdirSync(join(base, 'site/css'), { recursive: true });
  for (let i = 0; i < 6; i++) writeFileSync(join(base, `site/page-${i}.html`), `<p>${i}</p>`);
  writeFileSync(join(base, 'site/css/site.css'), 'body{}');
  server = new DemoFtpServer({ port: 0, user: 'demo', password: 'fn-test', root: join(base, 'root'), passivePorts: [31330, 31349] });
  const port = await server.listen();
  const file = join(base, 'ftpsync.yml');
  writeFileSync(
    file,
    [
      'version: 1',
      'servers:',
      '  demo:',
      '    host: 127.0.0.1',
      `    port: ${port}`,
      '    user: demo',
      '    password: ${FN_TEST_PASSWORD}',
      '    tls: none',
      '    firewall: { maxConnections: 10, headroom: 0.8, timeWait: 60s, parallel: 2 }',
      'syncs:',
      '  - { name: site, server: demo, direction: upload, local: ./site, remote: /www, delete: true }',
      '',
    ].join('\n'),
  );
  const loaded = loadManifest(file, { requireEnv: true, env: { FN_TEST_PASSWORD: 'fn-test' } });
  expect(loaded.findings.filter((f) => f.severity === 'error')).toEqual([]);
  manifest = loaded.manifest!;
  digest = loaded.digest!;
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

async function savePlan(name: string): Promise<string> {
  const ctx = planningContext();
  try {
    const file = join(base, name);
    writeFileSync(file, formatJson(await makePlan(manifest, digest, ctx)));
    return file;
  } finally {
    await ctx.close();
  }
}

describe('applyManifest (run/apply.ts) without a process', () => {
  it('plans and applies: files uploaded, the extraneous one deleted, the lock given back', { timeout: 60_000 }, async () => {
    const stages: string[] = [];
    const r = await applyManifest({ manifest, manifestDigest: digest, reporter, onStage: (name, servers) => stages.push(`${name}: ${servers.join(',')}`) });
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(r.notRun).toEqual([]);
    expect(stages).toHaveLength(1);
    // compare: auto (the default) keeps the checksum state: written last.
    // twoPhase (the default): 7 files staged, then switched into place; the deleted one moved aside.
    expect(r.results.map((x) => [x.server, x.done])).toEqual([['demo', { mkdir: 1, upload: 7, switch: 7, delete: 1, 'write-state': 1 }]]);
    expect(r.results[0]!.switched).toMatchObject({ files: 7 });
    expect(readFileSync(join(base, 'root/www/page-3.html'), 'utf8')).toBe('<p>3</p>');
    expect(readFileSync(join(base, 'root/www/css/site.css'), 'utf8')).toBe('body{}');
    expect(existsSync(join(base, 'root/www/old.html'))).toBe(false);
    expect(existsSync(join(base, 'root/www', LOCK_NAME))).toBe(false);
  });

  it('applies a saved plan with nothing to do', { timeout: 60_000 }, async () => {
    const planFile = await savePlan('nothing.plan.json');
    const r = await applyManifest({ manifest, manifestDigest: digest, planFile, reporter });
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(r.results.map((x) => [x.server, x.done])).toEqual([['demo', {}]]);
  });

  it('refuses a saved plan made stale by a local change, and gives its lock back', { timeout: 60_000 }, async () => {
    const planFile = await savePlan('stale.plan.json');
    writeFileSync(join(base, 'site/page-0.html'), '<p>changed</p>');
    await expect(applyManifest({ manifest, manifestDigest: digest, planFile, reporter })).rejects.toMatchObject({
      code: 'E_PLAN_STALE',
      message: expect.stringContaining('local files of demo/site changed'),
    });
    expect(existsSync(join(base, 'root/www', LOCK_NAME))).toBe(false);
    expect(readFileSync(join(base, 'root/www/page-0.html'), 'utf8')).toBe('<p>0</p>');
  });

  it('names an unknown --server the way the CLI does', async () => {
    await expect(applyManifest({ manifest, manifestDigest: digest, servers: ['nope'], reporter })).rejects.toMatchObject({
      code: 'E_USAGE',
      message: `--server nope: no such server in ${manifest.file}`,
    });
  });
});
