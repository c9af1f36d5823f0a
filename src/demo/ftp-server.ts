/**
 * A small FTP server for `npm run demo` and tests: no root needed, one user, one root directory,
 * passive mode only (EPSV + PASV over a port range), paths confined to the root.
 *
 * It closes data connections the way real servers do: after RETR and listings the server sends
 * FIN first (so TIME_WAIT lands here, where a CSF-like counter sees it); on STOR/APPE it reads to
 * EOF and lets the client close first.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { normalizeIp, openPassive, pipeToSocket, receiveFromSocket, runTransfer, sendListing, type PassiveListener, type PassiveRange } from './ftp-data.js';
import { formatFtpTime } from '../core/ftp-time.js';
import { multilineReply, parseFtpTime } from './ftp-format.js';
import { Quirks, type QuirkOptions } from './quirks.js';
import { Reply, RootedFs } from './rooted-fs.js';

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
  /** Behave like another server (iis, filezilla, ...) and inject faults (quirks.ts). */
  quirks?: QuirkOptions;
  /** Answer this transfer with 426 after its data went through (a server rejecting how the client closed). */
  rejectTransfer?: (command: 'RETR' | 'STOR' | 'APPE', path: string) => boolean;
}

const MAX_LINE = 8192;

interface Session {
  socket: net.Socket;
  ip: string;
  user: string | null;
  authed: boolean;
  cwd: string;
  renameFrom: string | null;
  passive: PassiveListener | null;
}

export class DemoFtpServer {
  private readonly server = net.createServer((s) => this.onConnection(s));
  private readonly sessions = new Set<Session>();
  private readonly host: string;
  private readonly passive: PassiveRange;
  private readonly fs = new RootedFs();
  private closed = false;
  readonly quirks: Quirks;
  /** What tests assert on: logins that succeeded and failed, and commands by name. */
  readonly stats = { logins: 0, failedLogins: 0, commands: new Map<string, number>() };

  constructor(private readonly opts: DemoFtpServerOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.passive = { host: this.host, ports: opts.passivePorts ?? [2122, 2171], next: 0 };
    if (this.passive.ports[0] > this.passive.ports[1]) throw new Error('passive port range is empty');
    this.quirks = new Quirks(opts.quirks);
    this.fs.dosListing = this.quirks.dosListing();
  }

