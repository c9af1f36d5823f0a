/**
 * The remote lock, so two applies never interleave on one server and sync root. apply takes it
 * before it lists the remote (its diff is never made while another apply changes the tree) and
 * gives it back when its run ends.
 *
 * The lock is a directory, `<root>/.ftpsync.lock`, made with one MKD: the server's mkdir is
 * atomic, so of two applies that start together exactly one gets it (a lock file, read then
 * written, let both in), and it costs no data connection. The holder is named by one directory
 * inside it, `pid=<pid>,at=<UTC time>,host=<host>`, which a second apply reads to say who holds
 * it, and an apply on the same host uses to take over a lock whose process is gone.
 * ftpsync before 2026-12-01 wrote a JSON file of that name instead: still honoured.
 */
import { hostname } from 'node:os';
import { FtpsyncError } from '../errors.js';
import type { SyncConfig } from '../manifest/types.js';
import { remoteJoin } from '../remote/safe-names.js';
import type { RemotePool, RemoteSession } from '../remote/types.js';
import type { Reporter } from './progress.js';

/** The lock at a sync root: a directory (this file); an older ftpsync's lock file of the same name. */
export const LOCK_NAME = '.ftpsync.lock';

export interface HeldLock {
  /** The lock directory. */
  dir: string;
  /** The holder directory inside it (ours), once made. */
  holder: string | null;
}

export interface HeldLocks {
  locks: HeldLock[];
  /** How long taking them took once a session was logged in, ms (the login is the listing's too). */
  tookMs: number;
}

interface Holder {
  host: string;
  pid: number;
  /** ms since epoch, or null when not recorded. */
  atMs: number | null;
}

/**
 * Take the lock of every upload sync of one server, in manifest order. If one is held by another
 * apply, the ones already taken are given back and E_LOCKED is thrown, naming the holder.
 */
export async function takeSyncLocks(pool: RemotePool, server: string, syncs: SyncConfig[], reporter: Reporter): Promise<HeldLocks> {
  const locks: HeldLock[] = [];
  let tookMs = 0;
  if (!syncs.some((sync) => sync.direction === 'upload')) return { locks, tookMs };
  try {
    await pool.withSession(async (s) => {
      const started = performance.now();
      for (const sync of syncs) {
        if (sync.direction !== 'upload') continue;
        await s.mkdir(sync.remotePath);
        const lock: HeldLock = { dir: remoteJoin(sync.remotePath, LOCK_NAME), holder: null };
        await acquire(s, server, sync.remotePath, lock, reporter);
        locks.push(lock);
        const holder = remoteJoin(lock.dir, holderName({ host: hostname(), pid: process.pid, atMs: Date.now() }));
        if (!(await s.mkdirExclusive(holder)))
          throw new FtpsyncError('E_FTP', `${server} ${holder}: cannot record this apply in the lock`, undefined, { server, remotePath: holder });
        lock.holder = holder;
      }
      tookMs = performance.now() - started;
    });
  } catch (e) {
    await releaseSyncLocks(pool, locks);
    throw e;
  }
  return { locks, tookMs: Math.round(tookMs) };
}

/** Remove the locks this apply made; what cannot be removed is left to the stale-lock takeover. */
export async function releaseSyncLocks(pool: RemotePool, locks: HeldLock[]): Promise<void> {
  if (!locks.length) return;
  await pool
    .withSession(async (s) => {
      for (const l of locks) {
        if (l.holder) await s.rmdir(l.holder).catch(() => undefined);
        await s.rmdir(l.dir).catch(() => undefined);
      }
    })
    .catch(() => undefined);
}

