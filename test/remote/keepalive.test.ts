/**
 * Sessions kept alive through pauses: the schedule learns the server's idle timeout (pure), and
 * the pool's NOOPs keep a server with a short idle timeout from dropping idle sessions, while one
 * dropped anyway leaves the pool at once and is replaced (a loopback server with an idle timer).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import { DEFAULT_KEEPALIVE_MS, KeepaliveSchedule, MIN_KEEPALIVE_MS, idleTimeoutFromReply } from '../../src/remote/keepalive.js';
import { createRemotePool } from '../../src/remote/pool.js';
import type { RemotePool } from '../../src/remote/types.js';
import { loopbackConfig } from './loopback-config.js';

describe('KeepaliveSchedule', () => {
  it('reads the idle timeout servers show in their 421', () => {
    expect(idleTimeoutFromReply('421 Idle timeout (600 seconds): closing control connection')).toBe(600);
    expect(idleTimeoutFromReply('421 Timeout (no operation for 90 secs)')).toBe(90);
    expect(idleTimeoutFromReply('421 Idle timeout: 2 minutes')).toBe(120);
    expect(idleTimeoutFromReply('421 Timeout.')).toBeNull();
    expect(idleTimeoutFromReply('421 Too many connections (4) from this IP')).toBeNull();
  });

  it('starts at the default, only ever lowers the interval, to half what the server allows', () => {
    const k = new KeepaliveSchedule();
    expect(k.intervalMs).toBe(DEFAULT_KEEPALIVE_MS);
    k.learnFromReply('421 Idle timeout (600 seconds): closing control connection');
    expect(k.intervalMs).toBe(DEFAULT_KEEPALIVE_MS); // 300 s would be longer than the default
    k.learnFromReply('421 Idle timeout (20 seconds)');
    expect(k.intervalMs).toBe(10_000);
    expect(k.reason).toMatch(/20 s/);
    k.learnFromDrop(8_000);
    expect(k.intervalMs).toBe(4_000);
    k.learnFromDrop(60_000);
    expect(k.intervalMs).toBe(4_000);
    k.learnFromDrop(10);
    expect(k.intervalMs).toBeGreaterThanOrEqual(MIN_KEEPALIVE_MS);
    expect(k.due(0, 3_999)).toBe(false);
    expect(k.due(0, 4_000)).toBe(true);
  });
});

interface IdleServer {
  port: number;
  logins: number;
  noops: number;
  drops: number;
  close(): Promise<void>;
}

/** Logs anyone in; drops a session quiet for idleMs with vsftpd's "421 Timeout." (no figure shown). */
async function idleTimeoutServer(idleMs: number): Promise<IdleServer> {
  const sockets = new Set<net.Socket>();
  const stats = { logins: 0, noops: 0, drops: 0 };
  const server = net.createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    c.on('error', () => undefined);
    let timer: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stats.drops++;
        c.end('421 Timeout.\r\n');
      }, idleMs);
    };
    c.on('close', () => clearTimeout(timer));
    touch();
    c.write('220 idle test server\r\n');
    let buf = '';
    c.on('data', (d) => {
      touch();
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const verb = buf.slice(0, i).split(' ')[0]!.toUpperCase();
        buf = buf.slice(i + 2);
        if (verb === 'USER') c.write('331 password\r\n');
        else if (verb === 'PASS') {
          stats.logins++;
          c.write('230 in\r\n');
        } else if (verb === 'NOOP') {
          stats.noops++;
          c.write('200 NOOP ok.\r\n');
        } else if (verb === 'QUIT') c.end('221 bye\r\n');
        else c.write('200 ok\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get logins() {
      return stats.logins;
    },
    get noops() {
      return stats.noops;
    },
    get drops() {
      return stats.drops;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const config = (port: number) => loopbackConfig('idle', port);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (ok: () => boolean, ms = 3000) => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end;) await sleep(10);
};

describe('pool.keepIdleAlive', () => {
  let srv: IdleServer | null = null;
  let pool: RemotePool | null = null;
  afterEach(async () => {
    await pool?.close();
    await srv?.close();
    pool = srv = null;
  });

  /** Two sessions logged in and idle, as after a phase. */
  async function twoIdleSessions(s: IdleServer, keepaliveMs: number) {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const p = createRemotePool(config(s.port), { ledger, gate: new BudgetGate(ledger, 80), keepaliveMs });
    p.warm(2);
    await p.withSession(() => until(() => s.logins === 2));
    expect(s.logins).toBe(2);
    return { p, ledger };
  }

  it('a pause four times the idle timeout: NOOPs keep both sessions, no reconnect, nothing dropped', async () => {
    srv = await idleTimeoutServer(300);
    const { p, ledger } = await twoIdleSessions(srv, 100);
    pool = p;
    // The executor's pause loop: keepIdleAlive, then sleep (1 s there; shorter here, like the timeout).
    for (const end = Date.now() + 1200; Date.now() < end;) {
      await p.keepIdleAlive();
      await sleep(50);
    }
    expect(srv.drops).toBe(0);
    expect(srv.noops).toBeGreaterThanOrEqual(2 * 8);
    expect(srv.logins).toBe(2);
    expect(ledger.totals().control).toBe(2);
    // Both still work.
    await Promise.all([p.withSession((s) => s.roundTripMs(1)), p.withSession((s) => s.roundTripMs(1))]);
    expect(srv.logins).toBe(2);
  });

  it('without keepalive the server drops both: the pool notices at once, learns the timeout, logs two new ones in', async () => {
    srv = await idleTimeoutServer(1200);
    const { p } = await twoIdleSessions(srv, 60_000);
    pool = p;
    const s = srv;
    const droppedAt = Date.now();
    await until(() => s.drops === 2 && s.logins === 4, 4000);
    // Replaced without any task asking: the next phase finds them logged in.
    expect(s.logins).toBe(4);
    expect(Date.now() - droppedAt).toBeLessThan(2000);
    // Dropped after ~1.2 s idle: NOOP at half that (at least MIN_KEEPALIVE_MS) from now on.
    expect(p.keepaliveIntervalMs()).toBe(MIN_KEEPALIVE_MS);
    await p.withSession((x) => x.roundTripMs(1));
    expect(s.logins).toBe(4);
  });
});