  /** Start listening; resolves with the control port actually bound. */
  async listen(): Promise<number> {
    this.fs.rootReal = await fsp.realpath(this.opts.root);
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
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Drop every session at once (or a client's), as a server restart does (the listener stays). */
  dropAll(only: (s: Session) => boolean = () => true): void {
    for (const s of this.sessions) {
      if (!only(s)) continue;
      s.passive?.server.close();
      s.socket.destroy();
    }
  }

  /** Drop every session of a client that has just been "blocked". */
  dropClient(ip: string): void {
    this.dropAll((s) => s.ip === ip);
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
    this.send(session, 220, this.quirks.greeting());

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
        queue = queue
          .then(() => this.handle(session, line))
          .catch(() => {
            socket.destroy();
          });
      }
    });
  }

  private send(session: Session, code: number, text: string, multi?: { lines: string[]; last: string }): void {
    if (session.socket.destroyed || this.blocked(session.ip)) return;
    session.socket.write(multi ? multilineReply(code, text, multi.lines, multi.last) : `${code} ${text}\r\n`);
  }

  private async handle(session: Session, line: string): Promise<void> {
    if (this.blocked(session.ip)) return;
    const sp = line.indexOf(' ');
    const cmd = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : line.slice(sp + 1);
    this.log(`${session.ip} ${cmd}${cmd === 'PASS' ? ' ****' : arg ? ` ${arg}` : ''}`);
    this.stats.commands.set(cmd, (this.stats.commands.get(cmd) ?? 0) + 1);
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
          const refused = this.quirks.loginRefused([...this.sessions].filter((o) => o.authed).length);
          if (refused) {
            this.send(s, refused.code, refused.message);
            s.socket.end();
            return;
          }
          s.authed = true;
          this.stats.logins++;
          return this.send(s, 230, 'Login successful');
        }
        s.user = null;
        this.stats.failedLogins++;
        return this.send(s, 530, 'Login incorrect');
      case 'QUIT':
        this.send(s, 221, 'Goodbye');
        s.socket.end();
        return;
      case 'SYST':
        return this.send(s, 215, 'UNIX Type: L8');
      case 'FEAT':
        return this.send(s, 211, 'Features:', { lines: this.quirks.features(), last: 'End' });
      case 'NOOP':
        return this.send(s, 200, 'NOOP ok');
      case 'OPTS':
        if (/^UTF8( ON)?$/i.test(arg.trim())) return this.send(s, 200, 'Always in UTF8 mode');
        return this.send(s, 501, 'Option not understood');
    }
    if (!s.authed) throw new Reply(530, 'Please login with USER and PASS');
    this.quirks.before(cmd, arg, (p) => this.fs.virtual(s.cwd, p));
    switch (cmd) {
      case 'PWD':
      case 'XPWD':
        return this.send(s, 257, `"${s.cwd.replace(/"/g, '""')}" is the current directory`);
      case 'CWD':
      case 'XCWD': {
        const v = this.fs.virtual(s.cwd, arg || '/');
        await this.fs.statDir(v);
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
        const status = this.quirks.statInsteadOfListing(s.user ?? '');
        if (status) return this.send(s, status.code, status.first, { lines: status.lines, last: status.last });
        if (!arg) return this.send(s, 211, 'ftpsync demo server status:', { lines: [`Logged in as ${s.user ?? ''}`], last: 'End of status' });
        const lines = await this.fs.listLines(s.cwd, 'LIST', arg);
        return this.send(s, 213, 'Status follows:', { lines, last: 'End of status' });
      }
      case 'RETR': {
        const real = await this.fs.fileReal(s.cwd, arg);
        return this.transfer(s, (data) => pipeToSocket(createReadStream(real), data), ['RETR', this.fs.virtual(s.cwd, arg)]);
      }
      case 'STOR':
      case 'APPE': {
        const v = this.fs.virtual(s.cwd, arg);
        if (v === '/') throw new Reply(553, 'Could not create file');
        await this.fs.statDir(path.posix.dirname(v));
        const real = this.fs.real(v);
        return this.transfer(s, async (data) => this.quirks.stored(await receiveFromSocket(data, real, cmd === 'APPE', this.quirks.quotaLeft())), [cmd, v]);
      }
      case 'SIZE': {
        const st = await this.fs.statFile(this.fs.virtual(s.cwd, arg));
        return this.send(s, 213, String(st.size));
      }
      case 'MDTM': {
        const st = await this.fs.statFile(this.fs.virtual(s.cwd, arg));
        return this.send(s, 213, formatFtpTime(st.mtime));
      }
      case 'MFMT': {
        const m = /^(\S+) (.+)$/.exec(arg);
        const when = m ? parseFtpTime(m[1]!) : null;
        if (!m || !when) throw new Reply(501, 'Syntax: MFMT YYYYMMDDHHMMSS path');
        const v = this.fs.virtual(s.cwd, m[2]!);
        await this.fs.setMtime(v, when);
        return this.send(s, 213, `Modify=${formatFtpTime(when)}; ${v}`);
      }
      case 'MKD':
      case 'XMKD': {
        const v = this.fs.virtual(s.cwd, arg);
        await this.fs.mkdir(v);
        return this.send(s, 257, `"${v.replace(/"/g, '""')}" created`);
      }
      case 'RMD':
      case 'XRMD': {
        await this.fs.rmdir(this.fs.virtual(s.cwd, arg));
        return this.send(s, 250, 'Remove directory operation successful');
      }
      case 'DELE': {
        await this.fs.unlink(this.fs.virtual(s.cwd, arg));
        return this.send(s, 250, 'Delete operation successful');
      }
      case 'RNFR': {
        const v = this.fs.virtual(s.cwd, arg);
        await this.fs.renameSource(v);
        s.renameFrom = v;
        return this.send(s, 350, 'Ready for RNTO');
      }
      case 'RNTO': {
        const from = s.renameFrom;
        s.renameFrom = null;
        if (!from) throw new Reply(503, 'RNFR required first');
        const to = this.fs.virtual(s.cwd, arg);
        const refused = this.quirks.renameOntoExisting();
        if (refused && (await this.fs.exists(to))) throw refused;
        await this.fs.rename(from, to);
        return this.send(s, 250, 'Rename successful');
      }
      default:
        throw new Reply(502, 'Command not implemented');
    }
  }

  private async listing(s: Session, cmd: string, arg: string): Promise<void> {
    const lines = await this.fs.listLines(s.cwd, cmd, arg);
    return this.transfer(s, (data) => sendListing(data, lines));
  }

  private async openPassive(s: Session): Promise<number> {
    s.passive?.server.close();
    s.passive = null;
    const { port, listener } = await openPassive(this.passive, s.ip, this.opts.dataTimeoutMs ?? 10_000, () => this.blocked(s.ip));
    s.passive = listener;
    return port;
  }

  /** One data transfer; a file transfer (`file`) that rejectTransfer picks is answered 426 after its data. */
  private async transfer(s: Session, work: (data: net.Socket) => Promise<void>, file?: ['RETR' | 'STOR' | 'APPE', string]): Promise<void> {
    const passive = s.passive;
    s.passive = null;
    if (!passive) throw new Reply(425, 'Use PASV or EPSV first');
    const data = await passive.socket;
    await runTransfer(data, this.quirks.nextTransfer(), {
      reply: (code, text) => this.send(s, code, text),
      controlClosed: () => new Promise((resolve) => s.socket.once('close', resolve)),
      dropAll: () => this.dropAll(),
      work: async (data) => {
        await work(data);
        if (file && this.opts.rejectTransfer?.(...file)) throw new Reply(426, 'Transfer aborted');
      },
    });
  }
}
