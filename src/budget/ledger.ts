/**
 * The per-server connection ledger: every TCP connection the remote layer opens or closes is
 * reported here, so the budget sees real connections, not guesses. Pure: the clock is passed in.
 *
 * Who closes first decides what the firewall keeps counting (docs/firewall.md):
 *  - 'server': the server holds TIME_WAIT -> counted for timeWaitMs (+ slack) after close.
 *  - 'client': the server socket goes CLOSE_WAIT -> LAST_ACK -> CLOSED at once -> counted briefly.
 *  - 'reset':  we answered the server's FIN with RST, or the server reset the connection before
 *              any FIN -> the server socket is CLOSED at once.
 *  - 'unknown': treat like 'server' (the safe assumption).
 */
import type { CountedSpan } from './block-diagnosis.js';

export type ConnectionKind = 'control' | 'data';
export type CloseSide = 'server' | 'client' | 'reset' | 'unknown';

export interface ConnectionRecord {
  id: number;
  kind: ConnectionKind;
  openedAt: number;
  closedAt?: number;
  closedBy?: CloseSide;
  /** Free text for debugging: "RETR a/b.txt", "LIST /www". Never a secret. */
  purpose?: string;
  /** A slot the gate handed out for a connection that is not connected yet (see reserve()). */
  reserved?: boolean;
  /** When it connected (a reservation's openedAt is when the gate granted it). */
  connectedAt?: number;
}

/** A reservation the connection never took up (connect failed, crash) stops counting after this. */
export const RESERVATION_TTL_MS = 60_000;

export interface LedgerOptions {
  timeWaitMs: number;
  /** How long a client-closed connection may still show on the server (LAST_ACK), ms. */
  clientCloseLingerMs?: number;
}

/**
 * After our FIN the server's socket lives about one round trip (LAST_ACK). This is the figure
 * before a round trip is measured; apply uses clientCloseLingerMs(rtt) from cost.ts.
 */
const DEFAULT_CLIENT_CLOSE_LINGER_MS = 250;

/**
 * Added to timeWait for connections the server may hold in TIME_WAIT. Linux's TIME_WAIT timer
 * fires late (docs/firewall.md), the server's close is a little after ours, and the firewall
 * samples on an interval: without slack the next phase starts while the last one's sockets are
 * still counted.
 */
const TIME_WAIT_SLACK_MS = 5_000;

/** How long after a server-side close the firewall may still count the connection. */
export function timeWaitCountedMs(timeWaitMs: number): number {
  return timeWaitMs + TIME_WAIT_SLACK_MS;
}

export class ConnectionLedger {
  private nextId = 1;
  private readonly records: ConnectionRecord[] = [];
  private readonly byId = new Map<number, ConnectionRecord>();
  /**
   * The records that may still count at the latest time asked (prunedAt): expired ones leave as
   * time goes on, so the gate's per-connection question costs what is counted, not every
   * connection of the run (scanning them all was quadratic: docs/benchmarks.md).
   * A question about an earlier time, or a longer linger, looks at every record again.
   */
  private maybeCounted = new Set<ConnectionRecord>();
  private prunedAt = -Infinity;
  private readonly timeWaitMs: number;
  private clientCloseLingerMs: number;

  constructor(options: LedgerOptions) {
    this.timeWaitMs = options.timeWaitMs;
    this.clientCloseLingerMs = options.clientCloseLingerMs ?? DEFAULT_CLIENT_CLOSE_LINGER_MS;
  }

  /** Once the round trip is known (apply, from the plan): how long a client-closed connection counts. */
  setClientCloseLinger(ms: number): void {
    // A longer linger can make dropped records count again: look at every record once more.
    if (ms > this.clientCloseLingerMs) this.maybeCounted = new Set(this.records);
    this.clientCloseLingerMs = ms;
  }

  /**
   * Hold a slot from the moment the gate grants it until the connection connects: the gate's
   * next caller must see it, or two sessions both take the last slot during one EPSV round trip.
   */
  reserve(kind: ConnectionKind, now: number, purpose?: string): number {
    const id = this.opened(kind, now, purpose);
    const record = this.records[this.records.length - 1]!;
    record.reserved = true;
    // Not connected (yet): the block diagnosis must not take a blocked SYN for a connection that got through.
    delete record.connectedAt;
    return id;
  }

