/**
 * The lab checks itself: real servers answer (plain, explicit and implicit FTPS, passive and
 * active), the firewall simulator counts server-side TIME_WAIT the way CSF does and blocks, and
 * the servers' own per-IP session caps answer 421/530.
 */
import { execFile } from 'node:child_process';
import { Client, FTPError } from 'basic-ftp';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLab, LAB_SERVERS, type Lab, type LabServerName } from './harness.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connect(lab: Lab, name: LabServerName, opts: { tls?: 'explicit' | 'implicit' | 'none'; timeoutMs?: number } = {}) {
  const s = lab.servers[name];
  const client = new Client(opts.timeoutMs ?? 10_000);
  const tls = opts.tls ?? 'none';
  // An IP host: verified against the certificate's IP SAN by `host` (an IP as SNI servername is deprecated, DEP0123).
  const secureOptions = { ca: readFileSync(s.caFile), host: s.host };
  await client.access({
    host: s.host,
    port: tls === 'implicit' ? (s.implicitTlsPort ?? s.port) : s.port,
    user: s.user,
    password: s.password,
    secure: tls === 'none' ? false : tls === 'implicit' ? 'implicit' : true,
    secureOptions,
  });
  return client;
}

describeLab('the lab', (lab) => {
  beforeAll(async () => {
    await lab.firewall.configure({ limit: null, intervalMs: 250 });
    await lab.firewall.reset();
  });
  afterAll(async () => {
    await lab.firewall.configure({ limit: null, intervalMs: 1000 });
    await lab.firewall.reset();
  });

  for (const name of LAB_SERVERS) {
    it(`${name}: explicit FTPS with the lab CA verified, upload and list`, async () => {
      await lab.resetRoot(name);
      const client = await connect(lab, name, { tls: 'explicit' });
      try {
        const local = join(lab.servers[name].root, '..', `${name}-probe.txt`);
        writeFileSync(local, `hello ${name}\n`);
        await client.uploadFrom(local, 'probe.txt');
        const list = await client.list();
        expect(list.map((f) => f.name)).toContain('probe.txt');
        expect(readFileSync(join(lab.servers[name].root, 'probe.txt'), 'utf8')).toBe(`hello ${name}\n`);
      } finally {
        client.close();
      }
    });
  }

  it('vsftpd: implicit FTPS on its own port', async () => {
    const client = await connect(lab, 'vsftpd', { tls: 'implicit' });
    try {
      expect(lab.servers.vsftpd.features.implicitTls).toBe(true);
      expect(await client.pwd()).toBe('/');
    } finally {
      client.close();
    }
  });

  it('a certificate that does not match is refused (verification is on)', async () => {
    const s = lab.servers.vsftpd;
    const client = new Client(5000);
    await expect(client.access({ host: s.host, port: s.port, user: s.user, password: s.password, secure: true, secureOptions: {} })).rejects.toThrow(
      /certificate/i,
    );
    client.close();
  });

  for (const name of LAB_SERVERS) {
    it(`${name}: active mode works (lftp, PORT from the server to the client namespace)`, async () => {
      const s = lab.servers[name];
      writeFileSync(join(s.root, 'active.txt'), 'active\n');
      await lab.chownRoot(name);
      const out = `/tmp/ftpsync-lab-active-${name}.txt`;
      // The password goes through the environment so a failure message cannot print it.
      await execFileAsync(
        'lftp',
        [
          '--env-password',
          '-u',
          s.user,
          '-p',
          String(s.port),
          '-e',
          `set ftp:ssl-allow false; set ftp:passive-mode false; set xfer:clobber on; set net:max-retries 1; set net:timeout 5; get active.txt -o ${out}; bye`,
          s.host,
        ],
        { timeout: 20_000, env: { ...process.env, LFTP_PASSWORD: s.password } },
      );
      expect(readFileSync(out, 'utf8')).toBe('active\n');
    });
  }

  it('the simulator counts server-side TIME_WAIT per client IP, like CSF', async () => {
    await lab.waitQuiet();
    await lab.firewall.reset();
    const client = await connect(lab, 'vsftpd');
    try {
      // Each LIST opens a data connection the server closes first: the server keeps TIME_WAIT.
      for (let i = 0; i < 6; i++) await client.list();
    } finally {
      client.close();
    }
    await sleep(600);
    const now = await lab.serverSockets();
    expect(now.timeWait).toBeGreaterThanOrEqual(6);
    const stats = await lab.firewall.stats();
    expect(stats.peak).toBeGreaterThanOrEqual(6);
    expect(stats.peakTimeWait).toBeGreaterThanOrEqual(5);
    expect(stats.blocked).toBe(false);
  }, 120_000);

  it('the simulator blocks the client IP past the limit, and the block is silent (timeouts)', async () => {
    // Sockets left by earlier tests only make the block come sooner; the assertions hold either way.
    await lab.firewall.reset();
    await lab.firewall.configure({ limit: 4, blockMs: 4000, intervalMs: 250 });
    try {
      const client = await connect(lab, 'pure-ftpd');
      try {
        for (let i = 0; i < 6; i++) await client.list();
      } finally {
        client.close();
      }
      await sleep(800);
      const stats = await lab.firewall.stats();
      expect(stats.blocked).toBe(true);
      expect(stats.blocks[0]?.count).toBeGreaterThan(4);
      // Blocked: packets are dropped, so a new connection times out rather than being refused.
      await expect(connect(lab, 'pure-ftpd', { timeoutMs: 1500 })).rejects.toThrow(/Timeout/i);
      // The block lifts after blockMs.
      await lab.firewall.configure({ limit: null, intervalMs: 250 });
      await sleep(4200);
      const again = await connect(lab, 'pure-ftpd');
      again.close();
    } finally {
      await lab.firewall.configure({ limit: null, intervalMs: 250 });
      await lab.firewall.reset();
    }
  }, 60_000);

  const capReplies: Record<LabServerName, number> = { vsftpd: 421, 'pure-ftpd': 421, proftpd: 530 };
  for (const name of LAB_SERVERS) {
    it(`${name}: a per-IP session cap answers ${capReplies[name]} to one session too many`, async () => {
      await lab.setSessionCap(name, 1);
      const first = await connect(lab, name);
      try {
        const err = await connect(lab, name, { timeoutMs: 5000 }).then(
          (c) => {
            c.close();
            return null;
          },
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(FTPError);
        expect((err as FTPError).code).toBe(capReplies[name]);
      } finally {
        first.close();
        await lab.setSessionCap(name, null);
      }
    });
  }
});
