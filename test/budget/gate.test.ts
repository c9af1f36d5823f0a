/** The gate reserves the slot it grants, so concurrent sessions never take the same last slot. */
import { describe, expect, it } from 'vitest';
import { BudgetGate } from '../../src/budget/gate.js';
import { ConnectionLedger, RESERVATION_TTL_MS } from '../../src/budget/ledger.js';

function clock() {
  let t = 1_000_000;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

describe('budget gate', () => {
  it('a second caller waits while the first one\'s connection is still connecting (reserved)', async () => {
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

  it('a server-closed connection counts for timeWait plus the slack', () => {
    const ledger = new ConnectionLedger({ timeWaitMs: 60_000 });
    const id = ledger.opened('data', 0);
    ledger.closed(id, 'server', 1_000);
    expect(ledger.counted(64_999)).toBe(1);
    expect(ledger.counted(66_000)).toBe(0);
  });
});
