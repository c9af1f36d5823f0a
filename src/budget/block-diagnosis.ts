/**
 * What a firewall block says about the firewall's limit (pure). A CSF-like firewall counts our
 * sockets every sample interval and blocks at the first sample whose count passes its limit; it
 * drops every packet from then on. So:
 *  - the last connection that got through (connected) came before the blocking sample;
 *  - from then on nothing new connects, so what the firewall counts only falls: the block came at
 *    the first sample after it, within one interval (or before the failure, if that came sooner);
 *  - a sample within the interval before it let us through. But a sample can come late (lfd is a
 *    process on a busy host) and the firewall acts on it later still (lfd runs iptables), so a
 *    connection can slip through after the blocking sample: the passing sample is looked for over
 *    one interval more.
 * The limit is therefore at least the least ftpsync held over that window before the last
 * connection, and below the most it held over the interval after it. The count when the failure
 * is noticed (after a pause, say) says nothing about the limit.
 */

/** How late, as a fraction of the sample interval, a firewall may sample and act. */
const LATENESS = 1;

/** One connection as the firewall may count it: from when it connected until it stops counting (Infinity while open). */
export interface CountedSpan {
  from: number;
  until: number;
}

export interface BlockFacts {
  spans: readonly CountedSpan[];
  /** When the last connection that got through connected (ms). */
  lastThroughAt: number;
  /** When the failure was noticed (ms). */
  noticedAt: number;
  /** How often the firewall counts (CSF CT_INTERVAL), ms. */
  sampleIntervalMs: number;
}

export interface BlockDiagnosis {
  /** What ftpsync held while the block can have begun: least and most. */
  heldLow: number;
  heldHigh: number;
  /** The firewall let this many through at a sample: the limit is at least this. */
  limitAtLeast: number;
  /** The limit is below this (the blocking sample counted more than the limit, at most this). */
  limitBelow: number;
  /** The firewall counted more than ftpsync held (other connections from this IP, or another client): the range is a guess. */
  countedMoreThanOurs: boolean;
}

/** How many spans count at `t`. */
export function countedAt(spans: readonly CountedSpan[], t: number): number {
  let n = 0;
  for (const s of spans) if (s.from <= t && t < s.until) n++;
  return n;
}

/** Least and most counted over [from, to]: the count changes only where a span starts or ends. */
export function countedRange(spans: readonly CountedSpan[], from: number, to: number): { low: number; high: number } {
  const points = [from, to];
  for (const s of spans) {
    if (s.from > from && s.from <= to) points.push(s.from);
    if (s.until > from && s.until <= to) points.push(s.until);
  }
  let low = Infinity;
  let high = 0;
  for (const t of points) {
    const c = countedAt(spans, t);
    low = Math.min(low, c);
    high = Math.max(high, c);
  }
  return { low, high };
}

export function diagnoseBlock(f: BlockFacts): BlockDiagnosis {
  const blockEnd = Math.max(f.lastThroughAt, Math.min(f.noticedAt, f.lastThroughAt + f.sampleIntervalMs));
  const during = countedRange(f.spans, f.lastThroughAt, blockEnd);
  const before = countedRange(f.spans, f.lastThroughAt - f.sampleIntervalMs * (1 + LATENESS), f.lastThroughAt);
  const limitBelow = Math.max(1, during.high);
  const countedMoreThanOurs = before.low >= limitBelow;
  return {
    heldLow: during.low,
    heldHigh: during.high,
    limitAtLeast: countedMoreThanOurs ? Math.max(1, limitBelow - 1) : before.low,
    limitBelow,
    countedMoreThanOurs,
  };
}

/**
 * The maxConnections to go on with after a block (pure): the most the firewall is known to have
 * let through, so the gate (this × headroom) stays below the least count at which the block can
 * have begun. Never more than the manifest's; never so low that one session cannot transfer
 * (then `floored`: the budget may exceed what is known to pass).
 */
export function learnedMaxConnections(
  d: BlockDiagnosis,
  fw: { maxConnections: number; headroom: number; parallel: number },
): { maxConnections: number; floored: boolean } {
  const workable = Math.max(2, Math.ceil((fw.parallel + 1) / fw.headroom));
  const known = Math.min(d.limitAtLeast, fw.maxConnections);
  return known >= workable ? { maxConnections: known, floored: false } : { maxConnections: Math.min(workable, fw.maxConnections), floored: true };
}

/** A limit learned from a block, as stored per server. */
export interface LearnedLimit {
  maxConnections: number;
  /** When the block was noticed (ISO). */
  at: string;
  /** What the diagnosis said: the limit is at least / below. */
  limitAtLeast: number;
  limitBelow: number;
}

/**
 * The firewall settings to plan and run with (pure): the learned limit where it is lower than the
 * manifest's, unless the manifest's is confirmed.
 */
export function withLearnedLimit<F extends { maxConnections: number; confirmed?: boolean }>(
  fw: F,
  learned: LearnedLimit | undefined,
  store: string,
): F & { learned?: { manifestMaxConnections: number; at: string; store: string } } {
  if (!learned || fw.confirmed || learned.maxConnections >= fw.maxConnections) return fw;
  return { ...fw, maxConnections: learned.maxConnections, learned: { manifestMaxConnections: fw.maxConnections, at: learned.at, store } };
}

/** A successful run held more than the learned limit (it was reset or confirmed): what was learned is out of date. */
export function learnedLimitOutgrown(learned: LearnedLimit | undefined, peakCounted: number): boolean {
  return learned !== undefined && peakCounted > learned.maxConnections;
}
