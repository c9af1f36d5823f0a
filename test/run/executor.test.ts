/**
 * Executor logic with an injected clock and an IN-MEMORY TEST DOUBLE of the remote pool (unit
 * level only: ordering, journal resume, delete-after-upload, block policy). The real adapter is
 * exercised against vsftpd/pure-ftpd/proftpd in apply.lab.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import type { PlannedAction } from '../../src/core/actions.js';
import { FtpsyncError } from '../../src/errors.js';
import type { ServerConfig, SyncConfig } from '../../src/manifest/types.js';
import type { ServerPlan } from '../../src/plan/types.js';
import type { RemotePool, RemoteSession } from '../../src/remote/types.js';
import { runServerPlan } from '../../src/run/executor.js';
import { Journal } from '../../src/run/journal.js';
import type { Reporter } from '../../src/run/progress.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function clock() {
  let t = 1_000_000;
  return { now: () => t, sleep: async (ms: number) => void (t += Math.max(ms, 1)), advance: (ms: number) => (t += ms) };
}

/** In-memory double: remote files in a Map; every transfer "opens" a data connection through the gate. */
function fakePool(o: {
  ledger: ConnectionLedger;
  gate: BudgetGate;
  now: () => number;
  failOn?: Set<string>;
  block?: { afterUploads: number; forMs: number };
  /** Uploads to these paths time out this many times (a stalled transfer) while the server answers everything else. */
  stall?: { paths: Set<string>; times: number };
  clientCloses?: boolean;
}) {
  const files = new Map<string, string>();
  const ops: string[] = [];
  let attemptsWhileBlocked = 0;
  let peak = 0;
  const stalls = new Map([...(o.stall?.paths ?? [])].map((p) => [p, 0]));
  // The simulated firewall drops everything for forMs once afterUploads uploads have landed.
  let blockedSince: number | null = null;
  const blocked = () => blockedSince !== null && o.block !== undefined && o.now() < blockedSince + o.block.forMs;
  const connect = async (purpose: string) => {
    const reservation = await o.gate.acquire('data', purpose);
    if (blocked()) {
      attemptsWhileBlocked++;
      o.ledger.release(reservation, o.now());
      throw new FtpsyncError('E_TIMEOUT', `fake: ${purpose}: Timeout (data socket)`, undefined, { server: 'fake' });
    }
    const id = o.ledger.opened('data', o.now(), purpose, reservation);
    peak = Math.max(peak, o.ledger.counted(o.now()));
    o.ledger.closed(id, o.clientCloses ? 'client' : 'server', o.now());
  };
  const session: RemoteSession = {
    server: 'fake',
    list: async (dir) => (await connect(`LIST ${dir}`), []),
    listTree: async () => ({ tree: new Map(), strategy: 'stat', dataConnections: 0 }),
    upload: async (_l, remote) => {
      await connect(`STOR ${remote}`);
      if (o.stall?.paths.has(remote) && stalls.get(remote)! < o.stall.times) {
        stalls.set(remote, stalls.get(remote)! + 1);
        throw new FtpsyncError('E_TIMEOUT', `fake: STOR ${remote}: Timeout (data socket)`, undefined, { server: 'fake' });
      }
      if (o.failOn?.has(remote)) throw new FtpsyncError('E_FTP', `fake: ${remote}: 553 not allowed`, undefined, { server: 'fake', ftpCode: 553 });
      ops.push(`upload ${remote}`);
      files.set(remote, 'x');
      if (o.block && blockedSince === null && ops.filter((x) => x.startsWith('upload')).length >= o.block.afterUploads) blockedSince = o.now();
    },
    download: async () => undefined,
    mkdir: async (p) => void ops.push(`mkdir ${p}`),
    mkdirExclusive: async (p) => (ops.push(`mkdir ${p}`), true),
    remove: async (p) => {
      ops.push(`delete ${p}`);
      files.delete(p);
    },
    rmdir: async (p) => void ops.push(`rmdir ${p}`),
    rename: async () => undefined,
    readSmallFile: async (p) => (files.has(p) ? Buffer.from(files.get(p)!) : null),
    writeSmallFile: async (p, c) => {
      ops.push(`write ${p}`);
      files.set(p, c.toString());
    },
    facts: async () => ({ listing: ['stat'], mfmt: true, mdtmSet: false }),
    hashCommand: async () => null,
    fileHash: async () => null,
    roundTripMs: async () => 0,
    command: async () => ({ code: 200, message: 'ok' }),
    close: async () => undefined,
  };
  const pool = {
    server: 'fake',
    ledger: o.ledger,
    shared: { warnings: new Set<string>() },
    withSession: <T>(fn: (s: RemoteSession) => Promise<T>) => fn(session),
    warnings: () => [],
    setMaxSessions: () => undefined,
    warm: () => undefined,
    keepIdleAlive: async () => undefined,
    keepaliveIntervalMs: () => 15_000,
    close: async () => undefined,
  } as unknown as RemotePool;
  return { pool, files, ops, attemptsWhileBlocked: () => attemptsWhileBlocked, peak: () => peak };
}

