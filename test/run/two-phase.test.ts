/**
 * Two-phase uploads and rollback end to end against the demo FTP server on loopback: a deploy
 * stages, switches and keeps the previous release; rollback puts that release back byte for
 * byte by renames only; a staged file an interrupted apply left complete is switched without
 * being stored again, a partial one is stored again; keepReleases 0 keeps nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTempName, RELEASES_DIR, stagedNameFor, stagingToken } from '../../src/core/names.js';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import { loadManifest } from '../../src/manifest/load.js';
import type { Manifest } from '../../src/manifest/types.js';
import { applyManifest } from '../../src/run/apply.js';
import { makeReporter } from '../../src/run/progress.js';
import { LOCK_NAME } from '../../src/run/remote-lock.js';
import { rollbackManifest } from '../../src/run/rollback.js';

let base: string;
let server: DemoFtpServer;
let port: number;
const lines: string[] = [];
const reporter = makeReporter({ json: false, line: (l) => lines.push(l) });

/** Every file under dir (relative path → sha256), ftpsync's own lock and releases left out. */
function tree(dir: string, skipReleases = true): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      const rel = relative(dir, full).split('\\').join('/');
      if (rel === LOCK_NAME || (skipReleases && rel === RELEASES_DIR)) continue;
      if (statSync(full).isDirectory()) walk(full);
      else out[rel] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

function manifestFor(keepReleases = 1, compare = 'auto'): { manifest: Manifest; digest: string } {
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
      '    password: ${TP_TEST_PASSWORD}',
      '    tls: none',
      '    firewall: { maxConnections: 10, headroom: 0.8, timeWait: 60s, parallel: 3 }',
      'syncs:',
      `  - { name: site, server: demo, direction: upload, local: ./site, remote: /www, delete: true, last: [index.html], keepReleases: ${keepReleases}, compare: ${compare} }`,
      '',
    ].join('\n'),
  );
  const loaded = loadManifest(file, { requireEnv: true, env: { TP_TEST_PASSWORD: 'tp-test' } });
  return { manifest: loaded.manifest!, digest: loaded.digest! };
}

function writeSite(files: Record<string, string>): void {
  rmSync(join(base, 'site'), { recursive: true, force: true });
  for (const [p, body] of Object.entries(files)) {
    mkdirSync(join(base, 'site', p, '..'), { recursive: true });
    writeFileSync(join(base, 'site', p), body);
  }
}

