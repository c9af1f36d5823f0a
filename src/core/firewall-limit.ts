/**
 * The budget arithmetic every layer shares (the manifest's check, the plan, the gate, probe).
 * One home, so the figure the plan schedules against is the figure the gate enforces.
 */

/** What the firewall may count of ours at once, control connections included: floor(maxConnections × headroom). */
export function countedLimit(fw: { maxConnections: number; headroom: number }): number {
  return Math.floor(fw.maxConnections * fw.headroom);
}

/** The data connections' share: the counted limit minus one live control connection per parallel session. */
/** The sessions `parallel: auto` runs on a LAN, and before a round trip is measured. */
export const LAN_PARALLEL = 2;

export function connectionBudget(fw: { maxConnections: number; headroom: number; parallel: number }): number {
  return countedLimit(fw) - fw.parallel;
}
