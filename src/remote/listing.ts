/**
 * Directory listings: parse LIST/STAT (unix and DOS formats) and MLSD text into validated
 * entries, and read a STAT reply over the control connection with our own line reader
 * (basic-ftp closes the client on replies over 64 KiB and can split lines across reads).
 */
import type { Socket } from 'node:net';
import { FileType, parseList, type FileInfo } from 'basic-ftp';
import { unsafeNameReason } from '../core/names.js';
import type { RemoteEntry } from '../core/tree.js';
import { FtpsyncError } from '../errors.js';
import { detachControlReader } from './basic-ftp-internals.js';

const MAX_STAT_REPLY_BYTES = 256 * 1024 * 1024;

export interface ParsedListing {
  entries: RemoteEntry[];
  /** Names the server sent that were unsafe: reported, never used. */
  rejected: Array<{ name: string; reason: string }>;
}

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

/**
 * A unix listing date: "Nov 24 10:15" (no year: the most recent such date not more than a day in
 * the server's future, 60 s precision) or "Nov 24  2025" (day precision). UTC, as the lab's and
 * most hosting servers' listings are; size-mtime comparison tolerates the precision.
 */
function parseUnixDate(raw: string, now: Date): { ms: number; precisionMs: number } | null {
  const m = /^([A-Za-z]{3})\s+(\d{1,2})\s+(?:(\d{1,2}):(\d{2})|(\d{4}))$/.exec(raw.trim());
  if (!m) return null;
  const month = MONTHS[(m[1] ?? '').toLowerCase()];
  if (month === undefined) return null;
  const day = Number(m[2]);
  if (m[5] !== undefined) return { ms: Date.UTC(Number(m[5]), month, day), precisionMs: 86_400_000 };
  const hh = Number(m[3]);
  const mm = Number(m[4]);
  let year = now.getUTCFullYear();
  let ms = Date.UTC(year, month, day, hh, mm);
  // Without a year, servers show dates of the last six months: never pick one in the future.
  if (ms > now.getTime() + 86_400_000) ms = Date.UTC(--year, month, day, hh, mm);
  return { ms, precisionMs: 60_000 };
}

/**
 * A DOS (IIS) listing date: "12-01-26 10:15AM" (MM-DD-YY, 12-hour clock) or "12-01-2026 22:15",
 * minute precision, taken as UTC like the unix dates above.
 */
function parseDosDate(raw: string): { ms: number; precisionMs: number } | null {
  const m = /^(\d{2})-(\d{2})-(\d{2}|\d{4})\s+(\d{1,2}):(\d{2})\s*([AP]M)?$/i.exec(raw.trim());
  if (!m) return null;
  const yy = Number(m[3]);
  const year = m[3]!.length === 4 ? yy : yy < 70 ? 2000 + yy : 1900 + yy;
  let hh = Number(m[4]);
  const ampm = m[6]?.toUpperCase();
  if (ampm === 'AM' && hh === 12) hh = 0;
  else if (ampm === 'PM' && hh < 12) hh += 12;
  const ms = Date.UTC(year, Number(m[1]) - 1, Number(m[2]), hh, Number(m[5]));
  return Number.isNaN(ms) ? null : { ms, precisionMs: 60_000 };
}

function entryType(info: FileInfo): RemoteEntry['type'] {
  if (info.type === FileType.Directory) return 'dir';
  if (info.type === FileType.SymbolicLink) return 'symlink';
  if (info.type === FileType.File) return 'file';
  return 'other';
}

