/**
 * The demo server's view of its root directory: client paths resolved against the session's
 * directory, confined to the root, symlinks refused (a link inside the root cannot lead outside
 * it). Every refusal is a Reply the server sends back as is.
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { dosListLine, mlsdLine, unixListLine } from './ftp-format.js';

/** Reply error: a code and text to send back. */
export class Reply extends Error {
  constructor(
    readonly code: number,
    text: string,
  ) {
    super(text);
  }
}

export class RootedFs {
  /** The root's real path; set by the server before it accepts a connection. */
  rootReal = '';
  /** LIST and STAT lines in IIS's DOS format instead of unix `ls -l`. */
  dosListing = false;

  async exists(v: string): Promise<boolean> {
    return fsp.lstat(this.real(v)).then(
      () => true,
      () => false,
    );
  }

  /** Resolve a client path against cwd into a normalized absolute path inside "/". */
  virtual(cwd: string, arg: string): string {
    if (arg.includes('\0')) throw new Reply(501, 'Invalid path');
    // posix.resolve from "/" can never climb above "/": "../../etc" becomes "/etc" under the root.
    return path.posix.resolve(cwd, arg.replace(/\\/g, '/'));
  }

  /** The real path of a virtual path; the root itself plus the (already normalized) tail. */
  real(v: string): string {
    const real = path.join(this.rootReal, v);
    if (real !== this.rootReal && !real.startsWith(this.rootReal + path.sep)) throw new Reply(550, 'Permission denied');
    return real;
  }

  /** lstat that refuses symlinks, so a link inside the root cannot lead outside it. */
  async lstat(v: string): Promise<Stats> {
    let st: Stats;
    try {
      st = await fsp.lstat(this.real(v));
    } catch {
      throw new Reply(550, `${v}: No such file or directory`);
    }
    if (st.isSymbolicLink()) throw new Reply(550, `${v}: Permission denied`);
    return st;
  }

  async statDir(v: string): Promise<Stats> {
    const st = await this.lstat(v);
    if (!st.isDirectory()) throw new Reply(550, `${v}: Not a directory`);
    return st;
  }

  async statFile(v: string): Promise<Stats> {
    const st = await this.lstat(v);
    if (!st.isFile()) throw new Reply(550, `${v}: Not a plain file`);
    return st;
  }

  async fileReal(cwd: string, arg: string): Promise<string> {
    const v = this.virtual(cwd, arg);
    await this.statFile(v);
    return this.real(v);
  }

  /** Listing lines for LIST/NLST/MLSD/STAT; options like "-a" are ignored as most servers do. */
  async listLines(cwd: string, cmd: string, arg: string): Promise<string[]> {
    const target = arg
      .split(' ')
      .filter((w) => !/^-[a-zA-Z]+$/.test(w))
      .join(' ');
    const v = this.virtual(cwd, target || '.');
    const st = await this.lstat(v);
    if (!st.isDirectory()) {
      const name = path.posix.basename(v);
      return [cmd === 'NLST' ? name : cmd === 'MLSD' ? mlsdLine(name, st) : this.listLine(name, st)];
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
      lines.push(cmd === 'NLST' ? name : cmd === 'MLSD' ? mlsdLine(name, est) : this.listLine(name, est));
    }
    return lines;
  }

  private listLine(name: string, st: Stats): string {
    return this.dosListing ? dosListLine(name, st) : unixListLine(name, st);
  }

  /** MKD: the parent must be a directory; any other failure (exists, not allowed) is a 550. */
  async mkdir(v: string): Promise<void> {
    await this.statDir(path.posix.dirname(v));
    try {
      await fsp.mkdir(this.real(v));
    } catch {
      throw new Reply(550, 'Create directory operation failed');
    }
  }

  async rmdir(v: string): Promise<void> {
    if (v === '/') throw new Reply(550, 'Remove directory operation failed');
    try {
      await fsp.rmdir(this.real(v));
    } catch {
      throw new Reply(550, 'Remove directory operation failed');
    }
  }

  async unlink(v: string): Promise<void> {
    await this.statFile(v);
    await fsp.unlink(this.real(v));
  }

  /** RNFR: anything but the root that exists may be renamed. */
  async renameSource(v: string): Promise<void> {
    if (v === '/') throw new Reply(550, 'RNFR command failed');
    try {
      await fsp.lstat(this.real(v));
    } catch {
      throw new Reply(550, 'RNFR command failed');
    }
  }

  /** RNTO: into an existing directory, never onto the root. */
  async rename(from: string, to: string): Promise<void> {
    if (to === '/') throw new Reply(550, 'Rename failed');
    await this.statDir(path.posix.dirname(to));
    try {
      await fsp.rename(this.real(from), this.real(to));
    } catch {
      throw new Reply(550, 'Rename failed');
    }
  }

  async setMtime(v: string, when: Date): Promise<void> {
    await this.statFile(v);
    await fsp.utimes(this.real(v), when, when);
  }
}
