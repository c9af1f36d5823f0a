/**
 * The lab client: what tests and lab scripts use to reach the lab (no vitest here, so scripts
 * run under vite-node can import it). The lab itself is brought up once by scripts/test.mjs
 * (or `npm run lab:up`), which then runs vitest inside the client namespace; this module reads
 * .lab/state.json and gives tests the servers, the firewall simulator and a few controls.
 *
 * No lab: the suite is skipped with the reason, except with CI=true, where it fails.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STATE_FILE = join(REPO, '.lab', 'state.json');

export type LabServerName = 'vsftpd' | 'pure-ftpd' | 'proftpd';
export const LAB_SERVERS: LabServerName[] = ['vsftpd', 'pure-ftpd', 'proftpd'];

export interface LabServer {
  name: LabServerName;
  host: string;
  port: number;
  implicitTlsPort?: number;
  user: string;
  password: string;
  root: string;
  caFile: string;
  pasvRange: [number, number];
  features: { implicitTls: boolean };
}

export interface FirewallStats {
  limit: number | null;
  peak: number;
  peakTimeWait: number;
  current: number;
  blocked: boolean;
  blocks: Array<{ at: number; count: number; timeWait: number; until: number }>;
  samples: number;
  /** The longest gap between two samples since configure/reset (the simulator's own lateness). */
  maxGapMs: number;
}

export interface SocketCount {
  total: number;
  timeWait: number;
  byState: Record<string, number>;
}

export interface FirewallControl {
  configure(opts: { limit: number | null; ports?: Array<number | [number, number]>; blockMs?: number; intervalMs?: number }): Promise<void>;
  reset(): Promise<void>;
  stats(): Promise<FirewallStats>;
}

export interface Lab {
  clientAddress: string;
  serverAddress: string;
  /** The network namespace the servers run in. */
  serverNamespace: string;
  servers: Record<LabServerName, LabServer>;
  firewall: FirewallControl;
  setSessionCap(server: LabServerName, cap: number | null): Promise<void>;
  /**
   * Restart a server with an idle-session timeout (vsftpd idle_session_timeout, seconds; pure-ftpd
   * -I, whole minutes); null restores its default. Restarting also lifts any session cap.
   */
  setIdleTimeout(server: 'vsftpd' | 'pure-ftpd', seconds: number | null): Promise<void>;
  /** The round trip between the namespaces now (0: the plain veth pair). */
  rttMs(): number;
  /**
   * Put a round trip between the namespaces (lab/latency-router.py; 0: the veth pair). Connections
   * open across the link are cut: call it at the start of a file and restore in afterAll.
   */
  setRtt(rttMs: number): Promise<void>;
  resetRoot(server: LabServerName): Promise<void>;
  /** Give the server's user ownership of files a test wrote into its root directly. */
  chownRoot(server: LabServerName): Promise<void>;
  serverSockets(): Promise<SocketCount>;
  /** Reset every live server-side socket of the client (ss -K), e.g. sessions a block left hanging. */
  dropClientSockets(): Promise<void>;
  /**
   * Destroy the client's server-side TIME_WAIT sockets (ss -K state time-wait; Linux ≥ 6.x), so the
   * next scenario starts clean without a 60 s wait. Kernels that cannot leave them to expire.
   */
  clearTimeWait(): Promise<void>;
  /** Wait (bounded) until the client has at most `atMost` server-side sockets (TIME_WAIT lasts 60 s). */
  waitQuiet(timeoutMs?: number, atMost?: number): Promise<void>;
  /**
   * Before a test that sets a limit: lift any limit and block, wait until the sockets earlier tests
   * left are down to `carry`, forget the peaks, then count with `opts`. Without the wait, TIME_WAIT
   * left by the previous test file (e.g. lftp's 600 downloads) blocks the client on the first sample.
   */
  armFirewall(opts: { limit: number; blockMs?: number; intervalMs?: number }, carry?: number): Promise<void>;
  /** Lift any limit and block and forget the peaks (a clean start for a test file). */
  disarmFirewall(): Promise<void>;
}

interface LabState {
  serverAddress: string;
  clientAddress: string;
  nsServer: string;
  fwSocket: string;
  servers: Record<LabServerName, LabServer>;
}