/** Parse listing text (unix, DOS or MLSD lines); drop "." and ".."; reject unsafe names. */
export function parseListingText(text: string, now: Date = new Date()): ParsedListing {
  const entries: RemoteEntry[] = [];
  const rejected: ParsedListing['rejected'] = [];
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/^ (?=[-dlbcps]|\d{2}-\d{2}-\d{2})/, ''))
    .filter((l) => l.trim() !== '' && !/^total \d+/.test(l))
    .filter((l) => {
      // basic-ftp silently drops MLSD names containing '/': check them here so they are reported.
      if (!/^[^\s=]+=\S+;/.test(l)) return true;
      const name = l.slice(l.indexOf(' ') + 1);
      const reason = name === '.' || name === '..' ? null : unsafeNameReason(name);
      if (reason) rejected.push({ name, reason });
      return reason === null;
    });
  if (lines.length === 0) return { entries, rejected };
  let infos: FileInfo[];
  try {
    infos = parseList(lines.join('\n'));
  } catch (e) {
    throw new FtpsyncError('E_FTP', `unrecognised directory listing format: ${(e as Error).message}`, 'Set listing: mlsd or list for this server.');
  }
  for (const info of infos) {
    if (info.name === '.' || info.name === '..') continue;
    const reason = unsafeNameReason(info.name);
    if (reason) {
      rejected.push({ name: info.name, reason });
      continue;
    }
    const e: RemoteEntry = { name: info.name, type: entryType(info), size: info.size };
    if (info.modifiedAt) {
      e.mtimeMs = info.modifiedAt.getTime();
      e.mtimePrecisionMs = 1000;
    } else if (info.rawModifiedAt) {
      const d = parseUnixDate(info.rawModifiedAt, now) ?? parseDosDate(info.rawModifiedAt);
      if (d) {
        e.mtimeMs = d.ms;
        e.mtimePrecisionMs = d.precisionMs;
      }
    }
    if (info.link) e.linkTarget = info.link;
    entries.push(e);
  }
  return { entries, rejected };
}

/**
 * Whether a STAT reply's body reads as a directory listing: every line an `ls -l` (unix) or DOS
 * line. Anything else is a status text (IIS answers STAT <path> that way), which basic-ftp's
 * parser would otherwise take for MLSD lines without facts, one "entry" per line of text.
 */
export function isStatListing(body: string[]): boolean {
  return body
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .every((l) => /^total \d+/.test(l) || /^[-dlbcpsDn?][-rwxsStTlL]{9}/.test(l) || /^\d{2}-\d{2}-\d{2,4}\s/.test(l));
}

export interface ControlReply {
  code: number;
  /** The lines between the first and the last line of a multi-line reply (the listing). */
  body: string[];
  text: string;
}

/**
 * Send a command on the control socket and read its (possibly huge) multi-line reply ourselves.
 * basic-ftp's own reader is detached meanwhile and restored after (basic-ftp-internals.ts).
 */
export function rawControlCommand(socket: Socket, command: string, timeoutMs: number, maxBytes = MAX_STAT_REPLY_BYTES): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const restoreReader = detachControlReader(socket);
    let buf = '';
    let bytes = 0;
    let code: string | null = null;
    const body: string[] = [];
    const lines: string[] = [];
    const finish = (err: Error | null, reply?: ControlReply) => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      restoreReader();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error(`Timeout waiting for the reply to ${command.split(' ')[0]}`)), timeoutMs);
    const onClose = () => finish(new Error('the server closed the control connection'));
    const onData = (chunk: string | Buffer) => {
      const s = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      bytes += Buffer.byteLength(s);
      if (bytes > maxBytes) {
        finish(new Error(`the reply to ${command.split(' ')[0]} exceeded ${maxBytes} bytes`));
        return;
      }
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (code === null) {
          const m = /^(\d{3})([- ])/.exec(line);
          if (!m) continue; // stray text before the reply
          code = m[1]!;
          if (m[2] === ' ') {
            finish(null, { code: Number(code), body, text: line });
            return;
          }
        } else if (line.startsWith(`${code} `)) {
          finish(null, { code: Number(code), body, text: lines.join('\n') });
          return;
        } else {
          body.push(line);
        }
      }
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(`${command}\r\n`);
  });
}
