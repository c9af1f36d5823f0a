/**
 * The remote lock against the lab's servers: apply takes it before it lists, so a diff is never
 * made while another apply holds the tree; a lock held by a live apply elsewhere stops the run
 * before anything is listed or sent; a saved plan is checked under the lock; a stale lock of this
 * host is taken over; a lock already taken is given back when a later sync's lock is held (these
 * on vsftpd); and of two applies that take it at the same moment exactly one gets it, on each of
 * the three servers (the lock is one MKD).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import type { SyncConfig } from '../../src/manifest/types.js';
import { createRemotePool } from '../../src/remote/pool.js';
import type { Reporter } from '../../src/run/progress.js';
import { LOCK_NAME, releaseSyncLocks, takeSyncLocks, type HeldLocks } from '../../src/run/remote-lock.js';
import { labServerConfig } from '../../lab/lab-config.js';
import { ensureBuilt, runCliAsync } from '../cli/helpers.js';
import { compareTrees, generateTree } from '../../lab/fixtures.js';
import { describeLab } from '../lab/harness.js';
import { ours, serverYaml } from './lab-manifest.js';

describeLab('the remote lock', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-lock-'));
  const env = { LAB_PASSWORD: lab.servers.vsftpd.password, CI: 'true' };
  const root = lab.servers.vsftpd.root;
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await lab.disarmFirewall();
  }, 60_000);

  /** A live holder elsewhere, as the lock directory's holder name says it. */
  const elsewhere = () => `pid=4242,at=${new Date().toISOString().replace(/[-:]|\.\d{3}/g, '')},host=ci-runner-7`;
  /** An older ftpsync's lock file. */
  const legacy = (host: string, pid: number) => JSON.stringify({ host, pid, at: new Date().toISOString(), tool: 'ftpsync' });

  /**
   * A manifest with one upload sync (delete: true) per remote directory, all from the same local
   * tree; `locks` puts a lock in place first: a holder name (directory) or a legacy file's JSON.
   */
  async function setUp(name: string, remotes: string[], locks: Record<string, { holder: string } | { file: string } | { empty: true }>) {
    await lab.resetRoot('vsftpd');
    await lab.armFirewall({ limit: 100, blockMs: 30_000, intervalMs: 200 });
    const local = join(work, name);
    generateTree(local, { seed: 81, files: 20, dirs: 2, depth: 1, maxSmall: 300 });
    for (const [remote, lock] of Object.entries(locks)) {
      mkdirSync(join(root, remote), { recursive: true });
      if ('file' in lock) writeFileSync(join(root, remote, LOCK_NAME), lock.file);
      else mkdirSync(join(root, remote, LOCK_NAME, 'holder' in lock ? lock.holder : ''), { recursive: true });
    }
    await lab.chownRoot('vsftpd');
    const file = join(work, `${name}.yml`);
    const syncs = remotes.map((r, i) => `  - { name: s${i}, servers: [vsftpd], direction: upload, local: ${local}, remote: /${r}, delete: true }\n`).join('');
    writeFileSync(file, `version: 1\nservers:\n${serverYaml(lab, 'vsftpd', 100)}syncs:\n${syncs}`);
    return { local, file };
  }
  const lockAt = (remote: string) => join(root, remote, LOCK_NAME);

  it("held by a live apply elsewhere (a lock directory, an older ftpsync's file, one with no holder): E_LOCKED before anything is listed or sent; the lock is left as it was", async () => {
    for (const [name, lock, says] of [
      ['held-dir', { holder: elsewhere() }, /vsftpd \/www: another apply holds the lock \(ci-runner-7 pid 4242, 0 min ago\)/],
      ['held-file', { file: legacy('ci-runner-7', 4242) }, /vsftpd \/www: another apply holds the lock \(ci-runner-7 pid 4242, 0 min ago\)/],
      [
        'held-empty',
        { empty: true },
        /another apply holds the lock \(no holder recorded: .*\)\n.*hint: If no apply is running, remove the directory \/www\/\.ftpsync\.lock/,
      ],
    ] as const) {
      const { file } = await setUp(name, ['www'], { www: lock });
      const r = await runCliAsync(['apply', '-c', file], { env, timeoutMs: 60_000 });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout, name).toMatch(says);
      // Planning never ran: what it always says about plain FTP to a lab address was not said.
      expect(r.stdout, name).not.toMatch(/warning: plain FTP/);
      expect(readdirSync(join(root, 'www')), name).toEqual([LOCK_NAME]);
      if ('holder' in lock) expect(readdirSync(lockAt('www'))).toEqual([lock.holder]);
      if ('file' in lock) expect(readFileSync(lockAt('www'), 'utf8')).toBe(lock.file);
    }
  }, 120_000);

  it("the lock of a later sync is held: the earlier sync's lock, already taken, is given back", async () => {
    const { file } = await setUp('partial', ['a', 'b'], { b: { holder: elsewhere() } });
    const r = await runCliAsync(['apply', '-c', file], { env, timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/vsftpd \/b: another apply holds the lock/);
    expect(existsSync(lockAt('a'))).toBe(false);
    expect(readdirSync(lockAt('b'))).toHaveLength(1);
  }, 90_000);

  it('stale locks of this host (their process gone; directory and older file) are taken over before planning; the run lands (delete: true) and removes them', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stamp = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const { local, file } = await setUp('stale', ['a', 'b'], {
      a: { holder: `pid=${dead},at=${stamp},host=${hostname()}` },
      b: { file: legacy(hostname(), dead) },
    });
    const r = await runCliAsync(['apply', '-c', file], { env, timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const planned = lines.findIndex((l) => /warning: plain FTP/.test(l));
    for (const remote of ['a', 'b']) {
      const takeover = lines.findIndex((l) => l.includes(`taking over the stale lock /${remote}/${LOCK_NAME} (${hostname()} pid ${dead}`));
      expect(takeover, r.stdout).toBeGreaterThanOrEqual(0);
      expect(planned, r.stdout).toBeGreaterThan(takeover);
      expect(existsSync(lockAt(remote))).toBe(false);
      expect(compareTrees(local, join(root, remote), ours).equal).toBe(true);
    }
    expect(r.stdout).toMatch(/vsftpd: ok: .*40 upload/);
  }, 90_000);

  it('a saved plan: every server is locked before the plan is checked; a stale plan is refused and its lock given back; a plan of another format takes no lock', async () => {
    const { file } = await setUp('saved', ['www'], {});
    const planFile = join(work, 'saved.plan.json');
    const planned = await runCliAsync(['plan', '-c', file, '--format', 'json', '--out', planFile], { env, timeoutMs: 60_000 });
    expect(planned.code, planned.stdout + planned.stderr).toBe(0);
    // The remote changes after the plan was made.
    mkdirSync(join(root, 'www'), { recursive: true });
    writeFileSync(join(root, 'www', 'added-later.html'), 'x');
    await lab.chownRoot('vsftpd');
    // Held meanwhile by another apply: that is what apply reports, before it checks anything.
    const holder = elsewhere();
    mkdirSync(join(lockAt('www'), holder), { recursive: true });
    await lab.chownRoot('vsftpd');
    const locked = await runCliAsync(['apply', planFile, '-c', file], { env, timeoutMs: 60_000 });
    expect(locked.code).toBe(1);
    expect(locked.stdout + locked.stderr).toMatch(/vsftpd \/www: another apply holds the lock \(ci-runner-7 pid 4242/);
    expect(readdirSync(lockAt('www'))).toEqual([holder]);
    // Free: the check runs, under our lock, and refuses the plan; the lock is given back.
    rmSync(lockAt('www'), { recursive: true });
    const stale = await runCliAsync(['apply', planFile, '-c', file], { env, timeoutMs: 60_000 });
    expect(stale.code).toBe(1);
    expect(stale.stdout + stale.stderr).toMatch(/the plan is stale:\n\s+- remote files of vsftpd\/s0 changed \(\/www on vsftpd\)/);
    expect(readdirSync(join(root, 'www'))).toEqual(['added-later.html']);
    // Another format: refused before any server is contacted (with the lock held again, a lock
    // attempt first would have ended in E_LOCKED).
    writeFileSync(planFile, JSON.stringify({ ...(JSON.parse(readFileSync(planFile, 'utf8')) as object), formatVersion: 999 }));
    mkdirSync(join(lockAt('www'), holder), { recursive: true });
    await lab.chownRoot('vsftpd');
    const other = await runCliAsync(['apply', planFile, '-c', file], { env, timeoutMs: 60_000 });
    expect(other.code).toBe(1);
    expect(other.stdout + other.stderr).toMatch(/saved\.plan\.json: plan format 999 is not supported/);
  }, 120_000);

  for (const name of ['vsftpd', 'pure-ftpd', 'proftpd'] as const) {
    it(`${name}: two applies take the same lock at the same moment: exactly one gets it (5 rounds)`, async () => {
      await lab.resetRoot(name);
      await lab.armFirewall({ limit: 100, blockMs: 30_000, intervalMs: 200 });
      await lab.chownRoot(name);
      const sync = { name: 'site', direction: 'upload', remotePath: '/race', localPath: work, servers: [name] } as unknown as SyncConfig;
      const reporter: Reporter = { phase: () => undefined, pause: () => undefined, progress: () => undefined, blocked: () => undefined, note: () => undefined };
      const pools = [0, 1].map(() => {
        const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
        return createRemotePool(labServerConfig(lab.servers[name]), { ledger, gate: new BudgetGate(ledger, 80) });
      });
      const race = join(lab.servers[name].root, 'race', LOCK_NAME);
      try {
        // Both sessions logged in and the directory there first, so the two lock attempts go out together.
        for (const p of pools) await p.withSession((s) => s.mkdir('/race'));
        for (let round = 0; round < 5; round++) {
          const got = await Promise.allSettled(pools.map((p) => takeSyncLocks(p, name, [sync], reporter)));
          const won = got.filter((g): g is PromiseFulfilledResult<HeldLocks> => g.status === 'fulfilled');
          expect(won, `round ${round}: ${JSON.stringify(got.map((g) => (g.status === 'rejected' ? String(g.reason) : 'took it')))}`).toHaveLength(1);
          const lost = got.find((g) => g.status === 'rejected') as PromiseRejectedResult;
          expect(String(lost.reason)).toMatch(new RegExp(`another apply holds the lock \\(.* pid ${process.pid}`));
          expect(readdirSync(race)).toHaveLength(1);
          await releaseSyncLocks(pools[got.indexOf(won[0]!)]!, won[0]!.value.locks);
          expect(existsSync(race)).toBe(false);
        }
      } finally {
        for (const p of pools) await p.close();
      }
    }, 90_000);
  }
});
