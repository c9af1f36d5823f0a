/**
 * A small FTP server for `npm run demo` and tests: no root needed, one user, one root directory,
 * passive mode only (EPSV + PASV over a port range), paths confined to the root.
 *
 * It closes data connections the way real servers do: after RETR and listings the server sends
 * FIN first (so TIME_WAIT lands here, where a CSF-like counter sees it); on STOR/APPE it reads to
 * EOF and lets the client close first.
 */
import { createReadStream, createWriteStream, promises as fsp, type Stats } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { formatFtpTime } from '../core/ftp-time.js';

export interface DemoFtpServerOptions {
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Control port; 0 picks a free one. Default 2121. */
  port?: number;
  user: string;
  password: string;
  /** Directory served as "/". */
  root: string;
  /** Inclusive passive port range; default [2122, 2171]. */
  passivePorts?: [number, number];
  /** Firewall stand-in: a blocked client's packets are silently ignored, like an lfd block. */
  isBlocked?: (remoteIp: string) => boolean;
  /** One line per command (passwords never logged). */
  log?: (line: string) => void;
  /** How long to wait for the client's data connection; default 10 s. */
  dataTimeoutMs?: number;
}

/** Reply error: a code and text to send back. */
class Reply extends Error {
  constructor(readonly code: number, text: string) {
    super(text);
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MAX_LINE = 8192;

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function parseFtpTime(s: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?$/.exec(s);
  if (!m) return null;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** One `ls -l` line, as vsftpd writes it (UTC times). */
function unixListLine(name: string, st: Stats, now = new Date()): string {
  const kind = st.isDirectory() ? 'd' : '-';
  const perms = st.isDirectory() ? 'rwxr-xr-x' : 'rw-r--r--';
  const d = st.mtime;
  const recent = Math.abs(now.getTime() - d.getTime()) < 180 * 86_400_000;
  const when = recent ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` : ` ${d.getUTCFullYear()}`;
  const date = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${when}`;
  return `${kind}${perms}    1 ftp      ftp  ${String(st.size).padStart(12, ' ')} ${date} ${name}`;
}

function mlsdLine(name: string, st: Stats): string {
  const type = st.isDirectory() ? 'dir' : 'file';
  return `type=${type};size=${st.size};modify=${formatFtpTime(st.mtime)}; ${name}`;
}

interface Session {
  socket: net.Socket;
  ip: string;
  user: string | null;
  authed: boolean;
  cwd: string;
  renameFrom: string | null;
  passive: { server: net.Server; socket: Promise<net.Socket> } | null;
}

export class DemoFtpServer {
  private readonly server = net.createServer((s) => this.onConnection(s));
  private readonly sessions = new Set<Session>();
  private readonly host: string;
  private readonly passivePorts: [number, number];
  private nextPassive = 0;
  private rootReal = '';
  private closed = false;

  constructor(private readonly opts: DemoFtpServerOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.passivePorts = opts.passivePorts ?? [2122, 2171];
    if (this.passivePorts[0] > this.passivePorts[1]) throw new Error('passive port range is empty');
  }

  /** Start listening; resolves with the control port actually bound. */
  async listen(): Promise<number> {
    this.rootReal = await fsp.realpath(this.opts.root);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 2121, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Stop accepting, end every session and passive listener. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.sessions) {
      s.passive?.server.close();
      s.socket.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Drop every session of a client that has just been "blocked". */
  dropClient(ip: string): void {
    for (const s of this.sessions) {
      if (s.ip === ip) {
        s.passive?.server.close();
        s.socket.destroy();
      }
    }
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private blocked(ip: string): boolean {
    return this.opts.isBlocked?.(ip) ?? false;
  }

  private onConnection(socket: net.Socket): void {
    const ip = normalizeIp(socket.remoteAddress ?? '');
    if (this.closed || this.blocked(ip)) {
      // A firewall drop: never answer. Destroy so the demo process holds nothing forever.
      socket.destroy();
      return;
    }
    const session: Session = { socket, ip, user: null, authed: false, cwd: '/', renameFrom: null, passive: null };
    this.sessions.add(session);
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      session.passive?.server.close();
      this.sessions.delete(session);
    });
    this.send(session, 220, 'ftpsync demo server ready');

    // Commands run one at a time, in order, as the RFC expects.
    let buf = '';
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      if (buf.length > MAX_LINE && !buf.includes('\n')) {
        this.send(session, 500, 'Command line too long');
        socket.destroy();
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        queue = queue.then(() => this.handle(session, line)).catch(() => {
          socket.destroy();
        });
      }
    });
  }

  private send(session: Session, code: number, text: string): void {
    if (session.socket.destroyed || this.blocked(session.ip)) return;
    session.socket.write(`${code} ${text}\r\n`);
  }

  private sendMulti(session: Session, code: number, first: string, lines: string[], last: string): void {
    if (session.socket.destroyed || this.blocked(session.ip)) return;
    // Body lines start with a space so none can be mistaken for the closing "code " line.
    const body = lines.map((l) => ` ${l}\r\n`).join('');
    session.socket.write(`${code}-${first}\r\n${body}${code} ${last}\r\n`);
  }

  private async handle(session: Session, line: string): Promise<void> {
    if (this.blocked(session.ip)) return;
    const sp = line.indexOf(' ');
    const cmd = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : line.slice(sp + 1);
    this.log(`${session.ip} ${cmd}${cmd === 'PASS' ? ' ****' : arg ? ` ${arg}` : ''}`);
    try {
      await this.dispatch(session, cmd, arg);
    } catch (err) {
      if (err instanceof Reply) this.send(session, err.code, err.message);
      else this.send(session, 451, `Local error: ${(err as Error).message.replace(/[\r\n]/g, ' ')}`);
    }
  }

  private async dispatch(s: Session, cmd: string, arg: string): Promise<void> {
    switch (cmd) {
      case 'USER':
        s.user = arg;
        s.authed = false;
        return this.send(s, 331, 'Please specify the password');
      case 'PASS':
        if (s.user === this.opts.user && arg === this.opts.password) {
          s.authed = true;
          return this.send(s, 230, 'Login successful');
        }
        s.user = null;
        return this.send(s, 530, 'Login incorrect');
      case 'QUIT':
        this.send(s, 221, 'Goodbye');
        s.socket.end();
        return;
      case 'SYST':
        return this.send(s, 215, 'UNIX Type: L8');
      case 'FEAT':
        return this.sendMulti(s, 211, 'Features:', ['EPSV', 'PASV', 'MDTM', 'MFMT', 'SIZE', 'MLSD', 'MLST type*;size*;modify*;', 'UTF8'], 'End');
      case 'NOOP':
        return this.send(s, 200, 'NOOP ok');
      case 'OPTS':
        if (/^UTF8( ON)?$/i.test(arg.trim())) return this.send(s, 200, 'Always in UTF8 mode');
        return this.send(s, 501, 'Option not understood');
    }
    if (!s.authed) throw new Reply(530, 'Please login with USER and PASS');
    switch (cmd) {
      case 'PWD':
      case 'XPWD':
        return this.send(s, 257, `"${s.cwd.replace(/"/g, '""')}" is the current directory`);
      case 'CWD':
      case 'XCWD': {
        const v = this.virtual(s, arg || '/');
        await this.statDir(v);
        s.cwd = v;
        return this.send(s, 250, 'Directory successfully changed');
      }
      case 'CDUP':
      case 'XCUP':
        s.cwd = path.posix.dirname(s.cwd);
        return this.send(s, 250, 'Directory successfully changed');
      case 'TYPE':
        if (/^(A|A N|I|L 8)$/i.test(arg.trim())) return this.send(s, 200, `Switching to ${arg.toUpperCase().startsWith('A') ? 'ASCII' : 'Binary'} mode`);
        throw new Reply(504, 'Unsupported type');
      case 'MODE':
        if (arg.toUpperCase() === 'S') return this.send(s, 200, 'Mode set to S');
        throw new Reply(504, 'Bad MODE command');
      case 'STRU':
        if (arg.toUpperCase() === 'F') return this.send(s, 200, 'Structure set to F');
        throw new Reply(504, 'Bad STRU command');
      case 'EPSV':
      case 'PASV': {
        const port = await this.openPassive(s);
        if (cmd === 'EPSV') return this.send(s, 229, `Entering Extended Passive Mode (|||${port}|)`);
        const h = this.host.split('.').join(',');
        return this.send(s, 227, `Entering Passive Mode (${h},${port >> 8},${port & 255})`);
      }
      case 'PORT':
      case 'EPRT':
        throw new Reply(502, 'Active mode is not supported by the demo server; use passive');
      case 'LIST':
      case 'NLST':
      case 'MLSD':
        return this.listing(s, cmd, arg);
      case 'STAT': {
        if (!arg) return this.sendMulti(s, 211, 'ftpsync demo server status:', [`Logged in as ${s.user ?? ''}`], 'End of status');
        const lines = await this.listLines(s, 'LIST', arg);
        return this.sendMulti(s, 213, 'Status follows:', lines, 'End of status');
      }
      case 'RETR': {
        const real = await this.fileReal(s, arg);
        return this.transfer(s, async (data) => {
          await pipeToSocket(createReadStream(real), data);
        });
      }
      case 'STOR':
      case 'APPE': {
        const v = this.virtual(s, arg);
        if (v === '/') throw new Reply(553, 'Could not create file');
        await this.statDir(path.posix.dirname(v));
        const real = this.real(v);
        return this.transfer(s, async (data) => {
          await receiveFromSocket(data, real, cmd === 'APPE');
        });
      }
      case 'SIZE': {
        const st = await this.statFile(this.virtual(s, arg));
        return this.send(s, 213, String(st.size));
      }
      case 'MDTM': {
        const st = await this.statFile(this.virtual(s, arg));
        return this.send(s, 213, formatFtpTime(st.mtime));
      }
      case 'MFMT': {
        const m = /^(\S+) (.+)$/.exec(arg);
        const when = m ? parseFtpTime(m[1]!) : null;
        if (!m || !when) throw new Reply(501, 'Syntax: MFMT YYYYMMDDHHMMSS path');
        const v = this.virtual(s, m[2]!);
        await this.statFile(v);
        await fsp.utimes(this.real(v), when, when);
        return this.send(s, 213, `Modify=${formatFtpTime(when)}; ${v}`);
      }
      case 'MKD':
      case 'XMKD': {
        const v = this.virtual(s, arg);
        await this.statDir(path.posix.dirname(v));
        try {
          await fsp.mkdir(this.real(v));
        } catch {
          throw new Reply(550, 'Create directory operation failed');
        }
        return this.send(s, 257, `"${v.replace(/"/g, '""')}" created`);
      }
      case 'RMD':
      case 'XRMD': {
        const v = this.virtual(s, arg);
        if (v === '/') throw new Reply(550, 'Remove directory operation failed');
        try {
          await fsp.rmdir(this.real(v));
        } catch {
          throw new Reply(550, 'Remove directory operation failed');
        }
        return this.send(s, 250, 'Remove directory operation successful');
      }
      case 'DELE': {
        const v = this.virtual(s, arg);
        await this.statFile(v);
        await fsp.unlink(this.real(v));
        return this.send(s, 250, 'Delete operation successful');
      }
      case 'RNFR': {
        const v = this.virtual(s, arg);
        if (v === '/') throw new Reply(550, 'RNFR command failed');
        try {
          await fsp.lstat(this.real(v));
        } catch {
          throw new Reply(550, 'RNFR command failed');
        }
        s.renameFrom = v;
        return this.send(s, 350, 'Ready for RNTO');
      }
      case 'RNTO': {
        const from = s.renameFrom;
        s.renameFrom = null;
        if (!from) throw new Reply(503, 'RNFR required first');
        const to = this.virtual(s, arg);
        if (to === '/') throw new Reply(550, 'Rename failed');
        await this.statDir(path.posix.dirname(to));
        try {
          await fsp.rename(this.real(from), this.real(to));
        } catch {
          throw new Reply(550, 'Rename failed');
        }
        return this.send(s, 250, 'Rename successful');
      }
      default:
        throw new Reply(502, 'Command not implemented');
    }
  }

  /** Resolve a client path against cwd into a normalized absolute path inside "/". */
  private virtual(s: Session, arg: string): string {
    if (arg.includes('\0')) throw new Reply(501, 'Invalid path');
    // posix.resolve from "/" can never climb above "/": "../../etc" becomes "/etc" under the root.
    return path.posix.resolve(s.cwd, arg.replace(/\\/g, '/'));
  }

  /** The real path of a virtual path; the root itself plus the (already normalized) tail. */
  private real(v: string): string {
    const real = path.join(this.rootReal, v);
    if (real !== this.rootReal && !real.startsWith(this.rootReal + path.sep)) throw new Reply(550, 'Permission denied');
    return real;
  }

  /** lstat that refuses symlinks, so a link inside the root cannot lead outside it. */
  private async lstat(v: string): Promise<Stats> {
    let st: Stats;
    try {
      st = await fsp.lstat(this.real(v));
    } catch {
      throw new Reply(550, `${v}: No such file or directory`);
    }
    if (st.isSymbolicLink()) throw new Reply(550, `${v}: Permission denied`);
    return st;
  }

  private async statDir(v: string): Promise<Stats> {
    const st = await this.lstat(v);
    if (!st.isDirectory()) throw new Reply(550, `${v}: Not a directory`);
    return st;
  }

  private async statFile(v: string): Promise<Stats> {
    const st = await this.lstat(v);
    if (!st.isFile()) throw new Reply(550, `${v}: Not a plain file`);
    return st;
  }

  private async fileReal(s: Session, arg: string): Promise<string> {
    const v = this.virtual(s, arg);
    await this.statFile(v);
    return this.real(v);
  }

  /** Listing lines for LIST/NLST/MLSD/STAT; options like "-a" are ignored as most servers do. */
  private async listLines(s: Session, cmd: string, arg: string): Promise<string[]> {
    const target = arg
      .split(' ')
      .filter((w) => !/^-[a-zA-Z]+$/.test(w))
      .join(' ');
    const v = this.virtual(s, target || '.');
    const st = await this.lstat(v);
    if (!st.isDirectory()) {
      const name = path.posix.basename(v);
      return [cmd === 'NLST' ? name : cmd === 'MLSD' ? mlsdLine(name, st) : unixListLine(name, st)];
    }
    const names = (await fsp.readdir(this.real(v))).sort();
    const lines: string[] = [];
    for (const name of names) {
      let est: Stats;
      try {
        est = await fsp.lstat(path.join(this.real(v), name));
      } catch {
        continue; // vanished meanwhile
      }
      if (est.isSymbolicLink() || (!est.isFile() && !est.isDirectory())) continue;
      lines.push(cmd === 'NLST' ? name : cmd === 'MLSD' ? mlsdLine(name, est) : unixListLine(name, est));
    }
    return lines;
  }

  private async listing(s: Session, cmd: string, arg: string): Promise<void> {
    const lines = await this.listLines(s, cmd, arg);
    return this.transfer(s, async (data) => {
      const text = lines.map((l) => `${l}\r\n`).join('');
      await new Promise<void>((resolve, reject) => {
        data.once('error', reject);
        // end(): the server sends FIN first, as vsftpd does after a listing.
        data.end(text, () => resolve());
      });
    });
  }

  /** Open a passive listener on the next free port of the range. */
  private async openPassive(s: Session): Promise<number> {
    s.passive?.server.close();
    s.passive = null;
    const [lo, hi] = this.passivePorts;
    const span = hi - lo + 1;
    for (let i = 0; i < span; i++) {
      const port = lo + ((this.nextPassive + i) % span);
      const server = net.createServer({ pauseOnConnect: true });
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, this.host, () => resolve(true));
      });
      if (!ok) continue;
      this.nextPassive = (this.nextPassive + i + 1) % span;
      const timeout = this.opts.dataTimeoutMs ?? 10_000;
      const socket = new Promise<net.Socket>((resolve, reject) => {
        const timer = setTimeout(() => {
          server.close();
          reject(new Reply(425, 'Failed to establish connection'));
        }, timeout);
        server.on('connection', (data) => {
          // Only the session's own client may take its data connection (no FTP bounce/theft).
          if (normalizeIp(data.remoteAddress ?? '') !== s.ip || this.blocked(s.ip)) {
            data.destroy();
            return;
          }
          clearTimeout(timer);
          server.close();
          resolve(data);
        });
      });
      socket.catch(() => undefined); // handled when a transfer awaits it
      s.passive = { server, socket };
      return port;
    }
    throw new Reply(425, 'No free passive port');
  }

  private async transfer(s: Session, work: (data: net.Socket) => Promise<void>): Promise<void> {
    const passive = s.passive;
    s.passive = null;
    if (!passive) throw new Reply(425, 'Use PASV or EPSV first');
    const data = await passive.socket;
    data.on('error', () => undefined);
    this.send(s, 150, 'Opening BINARY mode data connection');
    data.resume();
    try {
      await work(data);
    } catch (err) {
      data.destroy();
      if (err instanceof Reply) throw err;
      throw new Reply(426, 'Connection closed; transfer aborted');
    }
    this.send(s, 226, 'Transfer complete');
  }
}

/** "::ffff:127.0.0.1" -> "127.0.0.1", so the counter and the blocker agree on the key. */
function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function pipeToSocket(src: NodeJS.ReadableStream & { destroy(): void }, data: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    src.on('error', reject);
    data.once('error', reject);
    data.once('close', () => reject(new Error('data connection closed early')));
    src.on('end', () => {
      // Server closes first after the last byte: FIN from here, TIME_WAIT on this side.
      data.end(() => resolve());
    });
    src.pipe(data, { end: false });
  });
}

function receiveFromSocket(data: net.Socket, real: string, append: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(real, { flags: append ? 'a' : 'w' });
    out.on('error', reject);
    data.once('error', reject);
    // Read to EOF: the client closes first after its last byte, as on real servers.
    data.pipe(out);
    out.on('finish', () => {
      data.end();
      resolve();
    });
  });
}