/** Make the lock directory, taking over a stale one of this host; E_LOCKED if someone holds it. */
async function acquire(s: RemoteSession, server: string, root: string, lock: HeldLock, reporter: Reporter): Promise<void> {
  if (await s.mkdirExclusive(lock.dir)) return;
  const locked = (who: string, remove: string) =>
    new FtpsyncError(
      'E_LOCKED',
      `${server} ${root}: another apply holds the lock (${who})`,
      `If no apply is running, ${remove} on the server and run apply again.`,
      { server, remotePath: lock.dir },
    );
  // Refused: held (a directory, or an older ftpsync's file), or not allowed at all. Looked at
  // directly, not in the root's listing: some servers list no dot names (pure-ftpd without -D).
  const inside = await s.list(lock.dir).catch((e: unknown) => {
    if (e instanceof FtpsyncError && e.details.ftpCode === 550) return null; // not a directory
    throw e;
  });
  if (!inside) {
    const content = await s.readSmallFile(lock.dir);
    if (!content)
      throw new FtpsyncError('E_FTP', `${server} ${lock.dir}: cannot create the lock directory`, `Check that the user may create directories in ${root}.`, {
        server,
        remotePath: lock.dir,
      });
    const holder = parseLegacyHolder(content);
    if (!holder || !isGoneLocal(holder))
      throw locked(holder ? describe(holder) : printable(content.toString('utf8').slice(0, 200)), `delete the file ${lock.dir}`);
    reporter.note(server, `taking over the stale lock ${lock.dir} (${describe(holder)}: that process is gone)`);
    await s.remove(lock.dir);
    if (await s.mkdirExclusive(lock.dir)) return;
    throw locked('taken meanwhile by another apply', `remove the directory ${lock.dir}`);
  }
  // The holder is recorded one MKD after the lock: an empty lock may be one being taken right now.
  const entries = inside.length ? inside : await holderAfterAWhile(s, lock.dir);
  const holders = entries.map((e) => ({ name: e.name, holder: parseHolder(e.name) }));
  const removeHint = `remove the directory ${lock.dir} and what is in it`;
  if (holders.length !== 1 || !holders[0]!.holder) {
    throw locked(
      holders.length
        ? `holder unreadable: ${holders
            .map((h) => printable(h.name))
            .join(', ')
            .slice(0, 200)}`
        : 'no holder recorded: an apply may have been stopped while taking it',
      removeHint,
    );
  }
  const { name, holder } = holders[0]! as { name: string; holder: Holder };
  if (!isGoneLocal(holder)) throw locked(describe(holder), removeHint);
  // Left by an apply on this machine that no longer runs (killed, crashed): take it over.
  reporter.note(server, `taking over the stale lock ${lock.dir} (${describe(holder)}: that process is gone)`);
  await s.rmdir(remoteJoin(lock.dir, name));
}

/** List an empty lock again a few times, 50 ms apart: long enough for its taker's next MKD. */
async function holderAfterAWhile(s: RemoteSession, dir: string): Promise<Array<{ name: string }>> {
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const inside = await s.list(dir).catch(() => []);
    if (inside.length) return inside;
  }
  return [];
}

/** The holder directory's name: only characters every server allows in a name. */
function holderName(h: Holder): string {
  const at = new Date(h.atMs ?? Date.now()).toISOString().replace(/[-:]|\.\d{3}/g, '');
  return `pid=${h.pid},at=${at},host=${safeHost(h.host)}`;
}

function safeHost(host: string): string {
  return host.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
}

function parseHolder(name: string): Holder | null {
  const m = /^pid=(\d{1,10}),at=(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z,host=([A-Za-z0-9._-]{1,100})$/.exec(name);
  if (!m) return null;
  const atMs = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
  return { pid: Number(m[1]), atMs: Number.isFinite(atMs) ? atMs : null, host: m[8]! };
}

/** The lock file of ftpsync before 2026-12-01: {"host","pid","at"}. */
function parseLegacyHolder(content: Buffer): Holder | null {
  try {
    const j = JSON.parse(content.toString('utf8')) as { host?: unknown; pid?: unknown; at?: unknown };
    if (typeof j.host !== 'string' || typeof j.pid !== 'number') return null;
    const atMs = typeof j.at === 'string' ? Date.parse(j.at) : NaN;
    return { host: j.host, pid: j.pid, atMs: Number.isFinite(atMs) ? atMs : null };
  } catch {
    return null;
  }
}

/** A holder on this host whose process is gone (not this process). */
function isGoneLocal(h: Holder): boolean {
  if (h.host !== safeHost(hostname()) && h.host !== hostname()) return false;
  if (h.pid === process.pid) return false;
  try {
    process.kill(h.pid, 0);
    return false; // alive
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function describe(h: Holder): string {
  const age = h.atMs === null ? 'age unknown' : `${Math.max(0, Math.round((Date.now() - h.atMs) / 60_000))} min ago`;
  return printable(`${h.host} pid ${h.pid}, ${age}`);
}

/** Names and files on the server are shown masked: no control characters reach the terminal. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
