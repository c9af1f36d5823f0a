#!/usr/bin/env python3
"""The lab's latency: a userspace router between two TUN devices that holds every packet for
RTT/2 in each direction (this kernel has no netem). Started by scripts/lab.mjs inside the server
namespace; the lab moves the client-side device into the client namespace (a TUN fd keeps working
after its device changes namespace). The devices are not persistent: they go when this process does.

    python3 lab/latency-router.py --rtt-ms 50 --dev-a fts-srv0 --dev-b fts-cli0 --ready FILE

Only the standard library: it must run on a fresh Debian 12 CI machine.
"""
import argparse
import collections
import fcntl
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
# Far more than the lab ever has in flight (a 5 MB transfer at 150 ms is ~2,000 packets); past it
# packets are dropped like a full router queue would, so memory stays bounded.
MAX_QUEUED = 50_000
MAX_PACKET = 65_536


def open_tun(name):
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH22x', name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--rtt-ms', type=float, required=True)
    p.add_argument('--dev-a', required=True)
    p.add_argument('--dev-b', required=True)
    p.add_argument('--ready', required=True, help='file written once both devices exist')
    args = p.parse_args()
    one_way = args.rtt_ms / 2000.0

    fd_a, fd_b = open_tun(args.dev_a), open_tun(args.dev_b)
    peer = {fd_a: fd_b, fd_b: fd_a}
    # One FIFO per direction: the delay is constant, so due times arrive in order.
    queues = {fd_a: collections.deque(), fd_b: collections.deque()}  # queue of packets to write to fd
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(args.ready, 'w') as f:
        f.write(str(os.getpid()))
    stats = {'forwarded': 0, 'dropped': 0}

    while True:
        now = time.monotonic()
        for out_fd, q in queues.items():
            while q and q[0][0] <= now:
                _, packet = q.popleft()
                try:
                    os.write(out_fd, packet)
                    stats['forwarded'] += 1
                except BlockingIOError:
                    stats['dropped'] += 1
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - time.monotonic()) if due else 1.0
        try:
            readable, _, _ = select.select([fd_a, fd_b], [], [], timeout)
        except InterruptedError:
            continue
        arrived = time.monotonic()
        for in_fd in readable:
            # Drain what is there (bounded): one select per packet would cost throughput.
            for _ in range(256):
                try:
                    packet = os.read(in_fd, MAX_PACKET)
                except BlockingIOError:
                    break
                except OSError as e:
                    # The device went (its namespace was deleted): nothing left to route.
                    print(f'latency-router: {e}; exiting', file=sys.stderr)
                    return 0
                if not packet:
                    return 0
                q = queues[peer[in_fd]]
                if len(q) >= MAX_QUEUED:
                    stats['dropped'] += 1
                    continue
                q.append((arrived + one_way, packet))


if __name__ == '__main__':
    sys.exit(main())