function fwRequest<T>(socketPath: string, request: object): Promise<T> {
  return new Promise((resolveReply, reject) => {
    const sock = net.connect(socketPath);
    let buf = '';
    sock.setTimeout(5000, () => sock.destroy(new Error('the firewall simulator did not answer within 5 s')));
    sock.on('connect', () => sock.write(JSON.stringify(request) + '\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        sock.end();
        const reply = JSON.parse(buf.slice(0, nl)) as T & { error?: string };
        if (reply.error) reject(new Error(`firewall simulator: ${reply.error}`));
        else resolveReply(reply);
      }
    });
    sock.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why there is no lab here, or null when there is one. */
export function labUnavailableReason(): string | null {
  if (process.env.FTPSYNC_LAB_SKIP_REASON) return process.env.FTPSYNC_LAB_SKIP_REASON;
  if (!existsSync(STATE_FILE)) return 'the lab is not up (run `npm test` as root, or `npm run lab:up`)';
  // A lab left up by another run is not ours to use: lab tests run inside its client namespace,
  // where `npm test` starts them (and holds the lab's lock).
  const { clientAddress } = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { clientAddress: string };
  const here = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
  if (!here.includes(clientAddress)) return `not inside the lab's client namespace (no ${clientAddress} here): run lab tests with \`npm test -- <files>\``;
  return null;
}

let cached: Lab | null = null;

export function getLab(): Lab {
  if (cached) return cached;
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as LabState;
  const firewall: FirewallControl = {
    async configure(opts) {
      await fwRequest(state.fwSocket, { cmd: 'configure', ...opts });
    },
    async reset() {
      await fwRequest(state.fwSocket, { cmd: 'reset' });
    },
    stats: () => fwRequest<FirewallStats>(state.fwSocket, { cmd: 'stats' }),
  };
  const serverSockets = () => fwRequest<SocketCount>(state.fwSocket, { cmd: 'sockets' });
  const disarmFirewall = async () => {
    await firewall.configure({ limit: null, intervalMs: 1000 });
    await firewall.reset();
  };
  cached = {
    disarmFirewall,
    async armFirewall(opts, carry = 5) {
      await disarmFirewall();
      await this.clearTimeWait();
      await this.waitQuiet(75_000, carry);
      await firewall.reset();
      await firewall.configure({ blockMs: 30_000, intervalMs: 200, ...opts });
    },
    clientAddress: state.clientAddress,
    serverAddress: state.serverAddress,
    serverNamespace: state.nsServer,
    servers: state.servers,
    firewall,
    async setSessionCap(server, cap) {
      const args = [join(REPO, 'scripts', 'lab.mjs'), 'restart', server];
      if (cap !== null) args.push('--cap', String(cap));
      await execFileAsync(process.execPath, args, { timeout: 30_000 });
    },
    async setIdleTimeout(server, seconds) {
      const args = [join(REPO, 'scripts', 'lab.mjs'), 'restart', server];
      if (seconds !== null) args.push('--idle', String(seconds));
      await execFileAsync(process.execPath, args, { timeout: 30_000 });
    },
    rttMs() {
      return (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { rttMs?: number }).rttMs ?? 0;
    },
    async setRtt(rttMs) {
      await execFileAsync(process.execPath, [join(REPO, 'scripts', 'lab.mjs'), 'link', '--rtt', String(rttMs)], { timeout: 30_000 });
    },
    async resetRoot(server) {
      const root = state.servers[server].root;
      await execFileAsync('find', [root, '-mindepth', '1', '-delete'], { timeout: 30_000 });
    },
    async chownRoot(server) {
      const s = state.servers[server];
      await execFileAsync('chown', ['-R', `${s.user}:${s.user}`, s.root], { timeout: 30_000 });
    },
    serverSockets,
    async dropClientSockets() {
      await execFileAsync('ip', ['netns', 'exec', state.nsServer, 'ss', '-K', '-Htn', 'dst', state.clientAddress], { timeout: 10_000 });
    },
    async clearTimeWait() {
      await execFileAsync('ip', ['netns', 'exec', state.nsServer, 'ss', '-K', '-Htn', 'state', 'time-wait', 'dst', state.clientAddress], {
        timeout: 10_000,
      }).catch(() => undefined);
    },
    async waitQuiet(timeoutMs = 75_000, atMost = 0) {
      // Bounded: Linux TIME_WAIT is 60 s.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const c = await serverSockets();
        if (c.total <= atMost) return;
        if (Date.now() > deadline) throw new Error(`lab: ${c.total} server-side sockets still open after ${timeoutMs} ms: ${JSON.stringify(c.byState)}`);
        await sleep(500);
      }
    },
  };
  return cached;
}
