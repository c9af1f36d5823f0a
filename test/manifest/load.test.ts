import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifest, type RawManifest, type RawServer, type RawSync } from '../../src/manifest/load.js';
import { BAD_CASES, GOOD_SERVER, GOOD_SYNC } from './cases.js';

const dir = mkdtempSync(join(tmpdir(), 'ftpsync-manifest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { FTP_PASSWORD: 'pw-from-env', X: 'x' };

function load(yaml: string | Buffer, name = 'ftpsync.yml', opts: { requireEnv?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return { file, ...loadManifest(file, { env, ...opts }) };
}

describe('bad manifests: position and message of the first error', () => {
  it.each(BAD_CASES)('$name', (c) => {
    const r = load(c.yaml);
    const first = r.findings.find((f) => f.severity === 'error');
    expect(r.manifest).toBeNull();
    expect(first).toBeDefined();
    expect({ line: first!.line, col: first!.col, message: first!.message }).toEqual({ line: c.line, col: c.col, message: c.message.replace('{DIR}', dir) });
    expect(first!.file).toBe(r.file);
  });
  it('holds at least 30 cases', () => expect(BAD_CASES.length).toBeGreaterThanOrEqual(30));
});

describe('every problem at once', () => {
  it('reports several schema errors in one run', () => {
    const r = load(`version: 1\n${GOOD_SERVER}    tls: tsl\n    mode: pasv\n${GOOD_SYNC}    compare: md5\n`);
    expect(r.findings.filter((f) => f.severity === 'error').map((f) => f.line)).toEqual([7, 8, 15]);
  });
});

describe('files that are not manifests: one clear line each', () => {
  it('a missing file', () => {
    const r = loadManifest(join(dir, 'nope.yml'));
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]!.message).toMatch(/^no such file; run `ftpsync init`/);
  });
  it('an empty file', () => {
    expect(load('', 'empty.yml').findings.map((f) => f.message)).toEqual([
      'is empty; a manifest needs at least version, servers and syncs (see `ftpsync init`)',
    ]);
    expect(load('# just a comment\n\n', 'comments.yml').findings).toHaveLength(1);
  });
  it('a binary file', () => {
    const r = load(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]), 'binary.yml');
    expect(r.findings.map((f) => f.message)).toEqual(['is a binary file, not YAML (it contains NUL bytes)']);
  });
  it('a 50 MB file is refused before parsing', () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 0x61);
    const r = load(big, 'big.yml');
    expect(r.findings.map((f) => f.message)).toEqual(['is 50.0 MB; a manifest must be under 1 MB (is this the right file?)']);
  });
  it('an alias bomb', () => {
    const bomb = [
      'version: 1',
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    ].join('\n');
    const r = load(bomb, 'bomb.yml');
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]!.message).toMatch(/too many alias expansions .* alias bomb/);
  });
});

describe('good manifests', () => {
  const examples = join(__dirname, '..', '..', 'examples');
  const files = readdirSync(examples).filter((f) => f.endsWith('.yml'));
  it.each(files)('examples/%s validates', (f) => {
    const r = loadManifest(join(examples, f), { env: {} });
    expect(r.findings.filter((x) => x.severity === 'error')).toEqual([]);
    expect(r.manifest).not.toBeNull();
  });
  it('the top-level ftpsync.yml validates', () => {
    const r = loadManifest(join(__dirname, '..', '..', 'ftpsync.yml'), { env: { FTPSYNC_DEMO_PASSWORD: 'x' } });
    expect(r.findings).toEqual([]);
    expect(r.manifest?.syncs.map((s) => s.name)).toEqual(['site', 'logs']);
  });

  it('normalizes with safe defaults', () => {
    const r = load(`version: 1\n${GOOD_SERVER}${GOOD_SYNC}`);
    const s = r.manifest!.servers.web!;
    expect(s).toMatchObject({ port: 21, tls: 'explicit', verifyCertificate: true, mode: 'passive', dataClose: 'auto', listing: 'auto' });
    expect(s.firewall).toEqual({
      maxConnections: 100,
      timeWaitMs: 240_000,
      headroom: 0.8,
      parallel: 2,
      parallelAuto: true,
      maxSessions: 4,
      confirmed: false,
      sampleIntervalMs: 30_000,
      onBlock: { policy: 'stop', maxWaitMs: 35 * 60_000 },
    });
    expect(s.password?.reveal()).toBe('pw-from-env');
    expect(r.manifest!.syncs[0]).toMatchObject({ servers: ['web'], remotePath: '/www', delete: false, compare: 'auto', localPath: dir });
    expect(r.manifest!.rollout).toEqual({ stages: [{ name: 'all', servers: ['web'] }], haltOnFailure: true });
  });

  it('maxDelete is a count or a percentage; protect defaults to none', () => {
    const sync = (extra: string) => load(`version: 1\n${GOOD_SERVER}${GOOD_SYNC}${extra}`).manifest!.syncs[0]!;
    expect(sync('')).toMatchObject({ protect: [] });
    expect(sync('').maxDelete).toBeUndefined();
    expect(sync('    maxDelete: 20\n').maxDelete).toEqual({ count: 20 });
    expect(sync('    maxDelete: " 25 %"\n').maxDelete).toEqual({ percent: 25 });
    expect(sync('    maxDelete: 100%\n    protect: [".well-known/**"]\n')).toMatchObject({ maxDelete: { percent: 100 }, protect: ['.well-known/**'] });
  });

  it('implicit TLS defaults to port 990; durations parse', () => {
    const r = load(`version: 1\n${GOOD_SERVER}    tls: implicit\n    timeouts: { connect: 1500ms, data: 2m }\n    firewall: { timeWait: 4m }\n${GOOD_SYNC}`);
    const s = r.manifest!.servers.web!;
    expect(s.port).toBe(990);
    expect(s.timeouts).toEqual({ connectMs: 1500, dataMs: 120_000 });
    expect(s.firewall.timeWaitMs).toBe(240_000);
  });
});

