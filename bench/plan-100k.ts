/**
 * Plan for 100,000 local files against an unchanged remote of the same tree (issue 6): the local
 * walk, the diff and the scheduler for real, the remote listing replaced by the same tree in
 * memory (a real server holding 100k files is not part of the lab; listing cost over the network
 * is measured by the lab scenarios, 0 data connections with STAT). Prints time and peak memory.
 * Run by bench/run.ts (`npm run bench`, or `npm run bench -- --plan-only` without the lab).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionLedger } from '../src/budget/ledger.js';
import type { RemoteTree } from '../src/core/tree.js';
import { walkLocal } from '../src/local/walk.js';
import type { Manifest, ServerConfig } from '../src/manifest/types.js';
import { buildPlan } from '../src/plan/build.js';
import { snapshotServers } from '../src/run/snapshot.js';
import type { RemotePool, RemoteSession } from '../src/remote/types.js';

export interface Plan100kResult {
  files: number;
  dirs: number;
  generateMs: number;
  planMs: number;
  peakRssMb: number;
  actions: number;
  listingDataConnections: number;
}

export async function planBench(files = 100_000, perDir = 100): Promise<Plan100kResult> {
  const root = mkdtempSync(join(tmpdir(), 'ftpsync-plan100k-'));
  const local = join(root, 'site');
  const t0 = performance.now();
  const mtime = new Date(Date.UTC(2026, 0, 1));
  const dirs = Math.ceil(files / perDir);
  for (let d = 0; d < dirs; d++) {
    const dir = join(local, `d${Math.floor(d / 32)}`, `e${d}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < perDir && d * perDir + i < files; i++) {
      const f = join(dir, `f${i}.html`);
      writeFileSync(f, `page ${d}/${i}\n`);
      utimesSync(f, mtime, mtime);
    }
  }
  const generateMs = performance.now() - t0;
  // The remote: the same tree, as a listing would return it (minute precision, like LIST).
  const snapshot = walkLocal(local, { exclude: [], include: [] });
  const remote: RemoteTree = new Map();
  for (const [path, e] of snapshot.entries)
    remote.set(
      path,
      e.type === 'dir'
        ? { name: path.split('/').pop()!, type: 'dir', size: 0 }
        : { name: path.split('/').pop()!, type: 'file', size: e.size, mtimeMs: e.mtimeMs, mtimePrecisionMs: 1000 },
    );
  const session = {
    listTree: () => Promise.resolve({ tree: remote, strategy: 'stat' as const, dataConnections: 0 }),
    roundTripMs: () => Promise.resolve(0.1),
    facts: () => Promise.resolve({ listing: ['stat'], mfmt: true, mdtmSet: false }),
  } as unknown as RemoteSession;
  const pool = {
    server: 'bench',
    ledger: new ConnectionLedger({ timeWaitMs: 60_000 }),
    withSession: <T>(fn: (s: RemoteSession) => Promise<T>) => fn(session),
    warnings: () => [],
    close: async () => undefined,
  } as unknown as RemotePool;
  const server = {
    name: 'bench',
    host: 'ftp.example.com',
    port: 21,
    user: 'u',
    tls: 'explicit',
    verifyCertificate: true,
    mode: 'passive',
    timeouts: { connectMs: 15_000, dataMs: 30_000 },
    dataClose: 'normal',
    listing: 'auto',
    firewall: { maxConnections: 300, timeWaitMs: 60_000, headroom: 0.8, parallel: 2, maxSessions: 4, onBlock: { policy: 'stop', maxWaitMs: 0 } },
  } as ServerConfig;
  const manifest = {
    file: join(root, 'ftpsync.yml'),
    version: 1,
    servers: { bench: server },
    syncs: [
      {
        name: 'site',
        servers: ['bench'],
        direction: 'upload',
        localPath: local,
        remotePath: '/www',
        delete: true,
        exclude: [],
        include: [],
        compare: 'size-mtime',
        last: [],
        protect: [],
        twoPhase: true,
        keepReleases: 1,
      },
    ],
    rollout: { stages: [{ name: 'all', servers: ['bench'] }], haltOnFailure: true },
  } as unknown as Manifest;

  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const t1 = performance.now();
  const snapshots = await snapshotServers(manifest, () => pool);
  const plan = buildPlan({ manifest, manifestDigest: 'bench', toolVersion: 'bench', createdAt: new Date(), snapshots });
  const planMs = performance.now() - t1;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  rmSync(root, { recursive: true, force: true });
  return {
    files,
    dirs,
    generateMs: Math.round(generateMs),
    planMs: Math.round(planMs),
    peakRssMb: Math.round(peakRss / 1024 / 1024),
    actions: plan.servers[0]?.actions.length ?? 0,
    listingDataConnections: 0,
  };
}
