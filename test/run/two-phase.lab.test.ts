/**
 * Two-phase uploads against the lab's servers. On each: a 1,006-file deploy while a reader (its own
 * FTP session) keeps fetching a page and the assets it names: every fetch that ends before the
 * switch sees the old release whole, every fetch that starts after it the new one; then rollback
 * puts the old tree back byte for byte with no data connection. On each too: kill -9 at seeded
 * moments of the staging (the live site never changes), in the switch (rollback undoes the part
 * done; another apply finishes it), converging with no temporary file left. (At RTT 50 the same
 * deploy is in the bench: `npm run bench -- --mixed`.)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { Client, FTPError } from 'basic-ftp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isTempName, RELEASES_DIR } from '../../src/core/names.js';
import { STATE_FILE } from '../../src/plan/state.js';
import { compareTrees, rng } from '../../lab/fixtures.js';
import { CLI, ensureBuilt, REPO, runCliAsync } from '../cli/helpers.js';
import { describeLab, type Lab, type LabServerName } from '../lab/harness.js';
import { ours, serverYaml } from './lab-manifest.js';

const FILLER = 1000;

/** A site of one release: a page naming five assets (three with the release in their names), and filler pages. */
function writeSite(dir: string, release: string, seed: number): void {
  rmSync(dir, { recursive: true, force: true });
  const rand = rng(seed);
  const assets = [`js/app.${release}.js`, `js/vendor.${release}.js`, `js/chunk.${release}.js`, 'css/style.css', 'img/logo.svg'];
  const pad = () => 'x'.repeat(Math.floor(rand() * 1500));
  for (const a of assets) {
    mkdirSync(join(dir, a, '..'), { recursive: true });
    writeFileSync(join(dir, a), `release ${release}\n${pad()}`);
  }
  writeFileSync(join(dir, 'index.html'), `release ${release}\n${assets.map((a) => `<asset ${a}>`).join('\n')}\n`);
  mkdirSync(join(dir, 'pages'), { recursive: true });
  for (let i = 0; i < FILLER; i++) writeFileSync(join(dir, 'pages', `p${i}.html`), `release ${release} page ${i}\n${pad()}`);
}

const releaseOf = (body: string) => /^release (\S+)/.exec(body)?.[1] ?? '?';

interface Poll {
  t0: number;
  t1: number;
  page: string;
  /** Every asset the page names was there, of the page's release. */
  whole: boolean;
}

/** A reader on its own FTP session: page, then each asset it names, again and again until stopped. */
function startReader(lab: Lab, name: LabServerName, dir: string) {
  const s = lab.servers[name];
  const polls: Poll[] = [];
  let stop = false;
  let client = new Client(10_000);
  let connected = false;
  const connect = async () => {
    client = new Client(10_000);
    await client.access({ host: s.host, port: s.port, user: s.user, password: s.password });
    connected = true;
  };
  const get = async (path: string, retried = false): Promise<string | null> => {
    if (!connected || client.closed) await connect();
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    });
    try {
      await client.downloadTo(sink, `${dir}/${path}`);
      return Buffer.concat(chunks).toString('utf8');
    } catch (e) {
      // 550: not there (proftpd also resets the data connection then): a new session for the next fetch.
      client.close();
      if (e instanceof FTPError && e.code === 550) return null;
      // The reader's own session failed (not the site): the same file once more on a new one.
      if (!retried) return get(path, true);
      return null;
    }
  };
  const done = (async () => {
    const until = Date.now() + 120_000;
    while (!stop && Date.now() < until && polls.length < 5000) {
      const t0 = Date.now();
      const page = await get('index.html');
      if (page === null) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const release = releaseOf(page);
      let whole = true;
      for (const m of page.matchAll(/<asset (\S+)>/g)) {
        const body = await get(m[1]!);
        if (body === null || releaseOf(body) !== release) whole = false;
      }
      polls.push({ t0, t1: Date.now(), page: release, whole });
    }
    client.close();
  })();
  /** Until the reader has made n fetches (bounded: a reader that cannot fetch fails the test). */
  const waitFor = async (n: number) => {
    const deadline = Date.now() + 30_000;
    while (polls.length < n) {
      if (Date.now() > deadline) throw new Error(`the reader made ${polls.length} fetches in 30 s, not ${n}`);
      await Promise.race([done, new Promise((r) => setTimeout(r, 20))]);
    }
  };
  return {
    polls,
    waitFor,
    async stop() {
      stop = true;
      await done;
    },
  };
}

