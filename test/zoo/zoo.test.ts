/**
 * The server zoo, end to end: for every row of cases.ts, the built CLI runs `plan` and `apply`
 * (200 small files, upload or download) against the project's own test server started on
 * loopback with that row's quirk profile or fault. Each row asserts its outcome (completed with
 * the fallback and trees byte-equal, or exit 1 with the expected message), that no partial file
 * is ever in place, and that once the fault clears the next apply sends only what had not landed.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTrees, generateTree, hashTree } from '../../lab/fixtures.js';
import { TEMP_PREFIX } from '../../src/core/names.js';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import { LOCK_NAME } from '../../src/run/remote-lock.js';
import type { QuirkOptions } from '../../src/demo/quirks.js';
import { ensureBuilt, runCliAsync, type CliRun } from '../cli/helpers.js';
import { ZOO, type ZooCase } from './cases.js';

const FILES = 200;
const PASSWORD = 'zoo-pw';
/** Every CLI run is killed after this long: a hang fails the row instead of the suite. */
const RUN_LIMIT_MS = 25_000;
const ours = (rel: string) => rel.startsWith('.ftpsync');

let work: string;
beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'ftpsync-zoo-'));
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Row {
  dir: string;
  local: string;
  remote: string;
  manifest: string;
  /** The files the source side has (relative paths, sorted). */
  files: string[];
  /** Content a target file may have without being a partial one: the source's, or what was there before. */
  good: Map<string, Set<string>>;
}

function setUp(c: ZooCase, index: number, port: number): Row {
  const dir = join(work, c.id);
  const local = join(dir, 'local');
  const serverRoot = join(dir, 'server');
  const remote = join(serverRoot, 'www');
  mkdirSync(local, { recursive: true });
  mkdirSync(remote, { recursive: true });
  const [source, target] = c.direction === 'upload' ? [local, remote] : [remote, local];
  const files = generateTree(source, { seed: 100 + index, files: FILES, dirs: 12, depth: 3, maxSmall: 600 });
  // The target has an older copy of some files (so files are replaced, not only created): the
  // first 20 unchanged, the next 20 stale.
  for (const [i, rel] of files.slice(0, 40).entries()) {
    mkdirSync(join(target, rel, '..'), { recursive: true });
    cpSync(join(source, rel), join(target, rel));
    if (i >= 20) writeFileSync(join(target, rel), `stale ${rel}\n`);
  }
  const good = new Map<string, Set<string>>();
  for (const [rel, h] of hashTree(source)) good.set(rel, new Set([h]));
  for (const [rel, h] of hashTree(target)) good.get(rel)?.add(h);
  const settings = { listing: 'auto', parallel: 2, ...c.settings };
  const manifest = join(dir, 'ftpsync.yml');
  writeFileSync(
    manifest,
    [
      'version: 1',
      'servers:',
      '  zoo:',
      '    host: 127.0.0.1',
      `    port: ${port}`,
      '    user: demo',
      '    password: ${ZOO_PASSWORD}',
      '    tls: none',
      `    listing: ${settings.listing}`,
      '    timeouts: { connect: 5s, data: 3s }',
      `    firewall: { maxConnections: 5000, timeWait: 1s, headroom: 1, parallel: ${settings.parallel}, maxSessions: 4, confirmed: true }`,
      'syncs:',
      // The zoo's rows describe one-phase uploads (each file renamed into place as it lands: the
      // rename-over fallback, the state kept per file); two-phase deploys never rename onto a file.
      `  - { name: site, server: zoo, direction: ${c.direction}, local: ./local, remote: /www${c.compare ? `, compare: ${c.compare}` : ''}${c.direction === 'upload' ? ', twoPhase: false' : ''} }`,
      '',
    ].join('\n'),
  );
  return { dir, local, remote, manifest, files, good };
}

/** The test server on loopback: control port `port` (0: any free one), its own passive range below the ephemeral ports. */
async function startServer(index: number, root: string, quirks: QuirkOptions, port = 0): Promise<{ server: DemoFtpServer; commands: string[]; port: number }> {
  const commands: string[] = [];
  const base = 23_000 + index * 100;
  const server = new DemoFtpServer({
    port,
    user: 'demo',
    password: PASSWORD,
    root,
    passivePorts: [base, base + 99],
    dataTimeoutMs: 5_000,
    quirks,
    log: (line) => commands.push(line.slice(line.indexOf(' ') + 1)),
  });
  return { server, commands, port: await server.listen() };
}

function cli(cmd: 'plan' | 'apply', row: Row, c: ZooCase): Promise<CliRun> {
  return runCliAsync([cmd, '-c', row.manifest], {
    cwd: row.dir,
    env: { ZOO_PASSWORD: c.wrongPassword ? 'not-the-password' : PASSWORD },
    timeoutMs: RUN_LIMIT_MS,
  });
}

