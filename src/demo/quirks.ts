/**
 * Quirk profiles and fault injectors for the demo FTP server, so tests can meet the servers and
 * hosts that cannot run here (Windows IIS, FileZilla Server) and the faults real hosts show.
 * Reply texts follow the servers' published logs where those show them (docs/servers.md says
 * which are verbatim). The server asks this module before its normal handling of a command.
 */
import { Reply } from './rooted-fs.js';

export type QuirkProfile = 'iis' | 'filezilla' | 'no-mfmt' | 'stat-broken';
export const QUIRK_PROFILES: readonly QuirkProfile[] = ['iis', 'filezilla', 'no-mfmt', 'stat-broken'];

export interface ServerFaults {
  /** Refuse a login with 421 while this many sessions are logged in already (a per-IP cap). */
  maxLoggedIn?: number;
  /** Writes (STOR, MKD, DELE, RNFR/RNTO, MFMT) and RETR at or below this directory: 550. */
  deniedDir?: string;
  /** Bytes the account may store in total this server run; the STOR that crosses it gets 552. */
  quotaBytes?: number;
  /** Drop every connection (a server restart) in the middle of the Nth transfer (RETR or STOR). */
  restartAtTransfer?: number;
  /** The Nth transfer's data connection stalls: accepted, then no byte moves and no reply comes. */
  stallAtTransfer?: number;
}

export interface QuirkOptions {
  profile?: QuirkProfile;
  faults?: ServerFaults;
}

const BASE_FEATURES = ['EPSV', 'PASV', 'MDTM', 'MFMT', 'SIZE', 'MLSD', 'MLST type*;size*;modify*;', 'UTF8'];

/** What a transfer's data connection should do under the faults: run normally, stall, or restart the server. */
export type TransferFault = 'none' | 'stall' | 'restart';

export class Quirks {
  readonly profile: QuirkProfile | null;
  readonly faults: ServerFaults;
  private storedBytes = 0;
  private transfers = 0;

  constructor(o: QuirkOptions = {}) {
    this.profile = o.profile ?? null;
    this.faults = o.faults ?? {};
  }

  /** FEAT lines. IIS lists no EPSV (and refuses it); no-mfmt lists no MFMT. */
  features(): string[] {
    if (this.profile === 'iis') return BASE_FEATURES.filter((f) => f !== 'EPSV');
    if (this.profile === 'no-mfmt') return BASE_FEATURES.filter((f) => f !== 'MFMT');
    return BASE_FEATURES;
  }

  /** The greeting and login replies in the server's own words. */
  greeting(): string {
    if (this.profile === 'iis') return 'Microsoft FTP Service';
    if (this.profile === 'filezilla') return 'FileZilla Server 1.8.0';
    return 'ftpsync demo server ready';
  }

  /** A login beyond the session cap: 421, and the server closes the connection. */
  loginRefused(loggedIn: number): Reply | null {
    const cap = this.faults.maxLoggedIn;
    if (cap === undefined || loggedIn < cap) return null;
    return new Reply(421, 'There are too many connections from your internet address.');
  }

  /**
   * A reply that replaces the command's normal handling (thrown), or nothing. `v` resolves a
   * client path against the session's directory.
   */
  before(cmd: string, arg: string, v: (p: string) => string): void {
    if (cmd === 'EPSV' && this.profile === 'iis') throw new Reply(500, "'EPSV': command not understood");
    if (cmd === 'MFMT' && this.profile === 'no-mfmt') throw new Reply(500, 'Unknown command');
    if (cmd === 'STAT' && this.profile === 'stat-broken') throw new Reply(500, 'Unknown command');
    const denied = this.faults.deniedDir;
    if (denied && ['STOR', 'APPE', 'DELE', 'RNFR', 'RNTO', 'MKD', 'XMKD', 'RMD', 'XRMD', 'RETR', 'MFMT'].includes(cmd)) {
      const target = v(cmd === 'MFMT' ? arg.replace(/^\S+ /, '') : arg);
      if (target === denied || target.startsWith(`${denied}/`)) throw new Reply(550, 'Permission denied.');
    }
  }

  /** IIS and FileZilla Server refuse to rename onto an existing file. */
  renameOntoExisting(): Reply | null {
    if (this.profile === 'iis') return new Reply(550, 'Cannot create a file when that file already exists.');
    if (this.profile === 'filezilla') return new Reply(553, 'file exists');
    return null;
  }

  /**
   * STAT <path> on IIS: the server's status, not a listing of the path (the body is a status
   * text, so a client that parses it as a listing finds no entries it can read).
   */
  statInsteadOfListing(user: string): { code: number; first: string; lines: string[]; last: string } | null {
    if (this.profile !== 'iis') return null;
    return {
      code: 211,
      first: 'Microsoft FTP Service status:',
      lines: [`Logged in user: ${user}`, 'TYPE: BINARY; STRUcture: File; transfer MODE: STREAM', 'Data connection: None'],
      last: 'End of status.',
    };
  }

  /** The LIST line format: DOS on IIS, unix (vsftpd's) elsewhere. */
  dosListing(): boolean {
    return this.profile === 'iis';
  }

  /** Count a transfer; what its data connection should do. */
  nextTransfer(): TransferFault {
    const n = ++this.transfers;
    if (n === this.faults.stallAtTransfer) return 'stall';
    if (n === this.faults.restartAtTransfer) return 'restart';
    return 'none';
  }

  /** Bytes a STOR may still write before the quota is full (Infinity without a quota). */
  quotaLeft(): number {
    return this.faults.quotaBytes === undefined ? Infinity : Math.max(0, this.faults.quotaBytes - this.storedBytes);
  }

  stored(bytes: number): void {
    this.storedBytes += bytes;
  }
}