/** The --json events of a run: when its switch began and when its last switch rename ended. */
function switchTimes(stdout: string): { start: number; end: number } {
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string; at?: string; text?: string; kind?: string });
  const start = events.find((e) => e.event === 'note' && /switching/.test(e.text ?? ''));
  const switches = events.filter((e) => e.event === 'action' && e.kind === 'switch');
  return { start: Date.parse(start!.at!), end: Math.max(...switches.map((e) => Date.parse(e.at!))) };
}

function summaryOf(stdout: string): { results: Array<Record<string, unknown>> } {
  return JSON.parse(stdout.split('\n').findLast((l) => l.startsWith('{"event":"summary"'))!) as { results: Array<Record<string, unknown>> };
}

describeLab('two-phase uploads', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-two-phase-'));
  const env = { LAB_PASSWORD: lab.servers.vsftpd.password, CI: 'true' };
  beforeAll(async () => {
    ensureBuilt();
    await lab.disarmFirewall();
  }, 120_000);
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await lab.disarmFirewall();
  }, 60_000);

  /** A manifest per release, all onto /www of one server (`extra`: more keys of the sync). */
  const manifest = (name: LabServerName, release: string, extra = '') => {
    const file = join(work, `${name}-${release}${extra ? '-x' : ''}.yml`);
    writeFileSync(
      file,
      `version: 1\nservers:\n${serverYaml(lab, name, 100)}syncs:\n  - { name: site, servers: [${name}], direction: upload, local: ${join(work, release)}, remote: /www, delete: true, last: [index.html]${extra} }\n`,
    );
    return file;
  };
  beforeAll(() => {
    writeSite(join(work, 'v1'), 'v1', 1);
    writeSite(join(work, 'v2'), 'v2', 2);
    writeSite(join(work, 'v3'), 'v3', 3);
  });

  for (const name of ['vsftpd', 'pure-ftpd', 'proftpd'] as const) {
    it(`${name}: a reader sees the old release whole until the switch, the new one after; rollback restores the old tree byte for byte with no data connection`, async () => {
      await lab.resetRoot(name);
      const remote = join(lab.servers[name].root, 'www');
      const first = await runCliAsync(['apply', '-c', manifest(name, 'v1')], { env, timeoutMs: 60_000 });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const stateV1 = readFileSync(join(remote, STATE_FILE));

      const reader = startReader(lab, name, '/www');
      await reader.waitFor(3);
      const r = await runCliAsync(['apply', '-c', manifest(name, 'v2'), '--json'], { env, timeoutMs: 90_000 });
      const after = reader.polls.length;
      await reader.waitFor(after + 3);
      await reader.stop();
      expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
      const sw = switchTimes(r.stdout);
      const result = summaryOf(r.stdout).results[0] as { switched: { files: number; windowMs: number }; done: Record<string, number> };
      const before = reader.polls.filter((p) => p.t1 < sw.start);
      const during = reader.polls.filter((p) => p.t1 >= sw.start && p.t0 <= sw.end);
      const later = reader.polls.filter((p) => p.t0 > sw.end);
      const oneByOne = r.stdout.split('\n').filter((l) => /one by one/.test(l));
      console.log(
        `[measure] ${name}: switched ${result.switched.files} files in ${result.switched.windowMs} ms (done ${JSON.stringify(result.done)}); reader: ${before.length} fetches before the switch, ${during.length} during, ${later.length} after${oneByOne.length ? `; ${oneByOne.join(' ')}` : ''}`,
      );
      expect(result.switched.files).toBe(FILLER + 6);
      expect(result.switched.windowMs).toBeLessThan(2000);
      // The staging took long enough for the reader to look several times: all of it old, whole.
      expect(before.length).toBeGreaterThanOrEqual(3);
      expect(before.filter((p) => p.page !== 'v1' || !p.whole)).toEqual([]);
      expect(later.length).toBeGreaterThanOrEqual(3);
      expect(later.filter((p) => p.page !== 'v2' || !p.whole)).toEqual([]);
      expect(compareTrees(join(work, 'v2'), remote, ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });

      const back = await runCliAsync(['rollback', '-c', manifest(name, 'v2'), '--json'], { env, timeoutMs: 60_000 });
      expect(back.code, back.stdout + back.stderr).toBe(0);
      const rolled = summaryOf(back.stdout).results[0] as {
        connections: { control: number; data: number };
        syncs: Array<{ restored: number; elapsedMs: number }>;
      };
      console.log(
        `[measure] ${name}: rollback put back ${rolled.syncs[0]!.restored} files in ${rolled.syncs[0]!.elapsedMs} ms; connections ${JSON.stringify(rolled.connections)}`,
      );
      expect(rolled.connections.data).toBe(0);
      expect(compareTrees(join(work, 'v1'), remote, ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
      expect(readFileSync(join(remote, STATE_FILE)).equals(stateV1)).toBe(true);
      expect(readdirSync(join(remote, RELEASES_DIR))).toEqual([]);
    }, 120_000);
  }

  it('pure-ftpd, releasesDir beside the web root: nothing of the release under /www, rollback restores from there', async () => {
    const name = 'pure-ftpd';
    await lab.resetRoot(name);
    const root = lab.servers[name].root;
    mkdirSync(join(root, 'releases'));
    await lab.chownRoot(name);
    const beside = ', releasesDir: /releases/site';
    expect((await runCliAsync(['apply', '-c', manifest(name, 'v1', beside)], { env, timeoutMs: 60_000 })).code).toBe(0);
    const r = await runCliAsync(['apply', '-c', manifest(name, 'v2', beside)], { env, timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(root, 'www', RELEASES_DIR))).toBe(false);
    const releases = readdirSync(join(root, 'releases', 'site'));
    expect(releases).toHaveLength(1);
    expect(readFileSync(join(root, 'releases', 'site', releases[0]!, 'index.html'), 'utf8')).toMatch(/^release v1/);
    const back = await runCliAsync(['rollback', '-c', manifest(name, 'v2', beside)], { env, timeoutMs: 60_000 });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(compareTrees(join(work, 'v1'), join(root, 'www'), ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
    expect(readdirSync(join(root, 'releases', 'site'))).toEqual([]);
  }, 120_000);

  it.each(['vsftpd', 'pure-ftpd', 'proftpd'] as const)(
    '%s: kill -9 at seeded moments of the staging and of the switch: the site never changes during the staging; rollback undoes a part-done switch; another apply finishes it; no temporary file left',
    async (name) => {
      await lab.resetRoot(name);
      const remote = join(lab.servers[name].root, 'www');
      expect((await runCliAsync(['apply', '-c', manifest(name, 'v1')], { env, timeoutMs: 60_000 })).code).toBe(0);
      const v3 = manifest(name, 'v3');
      const temps = () => walk(remote).filter((p) => isTempName(p.split('/').pop()!));
      const rand = rng(20);
      const kills: string[] = [];
      /** Start apply --json and kill it once `when` says so (bounded), returning what it printed. */
      const killWhen = async (when: (stdout: string) => boolean, label: string) => {
        const child = spawn(process.execPath, [CLI, 'apply', '-c', v3, '--json'], { cwd: REPO, env: { PATH: process.env.PATH, NO_COLOR: '1', ...env } });
        let stdout = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        let exited = false;
        const exit = new Promise<void>((res) => child.on('exit', () => res(void (exited = true))));
        const deadline = Date.now() + 60_000;
        while (!exited && !when(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        child.kill('SIGKILL');
        await exit;
        expect(exited && !/"event":"summary"/.test(stdout), `${label}: the run ended before the kill`).toBe(true);
        kills.push(label);
        return stdout;
      };

      // Staging: killed after a seeded number of staged files; the live site is still v1, whole.
      for (let k = 0; k < 2; k++) {
        const target = Math.min(temps().length + 20 + Math.floor(rand() * 120), FILLER - 10);
        await killWhen(() => temps().length >= target, `staging after ${target} staged`);
        expect(compareTrees(join(work, 'v1'), remote, (p) => ours(p) || isTempName(p.split('/').pop()!)).equal).toBe(true);
      }
      const staged = temps().length;
      // The switch: killed a seeded few ms after it began; rollback undoes the part done.
      let ms = 3 + Math.floor(rand() * 12);
      await killWhen(switchBegun(remote, ms), `switch +${ms} ms`);
      expect(readdirSync(join(remote, RELEASES_DIR)).filter((n) => n.endsWith('.partial'))).toHaveLength(1);
      const back = await runCliAsync(['rollback', '-c', v3], { env, timeoutMs: 60_000 });
      expect(back.code, back.stdout + back.stderr).toBe(0);
      expect(compareTrees(join(work, 'v1'), remote, ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
      // Again, killed in the switch; the next apply finishes that switch (the staged files reused).
      await killWhen(() => temps().length >= 100, 'staging after 100 staged');
      ms = 3 + Math.floor(rand() * 12);
      await killWhen(switchBegun(remote, ms), `switch +${ms} ms`);
      const r = await runCliAsync(['apply', '-c', v3], { env, timeoutMs: 90_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/going on with the unfinished release/);
      const uploaded = Number(/(\d+) upload/.exec(r.stdout)?.[1] ?? 0);
      console.log(`[measure] ${name}: kill -9 at ${kills.join(', ')}: ${staged} staged files before the first switch; the converging run uploaded ${uploaded}`);
      expect(uploaded).toBeLessThan(FILLER);
      expect(compareTrees(join(work, 'v3'), remote, ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
      expect(temps()).toEqual([]);
      expect(readdirSync(join(remote, RELEASES_DIR)).filter((n) => n.endsWith('.partial'))).toEqual([]);
      // The release the interrupted deploy and its completion share holds v1 whole.
      const back2 = await runCliAsync(['rollback', '-c', v3], { env, timeoutMs: 60_000 });
      expect(back2.code, back2.stdout + back2.stderr).toBe(0);
      expect(compareTrees(join(work, 'v1'), remote, ours)).toEqual({ equal: true, missing: [], extra: [], different: [] });
    },
    180_000,
  );
});

/** A condition: the switch's release exists on the server (its first renames are under way) since at least `ms`. */
function switchBegun(remote: string, ms: number): () => boolean {
  let seen: number | null = null;
  return () => {
    const dir = join(remote, RELEASES_DIR);
    if (seen === null && existsSync(dir) && readdirSync(dir).some((n) => n.endsWith('.partial'))) seen = Date.now();
    return seen !== null && Date.now() - seen >= ms;
  };
}

/** The files under dir; the server may remove a directory (the lock's) while it is read: read again. */
function walk(dir: string): string[] {
  for (let attempt = 1; ; attempt++) {
    if (!existsSync(dir)) return [];
    try {
      return readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile())
        .map((e) => relative(dir, join(e.parentPath, e.name)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw e;
    }
  }
}