/** Files transferred, from the server's command log: uploads land by RNTO onto their name, downloads are RETRs. */
function transferred(c: ZooCase, commands: string[]): string[] {
  const verb = c.direction === 'upload' ? 'RNTO ' : 'RETR ';
  return commands
    .filter((l) => l.startsWith(verb))
    .map((l) => l.slice(verb.length).replace(/^\/www\//, ''))
    .filter((p) => !p.split('/').some((part) => part.startsWith('.ftpsync')));
}

/** No temporary name left, and every target file is either the source's or the one there before: never a partial one. */
function expectNoPartialFile(row: Row, target: string): void {
  const left: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith(TEMP_PREFIX)) left.push(join(d, e.name));
      if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(target);
  expect(left, 'temporary files left behind').toEqual([]);
  for (const [rel, h] of hashTree(target)) {
    if (h === 'dir' || ours(rel)) continue;
    expect(row.good.get(rel)?.has(h), `${rel} is neither the source's file nor the one there before`).toBe(true);
  }
}

/** After a run that succeeded: the remote lock given back, the journal and any pending state cleared. */
function expectCleanEnd(row: Row): void {
  expect(existsSync(join(row.remote, LOCK_NAME)), 'remote lock left').toBe(false);
  const local = existsSync(join(row.dir, '.ftpsync')) ? readdirSync(join(row.dir, '.ftpsync')) : [];
  expect(local.filter((n) => n.startsWith('journal-') || n.startsWith('state-pending-'))).toEqual([]);
}

const differing = (row: Row, c: ZooCase) => {
  const d = c.direction === 'upload' ? compareTrees(row.local, row.remote, ours) : compareTrees(row.remote, row.local, ours);
  return [...d.missing, ...d.different].filter((p) => row.files.includes(p)).sort();
};

function expectEqualTrees(row: Row, c: ZooCase): void {
  const d = c.direction === 'upload' ? compareTrees(row.local, row.remote, ours) : compareTrees(row.remote, row.local, ours);
  expect({ missing: d.missing, different: d.different }).toEqual({ missing: [], different: [] });
}

describe('the server zoo: plan and apply against each profile and fault', () => {
  ZOO.forEach((c, index) => {
    it.concurrent(`${c.id}: ${c.behaviour} → ${c.outcome.kind === 'completes' ? 'completes' : `exit 1 at ${c.outcome.at}`}`, { timeout: 90_000 }, async () => {
      const root = join(work, c.id, 'server');
      mkdirSync(join(root, 'www'), { recursive: true });
      const first = await startServer(index, root, c.quirks);
      const port = first.port;
      let { server, commands } = first;
      const row = setUp(c, index, port);
      const target = c.direction === 'upload' ? row.remote : row.local;
      try {
        const started = performance.now();
        const plan = await cli('plan', row, c);
        const planOut = plan.stdout + plan.stderr;
        if (c.outcome.kind === 'fails' && c.outcome.at === 'plan') {
          expect(plan.code, planOut).toBe(1);
          expect(planOut).toMatch(c.outcome.message);
          expect(performance.now() - started, 'fails fast').toBeLessThan(10_000);
          if (c.wrongPassword) expect(server.stats.failedLogins, 'one login tried, no retry').toBe(1);
          const apply = await cli('apply', row, c);
          expect(apply.code, apply.stdout + apply.stderr).toBe(1);
          expect(apply.stdout + apply.stderr).toMatch(c.outcome.message);
          if (c.wrongPassword) expect(server.stats.failedLogins, 'apply: one login tried, no retry').toBe(2);
          expect(transferred(c, commands), 'nothing transferred').toEqual([]);
          expectNoPartialFile(row, target);
          return;
        }
        expect(plan.code, planOut).toBe(0);
        const apply = await cli('apply', row, c);
        const firstRun = [...commands];
        const out = planOut + apply.stdout + apply.stderr;
        if (c.outcome.kind === 'completes') {
          expect(apply.code, out).toBe(0);
          for (const says of c.outcome.says ?? []) expect(out).toMatch(says);
          expectEqualTrees(row, c);
          expectNoPartialFile(row, target);
        } else {
          expect(apply.code, out).toBe(1);
          expect(out).toMatch(c.outcome.message);
          if (process.env.ZOO_SHOW) console.log(out);
          expectNoPartialFile(row, target);
          // The fault clears (the host fixed it; a restarted server without it, same files).
          await server.close();
          ({ server, commands } = await startServer(index, root, {}, port));
        }
        // Apply again: only what had not landed is sent; a finished file never again.
        const notLanded = new Set(differing(row, c));
        const landed = new Set(transferred(c, firstRun).filter((p) => !notLanded.has(p)));
        const before = commands.length;
        const again = await cli('apply', row, c);
        expect(again.code, again.stdout + again.stderr).toBe(0);
        if (c.outcome.kind === 'fails' && c.outcome.afterFix) expect(again.stdout).toMatch(c.outcome.afterFix);
        expectEqualTrees(row, c);
        expectNoPartialFile(row, target);
        expectCleanEnd(row);
        const sentAgain = transferred(c, commands.slice(before));
        expect(
          sentAgain.filter((p) => landed.has(p)),
          'finished files sent again',
        ).toEqual([]);
        if (c.outcome.kind === 'completes') expect(sentAgain, 'a second apply after a complete one').toEqual([]);
        else expect(landed.size, 'some files landed before the fault stopped the run').toBeGreaterThan(0);
      } finally {
        await server.close();
      }
    });
  });
});

describe('the zoo table', () => {
  it('has a row per profile and fault the test server offers', () => {
    const profiles = new Set(ZOO.map((c) => c.quirks.profile).filter(Boolean));
    expect([...profiles].sort()).toEqual(['filezilla', 'iis', 'no-mfmt', 'stat-broken']);
    const faults = new Set(ZOO.flatMap((c) => Object.keys(c.quirks.faults ?? {})));
    expect([...faults].sort()).toEqual(['deniedDir', 'maxLoggedIn', 'quotaBytes', 'restartAtTransfer', 'stallAtTransfer']);
    expect(ZOO.some((c) => c.wrongPassword)).toBe(true);
  });
});
