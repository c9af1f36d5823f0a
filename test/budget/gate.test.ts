/** The gate reserves the slot it grants, so concurrent sessions never take the same last slot. */
import { describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger, RESERVATION_TTL_MS, timeWaitCountedMs } from '../../src/budget/ledger.js';

function clock() {
  let t = 1_000_000;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

describe('budget gate', () => {
  it("a second caller waits while the first one's connection is still connecting (reserved)", async () => {
    const c = clock();
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const gate = new BudgetGate(ledger, 2, c);
    const first = await gate.acquire('data', 'a');
    const second = await gate.acquire('data', 'b');
    expect(ledger.counted(c.now())).toBe(2);
    // Neither has connected yet; a third must not get a slot before one of them expires or closes.
    let third: number | null = null;
    const waiting = gate.acquire('data', 'c').then((id) => (third = id));
    await Promise.resolve();
    expect(third).toBeNull();
    // The first connects and is closed by us with a reset: its slot frees at once.
    const id = ledger.opened('data', c.now(), 'a', first);
    expect(id).toBe(first);
    ledger.closed(id, 'reset', c.now());
    await waiting;
    expect(third).not.toBeNull();
    expect(ledger.totals().data).toBe(1);
    ledger.release(second, c.now());
    expect(ledger.counted(c.now())).toBe(1);
  });

  it('a reservation never taken up stops counting after its TTL', () => {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    ledger.reserve('data', 0, 'lost');
    expect(ledger.counted(RESERVATION_TTL_MS - 1)).toBe(1);
    expect(ledger.counted(RESERVATION_TTL_MS)).toBe(0);
    expect(ledger.live()).toBe(0);
  });

  it('a reservation whose connect never came (a blocked SYN) is no connection that got through', () => {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const data = ledger.opened('data', 10, 'RETR a');
    ledger.closed(data, 'server', 12);
    const login = ledger.reserve('control', 3_000, 'login');
    expect(ledger.lastConnectedAt()).toBe(10);
    expect(ledger.countedSpans()).toEqual([{ from: 10, until: 12 + timeWaitCountedMs(60_000) }]);
    ledger.opened('control', 3_005, 'login', login);
    expect(ledger.lastConnectedAt()).toBe(3_005);
  });

  it('a server-closed connection counts for timeWait plus the slack', () => {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const id = ledger.opened('data', 0);
    ledger.closed(id, 'server', 1_000);
    expect(ledger.counted(64_999)).toBe(1);
    expect(ledger.counted(66_000)).toBe(0);
  });

  // The ledger forgets expired records as time goes on (speed); these are the cases where a
  // forgotten record must count again.
  it('an expired reservation taken up late counts again, as an open connection', () => {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const r = ledger.reserve('data', 0, 'slow connect');
    expect(ledger.counted(RESERVATION_TTL_MS + 1)).toBe(0);
    ledger.opened('data', RESERVATION_TTL_MS + 2, 'slow connect', r);
    expect(ledger.counted(RESERVATION_TTL_MS + 3)).toBe(1);
    expect(ledger.earliestSlot(RESERVATION_TTL_MS + 3, 1)).toBe(Infinity);
  });

  it('a question about an earlier time sees the records forgotten since', () => {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000, clientCloseLingerMs: 100 });
    const id = ledger.opened('data', 0);
    ledger.closed(id, 'client', 10);
    expect(ledger.counted(1_000)).toBe(0);
    expect(ledger.counted(50)).toBe(1);
    expect(ledger.earliestSlot(50, 1)).toBe(110);
  });

  it('a longer linger set later makes client-closed records count again', () => {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000, clientCloseLingerMs: 100 });
    const id = ledger.opened('data', 0);
    ledger.closed(id, 'client', 10);
    expect(ledger.counted(200)).toBe(0);
    ledger.setClientCloseLinger(250);
    expect(ledger.counted(200)).toBe(1);
  });

  it('counts the same as a full scan over a long random run', () => {
    const ledger = new ConnectionLedger({ timeWaitMs: 1_000, clientCloseLingerMs: 30 });
    const sides = ['client', 'server', 'reset', 'unknown'] as const;
    let seed = 7;
    const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const open: number[] = [];
    for (let t = 0; t < 5_000; t += 1 + Math.floor(rnd() * 5)) {
      if (rnd() < 0.6) open.push(ledger.opened('data', t));
      if (open.length && rnd() < 0.6) ledger.closed(open.splice(Math.floor(rnd() * open.length), 1)[0]!, sides[Math.floor(rnd() * 4)]!, t);
      const full = ledger.all().filter((r) => ledger.countedUntil(r) > t).length;
      expect(ledger.counted(t)).toBe(full);
    }
  });
});