describe('secrets and warnings', () => {
  it('warns about a literal password and never keeps it printable', () => {
    const r = load(`version: 1\n${GOOD_SERVER.replace('${FTP_PASSWORD}', 'hunter2-literal')}${GOOD_SYNC}`);
    expect(r.findings.map((f) => `${f.severity} ${f.line}:${f.col}`)).toEqual(['warning 6:15']);
    expect(r.findings[0]!.message).toMatch(/literal password/);
    expect(JSON.stringify(r)).not.toContain('hunter2-literal');
    expect(String(r.manifest!.servers.web!.password)).toBe('[redacted]');
  });
  it('an unset ${ENV} is a warning for validate and an error where a command needs it', () => {
    const yaml = `version: 1\n${GOOD_SERVER}${GOOD_SYNC}`;
    expect(load(yaml, 'e.yml', { env: {} }).findings.map((f) => f.severity)).toEqual(['warning']);
    const strict = load(yaml, 'e.yml', { env: {}, requireEnv: true });
    expect(strict.manifest).toBeNull();
    expect(strict.findings[0]).toMatchObject({ severity: 'error', line: 6, col: 15 });
    expect(strict.findings[0]!.message).toBe(
      'servers.web.password uses ${FTP_PASSWORD}, which is not set in the environment; set it before running this command',
    );
  });
  it('reads passwordFile relative to the manifest', () => {
    writeFileSync(join(dir, 'pw.txt'), 'from-file\nignored\n');
    const r = load(`version: 1\n${GOOD_SERVER.replace('password: ${FTP_PASSWORD}', 'passwordFile: ./pw.txt')}${GOOD_SYNC}`);
    expect(r.manifest!.servers.web!.password!.reveal()).toBe('from-file');
    expect(r.manifest!.servers.web!.password!.source).toBe('file ./pw.txt');
  });
  it('warns loudly about insecure and about plain FTP to a remote host', () => {
    const r = load(`version: 1\n${GOOD_SERVER}    insecure: true\n    tls: none\n${GOOD_SYNC}`);
    expect(r.findings.map((f) => f.message)).toEqual([
      "web: insecure: true turns off TLS certificate verification; anyone on the path can read your password. Use ca: with your server's certificate instead",
      'web: tls: none sends the password in clear text to ftp.example.com',
    ]);
  });
});

describe('the schema is the single source of the shape', () => {
  const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'ftpsync.schema.json'), 'utf8'));
  // The compiler checks these objects list exactly the keys of the raw types (missing or extra keys
  // fail typecheck); this test checks the schema lists exactly the same keys.
  const serverKeys: Record<keyof RawServer, true> = {
    host: true,
    port: true,
    user: true,
    password: true,
    passwordFile: true,
    tls: true,
    ca: true,
    servername: true,
    insecure: true,
    mode: true,
    active: true,
    timeouts: true,
    dataClose: true,
    listing: true,
    firewall: true,
  };
  const firewallKeys: Record<keyof NonNullable<RawServer['firewall']>, true> = {
    maxConnections: true,
    timeWait: true,
    headroom: true,
    parallel: true,
    maxSessions: true,
    confirmed: true,
    sampleInterval: true,
    onBlock: true,
  };
  const syncKeys: Record<keyof RawSync, true> = {
    name: true,
    server: true,
    servers: true,
    direction: true,
    local: true,
    remote: true,
    delete: true,
    exclude: true,
    include: true,
    compare: true,
    last: true,
    protect: true,
    maxDelete: true,
    twoPhase: true,
    keepReleases: true,
    releasesDir: true,
  };
  const topKeys: Record<keyof RawManifest | '$schema', true> = { $schema: true, version: true, servers: true, syncs: true, rollout: true };
  it.each([
    ['server', schema.$defs.server.properties, serverKeys],
    ['firewall', schema.$defs.firewall.properties, firewallKeys],
    ['sync', schema.$defs.sync.properties, syncKeys],
    ['top level', schema.properties, topKeys],
  ])('%s keys match', (_n, props, keys) => {
    expect(Object.keys(props as object).sort()).toEqual(Object.keys(keys as object).sort());
  });
  it('every property has a description, and defaults are stated', () => {
    const missing: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.properties) {
        for (const [k, v] of Object.entries(n.properties as Record<string, Record<string, unknown>>)) {
          if (!v.description) missing.push(`${path}.${k}`);
          if ('default' in v && !String(v.description).includes('Default')) missing.push(`${path}.${k} (default not in description)`);
          walk(v, `${path}.${k}`);
        }
      }
      for (const k of ['$defs', 'additionalProperties', 'items']) if (n[k] && typeof n[k] === 'object') walk(n[k], `${path}.${k}`);
      if (n.$defs) for (const [k, v] of Object.entries(n.$defs as object)) walk(v, `$defs.${k}`);
    };
    walk(schema, '');
    expect(missing).toEqual([]);
  });
});
