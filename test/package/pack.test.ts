/**
 * The npm package as a user gets it: `npm pack`, install the tarball into an empty directory,
 * run `npx ftpsync`. Needs the npm registry for the package's dependencies.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, ensureBuilt } from '../cli/helpers.js';

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

let work: string;
let pack: PackResult;
const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function npm(args: string[], cwd: string) {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'ftpsync-pack-'));
  const r = npm(['pack', '--json', '--pack-destination', work], REPO);
  expect(r.code, r.stderr).toBe(0);
  pack = (JSON.parse(r.stdout) as PackResult[])[0]!;
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm package', () => {
  it('ships dist, the schema and the README, and no tests or TypeScript sources', () => {
    const paths = pack.files.map((f) => f.path);
    expect(paths).toContain('dist/cli/main.js');
    expect(paths).toContain('dist/demo/main.js');
    expect(paths).toContain('schemas/ftpsync.schema.json');
    expect(paths).toContain('README.md');
    expect(paths).toContain('package.json');
    const offenders = paths.filter((p) => p.startsWith('src/') || p.startsWith('test/') || /\.test\.[jt]s$/.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')));
    expect(offenders).toEqual([]);
    expect(paths.filter((p) => /(^|\/)(\.env|\.ftpsync|node_modules)(\/|$)/.test(p))).toEqual([]);
  });

  it('installs into an empty directory, where `npx ftpsync --version` and `--help` work', () => {
    const app = join(work, 'app');
    spawnSync('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'empty-app', private: true }));
    const inst = npm(['install', '--no-audit', '--no-fund', '--omit=dev', join(work, pack.filename)], app);
    expect(inst.code, inst.stderr).toBe(0);

    const v = npm(['exec', '--no', '--', 'ftpsync', '--version'], app);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(version);

    const help = npm(['exec', '--no', '--', 'ftpsync', '--help'], app);
    expect(help.code, help.stderr).toBe(0);
    for (const cmd of ['validate', 'plan', 'apply', 'init']) expect(help.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));

    // Editors point at the schema inside the installed package.
    const schema = join(app, 'node_modules/ftpsync/schemas/ftpsync.schema.json');
    expect(existsSync(schema)).toBe(true);
    expect((JSON.parse(readFileSync(schema, 'utf8')) as { $schema?: string }).$schema).toMatch(/json-schema/);
  }, 300_000);
});
