/** A time as FTP writes it (MDTM, MFMT, MLSD's modify fact): YYYYMMDDHHMMSS in UTC. */
export function formatFtpTime(at: Date | number): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}
