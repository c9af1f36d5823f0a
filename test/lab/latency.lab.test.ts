/**
 * The lab at internet latency: lab/latency-router.py between the namespaces holds each packet for
 * RTT/2 each way. A TCP connect is one round trip, so its time shows the RTT the router gives;
 * a 5 MB upload shows it forwards bulk data too. The link is put back as it was afterwards.
 */
import { Client } from 'basic-ftp';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLab, type Lab } from './harness.js';

function connectMs(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const sock = net.connect({ host, port });
    sock.setTimeout(5000, () => sock.destroy(new Error(`no connect to ${host}:${port} within 5 s`)));
    sock.on('connect', () => {
      resolve(performance.now() - started);
      sock.destroy();
    });
    sock.on('error', reject);
  });
}

async function medianConnectMs(lab: Lab, samples: number): Promise<number> {
  const s = lab.servers.vsftpd;
  await connectMs(s.host, s.port); // the first wakes everything up
  const times: number[] = [];
  for (let i = 0; i < samples; i++) times.push(await connectMs(s.host, s.port));
  times.sort((a, b) => a - b);
  return times[Math.floor(samples / 2)] ?? Number.NaN;
}

describeLab('the lab at internet latency (lab/latency-router.py)', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-latency-'));
  let before = 0;
  beforeAll(() => {
    before = lab.rttMs();
  });
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await lab.setRtt(before);
  }, 30_000);

  it('RTT 50: TCP connect takes the set round trip (within 10 %), and 5 MB upload completes byte-equal', async () => {
    await lab.setRtt(50);
    expect(lab.rttMs()).toBe(50);
    const median = await medianConnectMs(lab, 11);
    expect(median).toBeGreaterThanOrEqual(45);
    expect(median).toBeLessThanOrEqual(55);

    const s = lab.servers.vsftpd;
    await lab.resetRoot('vsftpd');
    const local = join(work, 'big.bin');
    const body = randomBytes(5 * 1024 * 1024);
    writeFileSync(local, body);
    const client = new Client(20_000);
    try {
      await client.access({ host: s.host, port: s.port, user: s.user, password: s.password, secure: false });
      const started = Date.now();
      await client.uploadFrom(local, 'big.bin');
      const ms = Date.now() - started;
      // Measured ~0.7 s; a router that lost packets or serialised them would take far longer.
      expect(ms).toBeLessThan(10_000);
    } finally {
      client.close();
    }
    expect(readFileSync(join(s.root, 'big.bin')).equals(body)).toBe(true);
  }, 60_000);

  it('RTT 0 again: the plain veth pair, connect well under a millisecond or two', async () => {
    await lab.setRtt(0);
    expect(lab.rttMs()).toBe(0);
    expect(await medianConnectMs(lab, 5)).toBeLessThan(5);
  }, 30_000);
});