  /** A reservation that will not be used (the connect failed before tracking): stop counting it. */
  release(id: number, now: number): void {
    if (this.byId.get(id)?.reserved) this.closed(id, 'reset', now);
  }

  /** A connection opened; with the reservation the gate gave for it, that record becomes it. */
  opened(kind: ConnectionKind, now: number, purpose?: string, reservation?: number): number {
    const candidate = reservation === undefined ? undefined : this.byId.get(reservation);
    const held = candidate?.reserved && candidate.closedAt === undefined ? candidate : undefined;
    if (held) {
      this.maybeCounted.add(held); // an expired reservation taken up late counts again
      held.reserved = false;
      held.connectedAt = now;
      held.kind = kind;
      if (purpose !== undefined) held.purpose = purpose;
      return held.id;
    }
    const record: ConnectionRecord = { id: this.nextId++, kind, openedAt: now, connectedAt: now };
    if (purpose !== undefined) record.purpose = purpose;
    this.records.push(record);
    this.byId.set(record.id, record);
    this.maybeCounted.add(record);
    return record.id;
  }

  closed(id: number, by: CloseSide, now: number): void {
    const record = this.byId.get(id);
    if (!record || record.closedAt !== undefined) return;
    record.closedAt = now;
    record.closedBy = by;
  }

  /** Until when (ms) this connection still counts on the server's side; Infinity while open. */
  countedUntil(record: ConnectionRecord): number {
    if (record.reserved && record.closedAt === undefined) return record.openedAt + RESERVATION_TTL_MS;
    if (record.closedAt === undefined) return Infinity;
    switch (record.closedBy) {
      case 'reset':
        return record.closedAt;
      case 'client':
        return record.closedAt + this.clientCloseLingerMs;
      default:
        return record.closedAt + timeWaitCountedMs(this.timeWaitMs);
    }
  }

  /** Connections the firewall still counts at `now`: live + closed ones still lingering. */
  counted(now: number): number {
    return this.countedUntilTimes(now).length;
  }

  /** countedUntil of every record still counted at `now`. */
  private countedUntilTimes(now: number): number[] {
    const times: number[] = [];
    if (now < this.prunedAt) {
      for (const r of this.records) {
        const t = this.countedUntil(r);
        if (t > now) times.push(t);
      }
      return times;
    }
    for (const r of this.maybeCounted) {
      const t = this.countedUntil(r);
      if (t > now) times.push(t);
      else this.maybeCounted.delete(r);
    }
    this.prunedAt = now;
    return times;
  }

  live(): number {
    return this.records.filter((r) => r.closedAt === undefined && !r.reserved).length;
  }

  /**
   * The earliest time >= now at which counted() + extra <= budget, assuming nothing new opens.
   * Returns Infinity when live connections alone already exceed it.
   */
  earliestSlot(now: number, budget: number, extra = 1): number {
    const until = this.countedUntilTimes(now).sort((a, b) => a - b);
    const excess = until.length + extra - budget;
    if (excess <= 0) return now;
    const t = until[excess - 1];
    return t === undefined || t === Infinity ? Infinity : t;
  }

  all(): readonly ConnectionRecord[] {
    return this.records;
  }

  /**
   * Every connection that connected, as the server side may count it (the block diagnosis's
   * history; reservations are not sockets the firewall sees). Bounded by the run's connections.
   */
  countedSpans(): CountedSpan[] {
    const spans: CountedSpan[] = [];
    for (const r of this.records) if (r.connectedAt !== undefined) spans.push({ from: r.connectedAt, until: this.countedUntil(r) });
    return spans;
  }

  /** When the last connection that connected at or before `t` did (-Infinity: none). */
  lastConnectedAt(t = Infinity): number {
    let last = -Infinity;
    for (const r of this.records) if (r.connectedAt !== undefined && r.connectedAt <= t && r.connectedAt > last) last = r.connectedAt;
    return last;
  }

  /** Total connections opened, per kind (reservations never used are not connections). */
  totals(): { control: number; data: number } {
    let control = 0;
    let data = 0;
    for (const r of this.records) {
      if (r.reserved) continue;
      if (r.kind === 'control') control++;
      else data++;
    }
    return { control, data };
  }
}
