/**
 * pool.warm logs the other sessions in while planning lists, but only once one login worked: with
 * a wrong password apply must fail one login, not one per session (CSF counts failed FTP logins,
 * LF_FTPD, and blocks the IP for them too). Unit level: a small loopback server that counts logins.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger } from '../../src/budget/ledger.js';
import { makeSecret } from '../../src/manifest/secret.js';
import { createRemotePool } from '../../src/remote/pool.js';
import type { RemotePool } from '../../src/remote/types.js';
import { loopbackConfig } from './loopback-config.js';

interface CountingServer {
  port: number;
  /** PASS commands seen, and how many sessions were logged in at most at once. */
  passes: number;
  maxLoggedIn: number;
  /** PASS and its reply, in the order the server saw them. */
  events: string[];
  close(): Promise<void>;
}

async function countingServer(password: string): Promise<CountingServer> {
  const sockets = new Set<net.Socket>();
  let loggedIn = 0;
  const stats = { passes: 0, maxLoggedIn: 0 };
  const events: string[] = [];
  const server = net.createServer((c) => {
    sockets.add(c);
    let mine = false;
    c.on('close', () => {
      sockets.delete(c);
      if (mine) loggedIn--;
    });
    c.on('error', () => undefined);
    c.write('220 counting test server\r\n');
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const [cmd, ...rest] = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 2);
        const verb = cmd!.toUpperCase();
        if (verb === 'USER') c.write('331 password\r\n');
        else if (verb === 'PASS') {
          stats.passes++;
          events.push('PASS');
          // A login takes a while on real servers (vsftpd: 50–90 ms in the lab): long enough to overlap.
          setTimeout(() => {
            events.push(rest.join(' ') === password ? '230' : '530');
            if (rest.join(' ') !== password) return void c.write('530 Login incorrect.\r\n');
            mine = true;
            loggedIn++;
            stats.maxLoggedIn = Math.max(stats.maxLoggedIn, loggedIn);
            c.write('230 in\r\n');
          }, 30);
        } else if (verb === 'FEAT') c.write('211-Features:\r\n EPSV\r\n UTF8\r\n211 End\r\n');
        else if (verb === 'PWD') c.write('257 "/"\r\n');
        else if (verb === 'QUIT') c.end('221 bye\r\n');
        else c.write('200 ok\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    events,
    get passes() {
      return stats.passes;
    },
    get maxLoggedIn() {
      return stats.maxLoggedIn;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const config = (port: number, password: string) => loopbackConfig('counting', port, { password: makeSecret(password, 'test'), firewall: { parallel: 3 } });

const until = async (ok: () => boolean, ms = 3000) => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
};

describe('pool.warm', () => {
  let srv: CountingServer | null = null;
  let pool: RemotePool | null = null;
  afterEach(async () => {
    await pool?.close();
    await srv?.close();
    pool = srv = null;
  });
  const poolFor = (s: CountingServer, password: string) => {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    return createRemotePool(config(s.port, password), { ledger, gate: new BudgetGate(ledger, 80) });
  };

  it('with a wrong password: one failed login, however many sessions were asked for', async () => {
    srv = await countingServer('right');
    pool = poolFor(srv, 'wrong');
    pool.warm(3);
    await expect(pool.withSession(async () => 'listed')).rejects.toThrow(/530|Login incorrect/);
    // Give any background login time to show up.
    await new Promise((r) => setTimeout(r, 200));
    expect(srv.passes).toBe(1);
  });

  it('asked before the first login: the others log in while the first session works', async () => {
    srv = await countingServer('right');
    pool = poolFor(srv, 'right');
    pool.warm(3);
    // The first task holds its session while the other two log in beside it.
    const s = srv;
    await pool.withSession(() => until(() => s.maxLoggedIn === 3));
    expect(srv.maxLoggedIn).toBe(3);
    expect(srv.passes).toBe(3);
    // The others were asked for before any login: they waited for the first one to work.
    expect(srv.events.slice(0, 2)).toEqual(['PASS', '230']);
  });
});
