import { describe, expect, it } from 'vitest';
import { countByRemoteIp, parseProcNetTcp, portMatches } from '../../src/firewall/proc-net-tcp.js';

// Real lines captured from a Debian 12 server namespace: a LISTEN on 10.203.51.1:21 (0x15),
// an ESTABLISHED control connection and a TIME_WAIT data connection from 10.203.51.2.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0133CB0A:0015 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0133CB0A:0015 0233CB0A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0133CB0A:7530 0233CB0A:C351 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   3: 0100007F:0CEA 0100007F:D431 08 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 20 4 30 10 -1
`;
// IPv4-mapped IPv6 (::ffff:10.203.51.2) and a plain IPv6 loopback peer.
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000133CB0A:0015 0000000000000000FFFF00000233CB0A:C352 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   1: 00000000000000000000000001000000:0016 00000000000000000000000001000000:D000 01 00000000:00000000 00:00000000 00000000     0        0 5 1 0000000000000000
`;

describe('parseProcNetTcp', () => {
  it('decodes IPv4 addresses, ports and states', () => {
    const s = parseProcNetTcp(TCP);
    expect(s).toHaveLength(4);
    expect(s[0]).toEqual({ localAddress: '10.203.51.1', localPort: 21, remoteAddress: '0.0.0.0', remotePort: 0, state: 'LISTEN' });
    expect(s[1]).toMatchObject({ remoteAddress: '10.203.51.2', remotePort: 50000, state: 'ESTABLISHED' });
    expect(s[2]).toMatchObject({ localPort: 30000, remoteAddress: '10.203.51.2', state: 'TIME_WAIT' });
    expect(s[3]).toMatchObject({ localAddress: '127.0.0.1', localPort: 3306, state: 'CLOSE_WAIT' });
  });

  it('decodes IPv6 and IPv4-mapped addresses', () => {
    const s = parseProcNetTcp(TCP6);
    expect(s[0]).toMatchObject({ localAddress: '10.203.51.1', remoteAddress: '10.203.51.2', state: 'TIME_WAIT' });
    expect(s[1]).toMatchObject({ localAddress: '0:0:0:0:0:0:0:1', remoteAddress: '0:0:0:0:0:0:0:1', localPort: 22 });
  });

  it('ignores the header and malformed lines', () => {
    expect(parseProcNetTcp('garbage\n  sl local\n 7: zz:zz yy:yy 01\n')).toEqual([]);
  });
});

describe('countByRemoteIp', () => {
  const sockets = [...parseProcNetTcp(TCP), ...parseProcNetTcp(TCP6)];

  it('counts every state but LISTEN, TIME_WAIT included, per remote IP', () => {
    const c = countByRemoteIp(sockets);
    expect(c.get('10.203.51.2')).toEqual({ total: 3, timeWait: 2, byState: { ESTABLISHED: 1, TIME_WAIT: 2 } });
    expect(c.has('0.0.0.0')).toBe(false);
  });

  it('counts only the given local ports, like CT_PORTS', () => {
    expect(countByRemoteIp(sockets, [21]).get('10.203.51.2')?.total).toBe(2);
    expect(countByRemoteIp(sockets, [[30000, 30099]]).get('10.203.51.2')?.total).toBe(1);
    expect(countByRemoteIp(sockets, [2121]).get('10.203.51.2')).toBeUndefined();
  });

  it('matches ports and ranges', () => {
    expect(portMatches(5, 'all')).toBe(true);
    expect(portMatches(5, [[1, 5]])).toBe(true);
    expect(portMatches(6, [[1, 5], 7])).toBe(false);
  });
});
