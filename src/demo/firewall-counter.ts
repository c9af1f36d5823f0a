/**
 * The demo's firewall: every second, read /proc/net/tcp{,6} (no root needed) and count the demo
 * server's sockets per remote IP the way CSF/lfd does (every state but LISTEN, TIME_WAIT
 * included, only the server's ports). Reports the peak; past the limit it "blocks" the IP.
 */
import { readFileSync } from 'node:fs';
import { countByRemoteIp, parseProcNetTcp, type PortFilter, type TcpState } from '../firewall/proc-net-tcp.js';

export interface FirewallCounterOptions {
  /** CSF's CT_LIMIT: a count above this blocks the IP. */
  limit: number;
  /** The server's local ports: control port and passive range. */
  ports: PortFilter;
  intervalMs?: number;
  onBlock?: (ip: string, count: number, byState: Partial<Record<TcpState, number>>) => void;
  /** Injected for tests; default reads /proc/net/tcp and /proc/net/tcp6. */
  readTables?: () => string[];
}

export interface IpPeak {
  ip: string;
  peak: number;
  timeWaitAtPeak: number;
  /** Sockets per TCP state at the peak, e.g. { TIME_WAIT: 30, ESTABLISHED: 2 }. */
  byStateAtPeak: Partial<Record<TcpState, number>>;
}

function readProcTables(): string[] {
  const out: string[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      out.push(readFileSync(f, 'utf8'));
    } catch {
      // tcp6 is absent when IPv6 is disabled
    }
  }
  return out;
}

export class FirewallCounter {
  private readonly peaks = new Map<string, IpPeak>();
  private readonly blockedIps = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: FirewallCounterOptions) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One read of the tables; public so a test or the demo's end can take a last sample. */
  sample(): void {
    const sockets = (this.opts.readTables ?? readProcTables)().flatMap((t) => parseProcNetTcp(t));
    for (const [ip, c] of countByRemoteIp(sockets, this.opts.ports)) {
      const prev = this.peaks.get(ip);
      if (!prev || c.total > prev.peak) this.peaks.set(ip, { ip, peak: c.total, timeWaitAtPeak: c.timeWait, byStateAtPeak: { ...c.byState } });
      if (c.total > this.opts.limit && !this.blockedIps.has(ip)) {
        this.blockedIps.add(ip);
        this.opts.onBlock?.(ip, c.total, { ...c.byState });
      }
    }
  }

  isBlocked(ip: string): boolean {
    return this.blockedIps.has(ip);
  }

  get blocked(): string[] {
    return [...this.blockedIps];
  }

  /** Peak per remote IP, highest first. */
  report(): IpPeak[] {
    return [...this.peaks.values()].sort((a, b) => b.peak - a.peak);
  }
}