function server(onBlock: ServerConfig['firewall']['onBlock']): ServerConfig {
  return {
    name: 'fake',
    firewall: { maxConnections: 10, headroom: 0.8, timeWaitMs: 60_000, parallel: 1, maxSessions: 4, onBlock },
  } as unknown as ServerConfig;
}

function action(kind: PlannedAction['kind'], path: string, stage: number): PlannedAction {
  // The double closes each upload's connection server-side: it counts for the 60 s TIME_WAIT, as the plan says.
  const cost = { connections: kind === 'upload' ? 1 : 0, countedMs: kind === 'upload' ? 60_000 : 0 };
  return { id: `fake/site/${kind}/${path}`, server: 'fake', sync: 'site', kind, path, size: 10, reason: kind === 'delete' ? 'extraneous' : 'new', cost, stage };
}

function makePlan(actions: PlannedAction[], phaseSize: number): ServerPlan {
  const phases = [];
  for (let i = 0; i < actions.length; i += phaseSize) {
    const slice = actions.slice(i, i + phaseSize);
    phases.push({
      index: phases.length,
      actionIds: slice.map((a) => a.id),
      connections: slice.filter((a) => a.kind === 'upload').length,
      startMs: 0,
      estimatedMs: 0,
      pauseAfterMs: 0,
    });
  }
  return {
    server: 'fake',
    host: 'h',
    budget: 8,
    maxConnections: 10,
    headroom: 0.8,
    timeWaitMs: 60_000,
    parallel: 1,
    listing: { strategy: 'stat', dataConnections: 0 },
    syncs: [],
    actions,
    phases,
    countedConnections: actions.length,
    theoreticalMinMs: 0,
    etaMs: 0,
    boundMs: 0,
    warnings: [],
  };
}

function setup(opts: {
  n: number;
  failOn?: Set<string>;
  block?: { afterUploads: number; forMs: number };
  stall?: { paths: Set<string>; times: number };
  onBlock?: ServerConfig['firewall']['onBlock'];
  journalDir?: string;
  clientCloses?: boolean;
  phaseSize?: number;
}) {
  const c = clock();
  const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
  const gate = new BudgetGate(ledger, 8, { now: c.now, sleep: c.sleep });
  const fake = fakePool({
    ledger,
    gate,
    now: c.now,
    ...(opts.failOn ? { failOn: opts.failOn } : {}),
    ...(opts.block ? { block: opts.block } : {}),
    ...(opts.stall ? { stall: opts.stall } : {}),
    ...(opts.clientCloses ? { clientCloses: true } : {}),
  });
  const dir = opts.journalDir ?? mkdtempSync(join(tmpdir(), 'ftpsync-exec-'));
  if (!opts.journalDir) dirs.push(dir);
  const local = join(dir, 'local');
  const actions = [...Array.from({ length: opts.n }, (_, i) => action('upload', `f${i}.txt`, 1)), action('delete', 'old.txt', 3)];
  // Uploads we close count for a few round trips (cost.ts): so says the plan when the double closes them so.
  if (opts.clientCloses) for (const a of actions) if (a.kind === 'upload') a.cost.countedMs = 300;
  const plan = makePlan(actions, opts.phaseSize ?? 8);
  const events: string[] = [];
  const reporter: Reporter = {
    phase: (_s, n) => void events.push(`phase ${n}`),
    pause: (_s, ms, counted, limit) => void events.push(`pause ${ms} ${counted}/${limit}`),
    progress: () => undefined,
    blocked: (e) => void events.push(`blocked ${e}`),
    note: (_s, t) => void events.push(`note ${t}`),
  };
  const sync = { name: 'site', direction: 'upload', localPath: local, remotePath: '/www', servers: ['fake'] } as unknown as SyncConfig;
  const journalFile = join(dir, '.ftpsync', 'journal-fake.jsonl');
  const run = (journalKey = 'plan-a') =>
    runServerPlan(plan, {
      server: server(opts.onBlock ?? { policy: 'stop', maxWaitMs: 0 }),
      syncs: [sync],
      pool: fake.pool,
      ledger,
      gate,
      journal: new Journal(journalFile, journalKey),
      reporter,
      now: c.now,
      sleep: c.sleep,
    });
  return { c, ledger, fake, run, events, plan, dir, journalFile };
}