const v1 = { 'index.html': '<p>v1</p>', 'app.1.js': 'one', 'css/site.css': 'body{}', 'old/gone.txt': 'bye' };
const v2 = { 'index.html': '<p>v2</p>', 'app.2.js': 'two', 'css/site.css': 'body{color:red}', 'img/new/logo.svg': '<svg/>' };
const www = () => join(base, 'root/www');

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'ftpsync-two-phase-'));
  mkdirSync(join(base, 'root/www'), { recursive: true });
  server = new DemoFtpServer({ port: 0, user: 'demo', password: 'tp-test', root: join(base, 'root'), passivePorts: [31350, 31369] });
  port = await server.listen();
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('two-phase uploads and rollback (demo server)', () => {
  it('deploys v1, then v2 with the v1 files kept aside; rollback puts v1 back byte for byte with no data connection', { timeout: 60_000 }, async () => {
    writeSite(v1);
    const { manifest, digest } = manifestFor();
    const first = await applyManifest({ manifest, manifestDigest: digest, reporter });
    expect(first.ok, JSON.stringify(first.results)).toBe(true);
    const afterV1 = tree(www());
    expect(Object.keys(afterV1).sort()).toEqual([...Object.keys(v1), '.ftpsync-state.json'].sort());

    writeSite(v2);
    const second = await applyManifest({ manifest, manifestDigest: digest, reporter });
    expect(second.ok, JSON.stringify(second.results)).toBe(true);
    const r = second.results[0]!;
    expect(r.done).toMatchObject({ upload: 4, switch: 4, delete: 2 });
    expect(r.switched?.files).toBe(4);
    expect(r.switched?.windowMs).toBeGreaterThan(0);
    // The live tree is v2; no staged or temporary file is left.
    const live = tree(www());
    for (const [p, body] of Object.entries(v2)) expect(readFileSync(join(www(), p), 'utf8')).toBe(body);
    expect(Object.keys(live).filter((p) => isTempName(p.split('/').pop()!))).toEqual([]);
    expect(existsSync(join(www(), 'app.1.js'))).toBe(false);
    // The release holds exactly what v2 replaced or deleted, and the v1 state file.
    const releases = readdirSync(join(www(), RELEASES_DIR));
    expect(releases).toHaveLength(1);
    expect(releases[0]).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]{4}$/);
    const kept = tree(join(www(), RELEASES_DIR, releases[0]!));
    expect(Object.keys(kept).sort()).toEqual(['.ftpsync-state.json', 'app.1.js', 'css/site.css', 'index.html', 'old/gone.txt']);
    expect(kept['index.html']).toBe(afterV1['index.html']);

    const rolled = await rollbackManifest({ manifest, reporter });
    expect(rolled).toHaveLength(1);
    expect(rolled[0]!.ok, rolled[0]!.error).toBe(true);
    expect(rolled[0]!.syncs[0]).toMatchObject({ release: releases[0], restored: 5 });
    // Renames only: the demo server lists over STAT, so not one data connection.
    expect(rolled[0]!.connections.data).toBe(0);
    expect(tree(www())).toEqual(afterV1);
    expect(existsSync(join(www(), 'img'))).toBe(false);
    expect(readdirSync(join(www(), RELEASES_DIR))).toEqual([]);

    // The state file came back with v1: planning v2 again sees v1 on the server and nothing to re-check.
    const again = await applyManifest({ manifest, manifestDigest: digest, reporter });
    expect(again.results[0]!.done).toMatchObject({ upload: 4, switch: 4 });
    expect(tree(www())).toEqual(live);
  });

  it('switches a staged file an interrupted apply left complete without storing it again; stores a partial one again', { timeout: 60_000 }, async () => {
    const v3 = { ...v2, 'index.html': '<p>v3</p>', 'app.3.js': 'three-three' };
    writeSite(v3);
    const { manifest, digest } = manifestFor();
    const loaded = loadManifest(manifest.file, { requireEnv: true, env: { TP_TEST_PASSWORD: 'tp-test' } });
    expect(loaded.manifest).not.toBeNull();
    // What an apply killed during its staging leaves: app.3.js complete, index.html cut short.
    const hash = (s: string) => createHash('sha256').update(s).digest('hex');
    const staged = (p: string, body: string) => stagedNameFor(p, stagingToken({ size: Buffer.byteLength(body), sha256: hash(body) }));
    writeFileSync(join(www(), staged('app.3.js', v3['app.3.js'])), v3['app.3.js']);
    writeFileSync(join(www(), staged('index.html', v3['index.html'])), '<p>v');
    writeFileSync(join(www(), '.ftpsync-tmp-0badc0de-other.txt'), 'partial');
    const r = await applyManifest({ manifest, manifestDigest: digest, reporter });
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    // index.html staged again (its staged copy was short), app.3.js only switched; both temps removed.
    expect(r.results[0]!.done).toMatchObject({ upload: 1, switch: 2 });
    for (const [p, body] of Object.entries(v3)) expect(readFileSync(join(www(), p), 'utf8')).toBe(body);
    expect(Object.keys(tree(www())).filter((p) => isTempName(p.split('/').pop()!))).toEqual([]);
  });

  it('keepReleases 0: the replaced files are deleted after the switch, and rollback has nothing to restore', { timeout: 60_000 }, async () => {
    writeSite({ ...v1, 'index.html': '<p>v4</p>' });
    const { manifest, digest } = manifestFor(0);
    const r = await applyManifest({ manifest, manifestDigest: digest, reporter });
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(r.results[0]!.switched?.releases).toEqual([]);
    expect(existsSync(join(www(), RELEASES_DIR))).toBe(false);
    const rolled = await rollbackManifest({ manifest, reporter });
    expect(rolled[0]!.syncs[0]!.release).toBeNull();
  });
});
