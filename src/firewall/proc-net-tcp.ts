/**
 * Parse /proc/net/tcp and /proc/net/tcp6 and count sockets per remote IP the way CSF/lfd's
 * connection tracking does: every state but LISTEN counts, TIME_WAIT included, optionally only
 * for some local ports (CT_PORTS). Pure: the caller reads the files.
 */
export type TcpState =
  | 'ESTABLISHED'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'LISTEN'
  | 'CLOSING'
  | 'NEW_SYN_RECV'
  | 'UNKNOWN';

const STATES: Record<string, TcpState> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
  '0C': 'NEW_SYN_RECV',
};

export interface TcpSocket {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: TcpState;
}

/** Ports as CSF's CT_PORTS: single ports or inclusive ranges. 'all' counts every local port. */
export type PortFilter = 'all' | Array<number | [number, number]>;

/** /proc shows IPv4 as 8 hex digits in host (little-endian) byte order. */
function decodeIpv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

/** IPv6 is four 32-bit words, each little-endian. IPv4-mapped addresses come back as dotted IPv4. */
function decodeIpv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  const isMapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isMapped) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

function decodeEndpoint(field: string): { address: string; port: number } | null {
  const [addr, port] = field.split(':');
  if (addr === undefined || port === undefined) return null;
  if (addr.length === 8) return { address: decodeIpv4(addr), port: Number.parseInt(port, 16) };
  if (addr.length === 32) return { address: decodeIpv6(addr), port: Number.parseInt(port, 16) };
  return null;
}

/** Parse the text of /proc/net/tcp or /proc/net/tcp6 (header line skipped, bad lines ignored). */
export function parseProcNetTcp(text: string): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // "sl local_address rem_address st ..." -> fields[1], fields[2], fields[3]
    if (fields.length < 4 || !/^\d+:$/.test(fields[0] ?? '')) continue;
    const local = decodeEndpoint(fields[1] ?? '');
    const remote = decodeEndpoint(fields[2] ?? '');
    if (!local || !remote) continue;
    sockets.push({
      localAddress: local.address,
      localPort: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
      state: STATES[(fields[3] ?? '').toUpperCase()] ?? 'UNKNOWN',
    });
  }
  return sockets;
}

export function portMatches(port: number, filter: PortFilter): boolean {
  if (filter === 'all') return true;
  return filter.some((p) => (typeof p === 'number' ? p === port : port >= p[0] && port <= p[1]));
}

export interface IpCount {
  total: number;
  timeWait: number;
  byState: Partial<Record<TcpState, number>>;
}

/** Count sockets per remote IP as CSF does: all states but LISTEN, local ports filtered. */
export function countByRemoteIp(sockets: TcpSocket[], ports: PortFilter = 'all'): Map<string, IpCount> {
  const counts = new Map<string, IpCount>();
  for (const s of sockets) {
    if (s.state === 'LISTEN' || !portMatches(s.localPort, ports)) continue;
    let c = counts.get(s.remoteAddress);
    if (!c) counts.set(s.remoteAddress, (c = { total: 0, timeWait: 0, byState: {} }));
    c.total++;
    if (s.state === 'TIME_WAIT') c.timeWait++;
    c.byState[s.state] = (c.byState[s.state] ?? 0) + 1;
  }
  return counts;
}
