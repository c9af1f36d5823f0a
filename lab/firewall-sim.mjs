#!/usr/bin/env node
// @ts-check
// The lab's firewall simulator: what CSF/lfd's connection tracking does, run in the server
// namespace. Every interval it reads /proc/net/tcp{,6}, counts sockets per remote IP in every
// state but LISTEN (TIME_WAIT included), optionally only for some local ports (CT_PORTS), and
// when a count passes the limit, drops that IP with nftables for the block time.
// Controlled over a unix socket, one JSON request per line:
//   {"cmd":"configure","limit":100|null,"ports":[21,[30000,30099]],"blockMs":30000,"intervalMs":1000}
//   {"cmd":"reset"}   forget peaks and blocks, unblock everyone
//   {"cmd":"stats"}   peak, peakTimeWait, current, blocked, blocks for the client IP (+ per IP),
//                   samples and the longest gap between two (maxGapMs)
//   {"cmd":"sockets"} a fresh count right now
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';

// The built parser (`npm test` builds first); typed from its source.
/** @type {typeof import('../src/firewall/proc-net-tcp.js')} */
const { countByRemoteIp, parseProcNetTcp } = await import(new URL('../dist/firewall/proc-net-tcp.js', import.meta.url).href);

const args = process.argv.slice(2);
/** @type {(name: string, dflt?: string) => string | undefined} */
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const socketPath = arg('socket') ?? '';
const clientIp = arg('client') ?? '';
if (!socketPath || !clientIp) {
  process.stderr.write('usage: firewall-sim.mjs --socket PATH --client IP\n');
  process.exit(2);
}

/** @typedef {import('../src/firewall/proc-net-tcp.js').PortFilter} PortFilter */
/** @typedef {{ limit: number | null, ports: PortFilter, blockMs: number, intervalMs: number }} Config */
/** @typedef {{ peak: number, peakTimeWait: number, current: number, currentTimeWait: number }} IpRecord */
/** @typedef {{ ip: string, at: number, count: number, timeWait: number, until: number }} Block */
/** @typedef {{ cmd?: string, limit?: number | null, ports?: PortFilter, blockMs?: number, intervalMs?: number, ip?: string }} Request */

/** @type {Config} */
let config = { limit: null, ports: 'all', blockMs: 30_000, intervalMs: 1000 };
/** @type {Map<string, IpRecord>} */
let perIp = new Map();
/** @type {Block[]} */
let blocks = [];
let samples = 0;
/** The longest gap between two samples since the last configure/reset: a late sample can miss a short ramp. */
let maxGapMs = 0;
let lastSampleAt = 0;
/** @type {NodeJS.Timeout | null} */
let timer = null;

function readSockets() {
  let text = '';
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      text += readFileSync(f, 'utf8');
    } catch {
      // tcp6 may be absent
    }
  }
  return parseProcNetTcp(text);
}

/** @param {string[]} args */
function nft(args) {
  execFileSync('nft', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Blocks go through one long-lived `nft -i`, which applies each line as it arrives: spawning nft
 * per block took 100 ms and more on a busy machine, and connections got through meanwhile.
 * @type {import('node:child_process').ChildProcessByStdio<import('node:stream').Writable, null, import('node:stream').Readable> | null}
 */
let nftShell = null;
/** @param {string} command one nft command line */
function nftNow(command) {
  if (!nftShell || nftShell.exitCode !== null || !nftShell.stdin.writable) {
    const shell = spawn('nft', ['-i'], { stdio: ['pipe', 'ignore', 'pipe'] });
    shell.stderr.on('data', (d) => process.stderr.write(`firewall-sim: nft: ${d}`));
    shell.on('error', (e) => process.stderr.write(`firewall-sim: nft -i: ${e}\n`));
    nftShell = shell;
  }
  nftShell.stdin.write(`${command}\n`);
}

/** @param {string} ip */
function blockedNow(ip, now = Date.now()) {
  return blocks.some((b) => b.ip === ip && b.until > now);
}

function sample() {
  samples++;
  const now = Date.now();
  if (lastSampleAt > 0) maxGapMs = Math.max(maxGapMs, now - lastSampleAt);
  lastSampleAt = now;
  const counts = countByRemoteIp(readSockets(), config.ports);
  for (const rec of perIp.values()) {
    rec.current = 0;
    rec.currentTimeWait = 0;
  }
  for (const [ip, c] of counts) {
    let rec = perIp.get(ip);
    if (!rec) perIp.set(ip, (rec = { peak: 0, peakTimeWait: 0, current: 0, currentTimeWait: 0 }));
    rec.current = c.total;
    rec.currentTimeWait = c.timeWait;
    if (c.total > rec.peak) {
      rec.peak = c.total;
      rec.peakTimeWait = c.timeWait;
    }
    if (config.limit !== null && c.total > config.limit && !blockedNow(ip, now) && ip.includes('.')) {
      const seconds = Math.max(1, Math.ceil(config.blockMs / 1000));
      nftNow(`add element inet ftpsync_fw blocked { ${ip} timeout ${seconds}s }`);
      blocks.push({ ip, at: now, count: c.total, timeWait: c.timeWait, until: now + seconds * 1000 });
    }
  }
}

function schedule() {
  if (timer) clearInterval(timer);
  maxGapMs = 0;
  lastSampleAt = 0;
  timer = setInterval(() => {
    try {
      sample();
    } catch (e) {
      process.stderr.write(`firewall-sim: ${e}\n`);
    }
  }, config.intervalMs);
}

function stats() {
  const now = Date.now();
  const rec = perIp.get(clientIp) ?? { peak: 0, peakTimeWait: 0, current: 0, currentTimeWait: 0 };
  return {
    limit: config.limit,
    ports: config.ports,
    intervalMs: config.intervalMs,
    peak: rec.peak,
    peakTimeWait: rec.peakTimeWait,
    current: rec.current,
    blocked: blockedNow(clientIp, now),
    blocks: blocks.filter((b) => b.ip === clientIp).map(({ at, count, timeWait, until }) => ({ at, count, timeWait, until })),
    samples,
    maxGapMs,
    perIp: Object.fromEntries(perIp),
  };
}

/** @param {Request} req */
function handle(req) {
  switch (req.cmd) {
    case 'configure':
      config = {
        limit: req.limit ?? null,
        ports: req.ports ?? 'all',
        blockMs: req.blockMs ?? 30_000,
        intervalMs: req.intervalMs ?? 1000,
      };
      schedule();
      return { ok: true, config };
    case 'reset':
      perIp = new Map();
      blocks = [];
      samples = 0;
      maxGapMs = 0;
      lastSampleAt = 0;
      nft(['flush', 'set', 'inet', 'ftpsync_fw', 'blocked']);
      return { ok: true };
    case 'stats':
      return stats();
    case 'sockets': {
      const c = countByRemoteIp(readSockets(), req.ports ?? 'all').get(req.ip ?? clientIp);
      return c ?? { total: 0, timeWait: 0, byState: {} };
    }
    default:
      return { error: `unknown cmd ${req.cmd}` };
  }
}

rmSync(socketPath, { force: true });
const server = net.createServer((sock) => {
  let buf = '';
  sock.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let reply;
      try {
        reply = handle(JSON.parse(line));
      } catch (e) {
        reply = { error: String(e) };
      }
      sock.write(JSON.stringify(reply) + '\n');
    }
  });
  sock.on('error', () => {});
});
server.listen(socketPath, () => schedule());
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
