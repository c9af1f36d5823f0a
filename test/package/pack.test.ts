/**
 * The npm package as a user gets it: `npm pack`, install the tarball (npm name ftpsync-paced,
 * command ftpsync) into an empty directory, run `npx --no-install ftpsync`. Dependencies come from npm's local cache (`--offline`), filled by the
 * `npm ci` that set up this checkout: tests never reach the registry (and the suite runs inside
 * the lab's client namespace, which has no route to it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const { name: pkgName, version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
const npx = (args: string[], cwd: string) => npm(['--no-install', ...args], cwd, 'npx');

// Asynchronous so a slow npm never blocks vitest's worker (its RPC times out after 60 s).
function npm(args: string[], cwd: string, bin = 'npm'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd, env: { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false', FTP_PASSWORD: 'x' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * An app that depends on the packed tarball, with a lockfile pinning the same dependency tree as
 * ours. `npm ci --offline` then needs only the tarballs our own `npm ci` cached; a plain
 * `npm install` would also need registry metadata that `npm ci` never fetches.
 */
function writeAppWithLock(app: string, tarball: string): void {
  const ours = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const ourLock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  const runtime = Object.entries(ourLock.packages).filter(([path, entry]) => path !== '' && !entry.dev && !entry.devOptional);
  const deps = { [pkgName]: `file:${tarball}` };
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'empty-app', private: true, dependencies: deps }));
  const lock = {
    name: 'empty-app',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'empty-app', dependencies: deps },
      [`node_modules/${pkgName}`]: { version, resolved: `file:${tarball}`, dependencies: ours.dependencies, bin: { ftpsync: 'dist/cli/main.js' } },
      ...Object.fromEntries(runtime),
    },
  };
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lock, null, 2));
}

beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'ftpsync-pack-'));
  const r = await npm(['pack', '--json', '--pack-destination', work], REPO);
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
    const offenders = paths.filter(
      (p) => p.startsWith('src/') || p.startsWith('test/') || /\.test\.[jt]s$/.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')),
    );
    expect(offenders).toEqual([]);
    expect(paths.filter((p) => /(^|\/)(\.env|\.ftpsync|node_modules)(\/|$)/.test(p))).toEqual([]);
  });

  it('is not named ftpsync, a different project on the npm registry', () => {
    expect(pkgName).toBe('ftpsync-paced');
    expect(pack.filename).toBe(`${pkgName}-${version}.tgz`);
  });

  it('installs into an empty directory, where `npx --no-install ftpsync` --version, --help, init and validate work', async () => {
    const app = join(work, 'app');
    mkdirSync(app);
    writeAppWithLock(app, `../${pack.filename}`);
    const inst = await npm(['ci', '--offline', '--no-audit', '--no-fund', '--omit=dev'], app);
    expect(inst.code, inst.stderr).toBe(0);

    const v = await npx(['ftpsync', '--version'], app);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(`ftpsync ${version} (npm package ${pkgName}, Node ${process.version})`);

    const help = await npx(['ftpsync', '--help'], app);
    expect(help.code, help.stderr).toBe(0);
    for (const cmd of ['validate', 'plan', 'apply', 'init']) expect(help.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));

    const init = await npx(['ftpsync', 'init'], app);
    expect(init.code, init.stderr).toBe(0);
    mkdirSync(join(app, 'public'));
    const valid = await npx(['ftpsync', 'validate'], app);
    expect(valid.code, valid.stdout + valid.stderr).toBe(0);
    expect(valid.stdout).toContain('ftpsync.yml: valid (1 server(s), 1 sync(s)');

    // Editors follow the starter's $schema path, and its reference link, into the installed package.
    const manifest = readFileSync(join(app, 'ftpsync.yml'), 'utf8');
    const schemaRef = /\$schema=(\S+)/.exec(manifest)?.[1];
    expect(schemaRef).toBe(`./node_modules/${pkgName}/schemas/ftpsync.schema.json`);
    const schema = join(app, schemaRef!);
    expect(existsSync(schema)).toBe(true);
    expect((JSON.parse(readFileSync(schema, 'utf8')) as { $schema?: string }).$schema).toMatch(/json-schema/);
    const readmeRef = /Reference: (\S+README\.md)/.exec(manifest)?.[1];
    expect(readmeRef).toBe(`./node_modules/${pkgName}/README.md`);
    expect(readFileSync(join(app, readmeRef!), 'utf8')).toContain('## Manifest reference');
  }, 300_000);
});
