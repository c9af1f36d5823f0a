import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { LocalEntry, RemoteEntry } from '../../src/core/tree.js';
import { makeSecret } from '../../src/manifest/secret.js';
import type { ServerConfig, SyncConfig } from '../../src/manifest/types.js';
import { planServer } from '../../src/plan/build.js';
import { formatJson, formatMarkdown, formatText } from '../../src/plan/format.js';
import { PLAN_FORMAT_VERSION, type Plan } from '../../src/plan/types.js';

const T = Date.UTC(2026, 0, 10, 12, 0, 0);
const server: ServerConfig = {
  name: 'prod',
  host: 'ftp.example.com',
  port: 21,
  user: 'deploy',
  password: makeSecret('s3cret-value', 'env FTP_PASSWORD'),
  tls: 'explicit',
  verifyCertificate: true,
  mode: 'passive',
  timeouts: { connectMs: 15_000, dataMs: 30_000 },
  dataClose: 'normal',
  listing: 'auto',
  firewall: { maxConnections: 10, timeWaitMs: 60_000, headroom: 0.8, parallel: 2, maxSessions: 4, onBlock: { policy: 'stop', maxWaitMs: 60_000 } },
};
const sync: SyncConfig = {
  name: 'site',
  servers: ['prod'],
  direction: 'upload',
  localPath: '/srv/site',
  remotePath: '/www',
  delete: true,
  exclude: [],
  include: [],
  compare: 'size-mtime',
  last: ['index.html'],
  protect: [],
  twoPhase: false,
  keepReleases: 1,
};
const backup: SyncConfig = { ...sync, name: 'logs', direction: 'download', localPath: '/srv/logs', remotePath: '/logs', delete: false, last: [] };

/** A fixed fixture: 12 new pages, a changed stylesheet, a deleted file, 10 logs to download. */
function fixturePlan(): Plan {
  const local = new Map<string, LocalEntry>([
    ['index.html', { type: 'file', size: 900, mtimeMs: T }],
    ['css', { type: 'dir', size: 0, mtimeMs: T }],
    ['css/site.css', { type: 'file', size: 2048, mtimeMs: T + 3_600_000 }],
  ]);
  for (let i = 0; i < 12; i++) local.set(`page-${i}.html`, { type: 'file', size: 1000 + i, mtimeMs: T });
  const remote = new Map<string, RemoteEntry>([
    ['css', { name: 'css', type: 'dir', size: 0 }],
    ['css/site.css', { name: 'site.css', type: 'file', size: 2000, mtimeMs: T, mtimePrecisionMs: 60_000 }],
    ['old.html', { name: 'old.html', type: 'file', size: 5, mtimeMs: T, mtimePrecisionMs: 60_000 }],
  ]);
  const logs = new Map<string, RemoteEntry>();
  for (let i = 0; i < 10; i++)
    logs.set(`access-${i}.log`, { name: `access-${i}.log`, type: 'file', size: 100 * (i + 1), mtimeMs: T, mtimePrecisionMs: 60_000 });
  const sp = planServer(
    server,
    [sync, backup],
    [
      { local, remote, listingStrategy: 'stat', listingDataConnections: 0, rttMs: 30, readMs: 120 },
      { local: new Map(), remote: logs, listingStrategy: 'stat', listingDataConnections: 0, rttMs: null, readMs: null },
    ],
  );
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    createdAt: '2026-01-10T12:00:00.000Z',
    tool: { name: 'ftpsync', version: '0.0.0-test' },
    manifestFile: '/srv/ftpsync.yml',
    allowDelete: false,
    fingerprint: { manifest: 'a'.repeat(64), local: { 'prod/site': 'b'.repeat(64) }, remote: { 'prod/site': 'c'.repeat(64) } },
    rollout: { stages: [{ name: 'all', servers: ['prod'] }], haltOnFailure: true },
    servers: [sp],
  };
}

describe('plan formats on a fixed fixture', () => {
  const plan = fixturePlan();
  it('text', async () => {
    await expect(formatText(plan, { maxFiles: 8 })).toMatchFileSnapshot('./__snapshots__/plan.txt');
  });
  it('markdown', async () => {
    await expect(formatMarkdown(plan, { maxFiles: 10 })).toMatchFileSnapshot('./__snapshots__/plan.md');
  });
  it('json', async () => {
    await expect(formatJson(plan)).toMatchFileSnapshot('./__snapshots__/plan.json');
  });
  it('the schedule keeps the budget: downloads paced with a TIME_WAIT pause', () => {
    const s = plan.servers[0]!;
    expect(s.budget).toBe(6);
    expect(s.phases.some((p) => p.pauseAfterMs >= 50_000)).toBe(true);
    expect(s.etaMs).toBeLessThanOrEqual(s.boundMs);
  });
  it('no secret in any format', () => {
    for (const text of [formatText(plan), formatMarkdown(plan), formatJson(plan)]) expect(text).not.toContain('s3cret-value');
  });
  it('the JSON validates against schemas/plan.schema.json', () => {
    const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'plan.schema.json'), 'utf8'));
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
    const ok = validate(JSON.parse(formatJson(plan)));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });
  it('deletions come first and a plan deleting more than half of a target is marked', () => {
    const remote = new Map<string, RemoteEntry>();
    for (let i = 0; i < 12; i++) remote.set(`p${i}.html`, { name: `p${i}.html`, type: 'file', size: 1, mtimeMs: T, mtimePrecisionMs: 60_000 });
    const local = new Map<string, LocalEntry>([
      ['p0.html', { type: 'file', size: 1, mtimeMs: T }],
      ['new.html', { type: 'file', size: 1, mtimeMs: T }],
    ]);
    const sp = planServer(
      server,
      [{ ...sync, protect: ['p1.html'] }],
      [{ local, remote, listingStrategy: 'stat', listingDataConnections: 0, rttMs: 30, readMs: 0 }],
    );
    const wipe: Plan = { ...plan, servers: [sp] };
    const text = formatText(wipe, { maxFiles: 3 });
    expect(text).toContain(
      'compare size-mtime): !! 10 deletion(s) of 11 target file(s), 91 %: more than half of the target; 1 upload, 1 unchanged, 1 protected;',
    );
    expect(text).toMatch(/round trip 30 ms\)\n {4}- delete p10\.html\n {4}- delete p11\.html\n {4}- delete p2\.html\n/);
    expect(text).toContain('Deletions: 10 file(s)');
    const md = formatMarkdown(wipe).split('\n');
    expect(md.slice(2, 6)).toEqual(['', '**10 file deletion(s):**', '', '- ⚠️ **more than half of the target:** prod / site: 10 of 11 target file(s), 91 %']);
    expect(formatMarkdown(plan)).toContain('- prod / site: 1 of 2 target file(s), 50 %');
  });
  it('the markdown has a summary table and the file list collapsed, truncated with a count', () => {
    const md = formatMarkdown(plan, { maxFiles: 10 });
    expect(md).toMatch(/^\| server \| changes \|/m);
    expect(md).toContain('<details><summary>');
    expect(md).toMatch(/# … and \d+ more/);
  });
});
