/** How the demo server writes times and listing lines (UTC, as vsftpd and MLSD do). */
import type { Stats } from 'node:fs';
import { formatFtpTime } from '../core/ftp-time.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

export function parseFtpTime(s: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?$/.exec(s);
  if (!m) return null;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** One `ls -l` line, as vsftpd writes it (UTC times). */
export function unixListLine(name: string, st: Stats, now = new Date()): string {
  const kind = st.isDirectory() ? 'd' : '-';
  const perms = st.isDirectory() ? 'rwxr-xr-x' : 'rw-r--r--';
  const d = st.mtime;
  const recent = Math.abs(now.getTime() - d.getTime()) < 180 * 86_400_000;
  const when = recent ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` : ` ${d.getUTCFullYear()}`;
  const date = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${when}`;
  return `${kind}${perms}    1 ftp      ftp  ${String(st.size).padStart(12, ' ')} ${date} ${name}`;
}

export function mlsdLine(name: string, st: Stats): string {
  const type = st.isDirectory() ? 'dir' : 'file';
  return `type=${type};size=${st.size};modify=${formatFtpTime(st.mtime)}; ${name}`;
}

/** One IIS (DOS format) listing line: `12-01-26  10:15AM       <DIR>          name`, times in UTC. */
export function dosListLine(name: string, st: Stats): string {
  const d = st.mtime;
  const h = d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12;
  const date = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}-${pad(d.getUTCFullYear() % 100)}`;
  const time = `${pad(h)}:${pad(d.getUTCMinutes())}${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
  const what = st.isDirectory() ? '       <DIR>         ' : String(st.size).padStart(21, ' ');
  return `${date}  ${time}${what} ${name}`;
}

/** A multiline reply; body lines start with a space so none can be taken for the closing "code " line. */
export function multilineReply(code: number, first: string, lines: string[], last: string): string {
  const body = lines.map((l) => ` ${l}\r\n`).join('');
  return `${code}-${first}\r\n${body}${code} ${last}\r\n`;
}