describe('runServerPlan (in-memory pool double)', () => {
  it('runs phases in order, pauses for what the ledger still counts, deletes last, keeps the peak within the budget', async () => {
    const s = setup({ n: 20 });
    const r = await s.run();
    expect(r.ok).toBe(true);
    expect(r.done.upload).toBe(20);
    expect(r.transferTimes?.upload?.samples).toBe(20);
    // The double's uploads take no time: the two 60 s pauses between them are not transfer time.
    expect(r.transferTimes?.upload?.eachMs).toBeLessThan(100);
    expect(r.transferTimes?.download).toBeUndefined();
    expect(r.done.delete).toBe(1);
    const uploads = s.fake.ops.filter((o) => o.startsWith('upload'));
    expect(uploads).toHaveLength(20);
    // The delete comes after every upload landed.
    expect(s.fake.ops.indexOf('delete /www/old.txt')).toBeGreaterThan(s.fake.ops.lastIndexOf(uploads.at(-1)!));
    // 20 server-closed connections at a budget of 8 with a 60 s TIME_WAIT: at least 2 waits of ~60 s.
    expect(s.events.filter((e) => e.startsWith('pause')).length).toBeGreaterThanOrEqual(2);
    expect(s.fake.peak()).toBeLessThanOrEqual(8);
    expect(s.fake.peak()).toBeGreaterThanOrEqual(6);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(2 * 60_000);
  });

  it("a phase of uploads does not wait for the whole budget to drain: a TIME_WAIT left from before (the lock read) is the gate's business", async () => {
    const s = setup({ n: 20, clientCloses: true, phaseSize: 20 });
    // Two connections the server closed just now (listing, the lock's read): they count for 60 s.
    for (const purpose of ['RETR lock', 'LIST']) s.ledger.closed(s.ledger.opened('data', s.c.now(), purpose), 'server', s.c.now());
    const r = await s.run();
    expect(r.ok).toBe(true);
    expect(r.done.upload).toBe(20);
    // Before: the phase wanted min(20, 8 - 1) = 7 free slots at once, so it paused 60 s for those two.
    expect(s.events.filter((e) => e.startsWith('pause'))).toEqual([]);
    expect(r.elapsedMs).toBeLessThan(10_000);
    expect(s.fake.peak()).toBeLessThanOrEqual(8);
  });

  it('a failed upload keeps the deletes of its sync from running; a re-run skips what landed (journal)', async () => {
    const fail = new Set(['/www/f3.txt']);
    const s = setup({ n: 6, failOn: fail });
    const first = await s.run();
    expect(first.ok).toBe(false);
    expect(first.failed.map((f) => f.path)).toEqual(['site:f3.txt']);
    expect(s.fake.ops).not.toContain('delete /www/old.txt');
    expect(s.fake.ops.filter((o) => o.startsWith('upload'))).toHaveLength(5);
    fail.clear();
    s.fake.ops.length = 0;
    const second = await s.run();
    expect(second.ok).toBe(true);
    expect(second.skippedFromJournal).toBe(5);
    expect(s.fake.ops.filter((o) => o.startsWith('upload'))).toEqual(['upload /www/f3.txt']);
    expect(s.fake.ops).toContain('delete /www/old.txt');
  });

  it('a journal from another plan is ignored', async () => {
    const fail = new Set(['/www/f0.txt']);
    const s = setup({ n: 3, failOn: fail });
    await s.run('plan-a');
    fail.clear();
    s.fake.ops.length = 0;
    const r = await s.run('plan-b');
    expect(r.skippedFromJournal).toBe(0);
    expect(s.fake.ops.filter((o) => o.startsWith('upload'))).toHaveLength(3);
  });

  it('a block with policy stop: explains, stops opening connections at once, not ok, no deletes', async () => {
    const s = setup({ n: 6, block: { afterUploads: 2, forMs: 3_600_000 } });
    const r = await s.run();
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/Timeout/);
    const blocked = s.events.find((e) => e.startsWith('blocked'))!;
    expect(blocked).toMatch(/CSF count every socket of your IP, TIME_WAIT included/);
    expect(blocked).toMatch(/the limit on this host is between \d+ and \d+ \(the manifest says 10\)/);
    expect(s.fake.ops).not.toContain('delete /www/old.txt');
    expect(s.fake.ops.filter((o) => o.startsWith('upload'))).toHaveLength(2);
    // One failed attempt saw the block, one probe made sure of it; nothing else was opened after.
    expect(s.fake.attemptsWhileBlocked()).toBe(2);
  });

  it('a block with policy wait: waits, probes, resumes when it lifts, and completes', async () => {
    const s = setup({ n: 6, block: { afterUploads: 2, forMs: 100_000 }, onBlock: { policy: 'wait', maxWaitMs: 600_000 } });
    const r = await s.run();
    expect(r.ok).toBe(true);
    expect(s.fake.ops.filter((o) => o.startsWith('upload'))).toHaveLength(6);
    expect(s.fake.ops).toContain('delete /www/old.txt');
    expect(s.events.some((e) => e.startsWith('note the block lifted'))).toBe(true);
    // One probe per 15 s step while blocked (100 s): a handful of attempts, never a hammering.
    expect(s.fake.attemptsWhileBlocked()).toBeLessThanOrEqual(1 + 1 + Math.ceil(100_000 / 15_000));
    expect(r.elapsedMs).toBeGreaterThanOrEqual(100_000);
    // Marked, so apply does not take this run's peak (before the block) for a higher limit that worked.
    expect(r.blocked).toBe(true);
  });

  it('a stalled transfer while the server still answers: no block, nothing learned, retried and completed', async () => {
    const s = setup({ n: 6, stall: { paths: new Set(['/www/f3.txt']), times: 1 } });
    const r = await s.run();
    expect(r.ok).toBe(true);
    expect(r.blocked).toBeUndefined();
    expect(s.events.filter((e) => e.startsWith('blocked'))).toEqual([]);
    expect(s.events).toContainEqual(expect.stringMatching(/Timeout \(data socket\): the server still answers, so this is no firewall block/));
    expect(s.fake.ops.filter((o) => o === 'upload /www/f3.txt')).toHaveLength(1);
    expect(s.fake.ops).toContain('delete /www/old.txt');
  });

  it('a transfer that stalls every time fails after its tries, said to be a stall, not a block', async () => {
    const s = setup({ n: 4, stall: { paths: new Set(['/www/f1.txt']), times: 99 } });
    const r = await s.run();
    expect(r.ok).toBe(false);
    expect(r.blocked).toBeUndefined();
    expect(r.failed).toEqual([{ path: 'site:f1.txt', error: expect.stringMatching(/a stalled transfer, not a firewall block.*hint: .*raise timeouts.data/) }]);
    expect(s.fake.ops.filter((o) => o.startsWith('upload'))).toHaveLength(3);
  });

  it('a block with policy wait gives up after maxWaitMs', async () => {
    const s = setup({ n: 4, block: { afterUploads: 1, forMs: 3_600_000 }, onBlock: { policy: 'wait', maxWaitMs: 60_000 } });
    const r = await s.run();
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/still blocked after waiting 1m/);
    // The failed attempt, the probe that made sure, one probe per 15 s step.
    expect(s.fake.attemptsWhileBlocked()).toBeLessThanOrEqual(1 + 1 + 4);
  });
});
