/**
 * The one adapter over basic-ftp: a RemoteSession on one FTP control connection. Every TCP
 * connection it opens asks the gate first and is reported to the ledger; data connections use
 * our own passive/active strategies (data-connection.ts); STAT listings are read with our own
 * line reader (listing.ts). Recursive helpers of basic-ftp are never used: they hide connections.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, utimes } from 'node:fs/promises';
import net from 'node:net';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { TLSSocket, type ConnectionOptions } from 'node:tls';
import { Client, FTPError } from 'basic-ftp';
import type { ConnectionLedger } from '../budget/ledger.js';
import { formatFtpTime } from '../core/ftp-time.js';
import { tempNameFor } from '../core/names.js';
import type { RemoteEntry, RemoteTree } from '../core/tree.js';
import { FtpsyncError } from '../errors.js';
import type { ListingStrategyName, ServerConfig } from '../manifest/types.js';
import { readFileSync } from 'node:fs';
import { activeStrategy, passiveStrategy } from './data-connection.js';
import { toFtpsyncError } from './errors.js';
import { parseListingText, rawControlCommand } from './listing.js';
import { trackSocket, type TrackedSocket } from './socket-tracking.js';
import { remoteSplit } from './safe-names.js';
import type { ConnectionGate, ListingResult, RemoteSession, ServerFacts, TransferOptions } from './types.js';

export interface SessionDeps {
  ledger: ConnectionLedger;
  gate: ConnectionGate;
  now?: () => number;
  /** Facts shared by the sessions of one pool (what the server supports), filled on first use. */
  shared?: SharedServerFacts;
}

export interface TlsInfo {
  protocol: string;
  subject: string;
  issuer: string;
  /** ISO date the certificate expires. */
  validTo: string;
  /** Whether the last TLS data connection resumed the control session (null: none opened yet). */
  dataSessionResumed: boolean | null;
}

export interface SharedServerFacts {
  features?: Map<string, string>;
  listing?: ListingStrategyName;
  /** STAT results that looked wrong: never try STAT again on this server. */
  statBroken?: boolean;
  /**
   * How STAT lists a directory, once settled: `STAT -a .` where that lists everything `STAT .`
   * does (pure-ftpd without -D lists dot names such as .htaccess only with -a), else `STAT .`.
   */
  statCommand?: 'STAT -a .' | 'STAT .';
  warnings: Set<string>;
  /**
   * Temporary upload names whose upload failed with the connection gone, so nothing could remove
   * them then: the next session that stores a file removes them (a DELE, no data connection).
   */
  strayTemps?: Set<string>;
}

type ClientInternals = Client & { ftp: Client['ftp'] & { _newSocket: () => net.Socket } };

const LISTING_ORDER: ListingStrategyName[] = ['stat', 'mlsd', 'list'];

/**
 * basic-ftp captures a stack trace for every command it sends (`new Error().stack`, for a message
 * about two overlapping tasks, which the pool rules out): a CPU profile of 3,000 uploads showed it
 * at ~15 % of the client's CPU time, and the client is what limits transfers on a fast network.
 * Commands are sent with stack capture off; errors keep their messages.
 */
function withoutTaskStacks(ftp: Client['ftp']): void {
  const handle = ftp.handle.bind(ftp);
  ftp.handle = ((command, responseHandler) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return handle(command, responseHandler);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }) as typeof ftp.handle;
}

export class FtpSession implements RemoteSession {
  readonly server: string;
  private readonly client: ClientInternals;
  private readonly now: () => number;
  private readonly shared: SharedServerFacts;
  private control: TrackedSocket | null = null;
  private purpose = 'transfer';
  /** Data connections opened by this session (listing cost accounting). */
  dataConnections = 0;
  /** Whether the last TLS data connection resumed the control connection's TLS session. */
  private lastDataTlsResumed: boolean | null = null;

  private constructor(
    private readonly config: ServerConfig,
    private readonly deps: SessionDeps,
  ) {
    this.server = config.name;
    this.now = deps.now ?? Date.now;
    this.shared = deps.shared ?? { warnings: new Set() };
    this.client = new Client(config.timeouts.dataMs) as ClientInternals;
    const strategyOptions = {
      ledger: deps.ledger,
      gate: deps.gate,
      now: this.now,
      closePolicy: config.dataClose,
      timeoutMs: config.timeouts.dataMs,
      purpose: () => this.purpose,
      onOpen: (socket: net.Socket) => {
        this.dataConnections++;
        if (socket instanceof TLSSocket) socket.once('secureConnect', () => (this.lastDataTlsResumed = socket.isSessionReused()));
      },
      ...(config.active ? { active: config.active } : {}),
    };
    this.client.prepareTransfer = config.mode === 'active' ? activeStrategy(strategyOptions) : passiveStrategy(strategyOptions);
    withoutTaskStacks(this.client.ftp);
  }

  /** Open a session: control connection (counted), TLS, login, binary mode. */
  static async open(config: ServerConfig, deps: SessionDeps): Promise<FtpSession> {
    const s = new FtpSession(config, deps);
    await s.connect();
    return s;
  }

  get closed(): boolean {
    return this.client.closed;
  }

  private tlsOptions(): ConnectionOptions {
    const o: ConnectionOptions = { rejectUnauthorized: this.config.verifyCertificate, servername: this.config.servername ?? (net.isIP(this.config.host) ? '' : this.config.host) };
    if (!o.servername) delete o.servername;
    if (this.config.ca) o.ca = readFileSync(this.config.ca);
    // Node verifies an IP host against the certificate's IP SANs when no servername is given.
    (o as ConnectionOptions & { host: string }).host = this.config.host;
    return o;
  }

  private async connect(): Promise<void> {
    const { config, deps } = this;
    const reservation = await deps.gate.acquire('control', 'login');
    // Our own control socket, so the ledger sees it open and close.
    this.client.ftp._newSocket = () => {
      const sock = new net.Socket();
      this.control = trackSocket(sock, deps.ledger, 'control', `control ${config.host}:${config.port}`, this.now, { reservation });
      return sock;
    };
    const timeout = new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new Error(`Timeout: no answer from ${config.host}:${config.port} within ${config.timeouts.connectMs} ms`)), config.timeouts.connectMs);
      t.unref();
    });
    try {
      await Promise.race([this.handshake(reservation), timeout]);
    } catch (e) {
      this.client.close();
      this.controlClosed('unknown');
      deps.ledger.release(reservation, this.now());
      throw toFtpsyncError(e, { server: config.name, op: 'login' });
    }
  }

  private async handshake(reservation: number): Promise<void> {
    const { config } = this;
    if (config.tls === 'implicit') {
      await this.client.connectImplicitTLS(config.host, config.port, this.tlsOptions());
      // connectImplicitTLS makes its own TLS socket: track that one.
      this.control = trackSocket(this.client.ftp.socket, this.deps.ledger, 'control', `control ${config.host}:${config.port} (implicit TLS)`, this.now, { alreadyOpen: true, reservation });
    } else {
      await this.client.connect(config.host, config.port);
      if (config.tls === 'explicit') await this.client.useTLS(this.tlsOptions());
    }
    await this.client.login(config.user, config.password?.reveal() ?? '');
    await this.client.send('TYPE I');
    await this.client.sendIgnoringError('OPTS UTF8 ON');
    if (config.tls !== 'none') {
      await this.client.sendIgnoringError('PBSZ 0');
      await this.client.sendIgnoringError('PROT P');
    }
  }

  private controlClosed(side: 'client' | 'unknown'): void {
    this.control?.closeNow(side);
  }

  private fail(e: unknown, op: string, remotePath?: string): FtpsyncError {
    return toFtpsyncError(e, { server: this.server, op, ...(remotePath !== undefined ? { remotePath } : {}) });
  }

  async facts(): Promise<ServerFacts> {
    if (!this.shared.features) {
      try {
        this.shared.features = await this.client.features();
      } catch {
        this.shared.features = new Map();
      }
    }
    const f = this.shared.features;
    return {
      listing: this.shared.listing ? [this.shared.listing] : LISTING_ORDER.filter((s) => s !== 'mlsd' || f.has('MLST')),
      mfmt: f.has('MFMT'),
      mdtmSet: !f.has('MFMT'),
    };
  }

  /** STAT over the control connection: zero data connections. null when the server won't. */
  private async statList(dir: string): Promise<RemoteEntry[] | null> {
    await this.client.cd(dir);
    const stat = async (command: string) => {
      const reply = await rawControlCommand(this.client.ftp.socket, command, this.config.timeouts.dataMs);
      return reply.code >= 211 && reply.code <= 213 ? parseListingText(reply.body.join('\n')) : null;
    };
    if (this.shared.statCommand) {
      const parsed = await stat(this.shared.statCommand);
      return parsed && this.checked(parsed, dir);
    }
    // Not settled: ask both ways. `-a` only if it lists every name the plain form does (a server
    // that took "-a" for a file name would list nothing), settled on a directory that has names.
    const plain = await stat('STAT .');
    if (!plain) return null;
    const all = await stat('STAT -a .');
    const allNames = new Set(all?.entries.map((e) => e.name));
    const useAll = all !== null && plain.entries.every((e) => allNames.has(e.name));
    if (plain.entries.length > 0) this.shared.statCommand = useAll ? 'STAT -a .' : 'STAT .';
    return this.checked(useAll ? all : plain, dir);
  }

  private checked(parsed: ReturnType<typeof parseListingText>, dir: string): RemoteEntry[] {
    for (const r of parsed.rejected) {
      this.shared.warnings.add(`${this.server}: ignored unsafe name ${JSON.stringify(r.name)} in ${dir} (it ${r.reason})`);
    }
    return parsed.entries;
  }

  /** Run a listing command (MLSD, LIST -a) in the current directory over a data connection; return its text. */
  private async rawList(command: string): Promise<string> {
    let text = '';
    // basic-ftp's list() does the transfer through our strategy; we keep the raw text and parse it ourselves.
    this.client.parseList = (raw: string) => {
      text = raw;
      return [];
    };
    this.client.availableListCommands = [command];
    await this.client.list();
    return text;
  }

  async list(dir: string): Promise<RemoteEntry[]> {
    try {
      const strategy = await this.pickListing(dir);
      if (strategy === 'stat') {
        const entries = await this.statList(dir);
        if (entries) return entries;
        // STAT stopped answering with a listing: fall back for the rest of this run.
        this.shared.statBroken = true;
        delete this.shared.listing;
        return this.list(dir);
      }
      return await this.listWithData(dir, strategy === 'mlsd' ? 'MLSD' : 'LIST -a');
    } catch (e) {
      if (e instanceof FTPError && e.code === 550) throw new FtpsyncError('E_FTP', `${this.server}: ${dir}: no such directory`, undefined, { server: this.server, remotePath: dir, ftpCode: 550 });
      throw this.fail(e, 'list', dir);
    }
  }

  private async listWithData(dir: string, command: string): Promise<RemoteEntry[]> {
    await this.client.cd(dir);
    this.purpose = `${command} ${dir}`;
    const text = await this.rawList(command);
    return this.checked(parseListingText(text), dir);
  }

  private async pickListing(dir: string): Promise<ListingStrategyName> {
    // A missing directory is a 550 here, before any strategy is judged on it.
    await this.client.cd(dir);
    if (this.config.listing !== 'auto') return this.config.listing === 'stat-recursive' || this.config.listing === 'list-recursive' ? 'stat' : this.config.listing;
    if (this.shared.listing) return this.shared.listing;
    const facts = await this.facts();
    for (const s of facts.listing) {
      if (s === 'stat' && this.shared.statBroken) continue;
      if (s === 'stat') {
        try {
          const entries = await this.statList(dir);
          if (entries) {
            this.shared.listing = 'stat';
            return 'stat';
          }
        } catch (e) {
          if (!(e instanceof FTPError)) throw e;
        }
        this.shared.statBroken = true;
        continue;
      }
      this.shared.listing = s;
      return s;
    }
    this.shared.listing = 'list';
    return 'list';
  }

  async listTree(root: string, skip: (path: string) => boolean = () => false): Promise<ListingResult> {
    const before = this.dataConnections;
    const tree: RemoteTree = new Map();
    const queue: string[] = [''];
    // Bounded: a hostile server could list directories forever.
    for (let visited = 0; queue.length > 0; visited++) {
      if (visited > 1_000_000) throw new FtpsyncError('E_FTP', `${this.server}: ${root}: more than a million directories; refusing to go on`);
      const rel = queue.shift()!;
      const dir = rel === '' ? root : `${root === '/' ? '' : root}/${rel}`;
      for (const e of await this.list(dir)) {
        const path = rel === '' ? e.name : `${rel}/${e.name}`;
        if (skip(path)) continue;
        tree.set(path, e);
        if (e.type === 'dir') queue.push(path);
      }
    }
    const strategy = this.shared.listing ?? 'list';
    return { tree, strategy, dataConnections: this.dataConnections - before };
  }

  async upload(localFile: string, remotePath: string, options: TransferOptions): Promise<void> {
    const { dir, name } = remoteSplit(remotePath);
    const target = options.atomic ? `${dir === '/' ? '' : dir}/${tempNameFor(name, randomBytes(4).toString('hex'))}` : remotePath;
    this.purpose = `STOR ${remotePath}`;
    try {
      await this.client.uploadFrom(createReadStream(localFile), target);
      if (options.atomic) await this.renameOver(target, remotePath);
    } catch (e) {
      if (options.atomic) await this.removeTemp(target);
      throw this.fail(e, 'upload', remotePath);
    }
    if (options.mtimeMs !== undefined) await this.setMtime(remotePath, options.mtimeMs);
    await this.removeStrayTemps();
  }

  /** After a failed upload: remove its temporary file now, or leave it to the next good session. */
  private async removeTemp(tmp: string): Promise<void> {
    const removed = !this.client.closed && (await this.removeIgnoringReply(tmp));
    if (!removed) (this.shared.strayTemps ??= new Set()).add(tmp);
  }

  /** DELE whatever the reply (550: gone already); false only when the connection failed. */
  private removeIgnoringReply(path: string): Promise<boolean> {
    return this.client.remove(path, true).then(() => true, () => false);
  }

  /**
   * Remove what earlier failed uploads left (their connection died mid-STOR, e.g. in a firewall
   * block), so a run that recovered leaves no .ftpsync-tmp-* behind. Gone already (550) is fine.
   */
  private async removeStrayTemps(): Promise<void> {
    const stray = this.shared.strayTemps;
    if (!stray || stray.size === 0) return;
    for (const tmp of [...stray]) {
      stray.delete(tmp);
      if (!(await this.removeIgnoringReply(tmp))) {
        stray.add(tmp); // this session died too: the next one tries again
        return;
      }
    }
  }

  /** RNFR/RNTO over the target; servers that refuse to overwrite get a delete first (warned). */
  private async renameOver(from: string, to: string): Promise<void> {
    try {
      await this.client.rename(from, to);
    } catch (e) {
      if (!(e instanceof FTPError) || e.code < 500) throw e;
      this.shared.warnings.add(`${this.server}: the server refuses to rename over an existing file; ftpsync deletes the old file first (a short window without it)`);
      await this.client.remove(to, true);
      await this.client.rename(from, to);
    }
  }

  private async setMtime(remotePath: string, ms: number): Promise<void> {
    const facts = await this.facts();
    const cmd = facts.mfmt ? `MFMT ${formatFtpTime(ms)} ${remotePath}` : `MDTM ${formatFtpTime(ms)} ${remotePath}`;
    const res = await this.client.sendIgnoringError(cmd);
    if (res.code >= 400) this.shared.warnings.add(`${this.server}: cannot set modification times (${cmd.split(' ')[0]} answered ${res.code}); compare: size or checksum is more reliable here`);
  }

  async download(remotePath: string, localFile: string, mtimeMs?: number): Promise<void> {
    const tmp = join(dirname(localFile), tempNameFor(basename(localFile), randomBytes(4).toString('hex')));
    this.purpose = `RETR ${remotePath}`;
    try {
      await this.client.downloadTo(createWriteStream(tmp), remotePath);
      if (mtimeMs !== undefined) await utimes(tmp, new Date(mtimeMs), new Date(mtimeMs));
      await rename(tmp, localFile);
    } catch (e) {
      await rm(tmp, { force: true });
      throw this.fail(e, 'download', remotePath);
    }
  }

  async mkdir(remotePath: string): Promise<void> {
    const parts = remotePath.split('/').filter(Boolean);
    let path = '';
    for (const p of parts) {
      path += `/${p}`;
      // 550/521: exists already (or not allowed: the next step says which).
      await this.mkd(path, [550, 521]);
    }
  }

  /** One MKD; its reply code, or E_FTP when the code is a refusal not in `tolerated`. */
  private async mkd(path: string, tolerated: number[]): Promise<number> {
    const res = await this.client.sendIgnoringError(`MKD ${path}`).catch((e: unknown) => {
      throw this.fail(e, 'mkdir', path);
    });
    if (res.code >= 400 && !tolerated.includes(res.code)) throw new FtpsyncError('E_FTP', `${this.server} ${path}: mkdir failed: ${res.message}`, undefined, { server: this.server, remotePath: path, ftpCode: res.code });
    return res.code;
  }

  async mkdirExclusive(remotePath: string): Promise<boolean> {
    return (await this.mkd(remotePath, [550, 521, 553])) < 400;
  }

  async remove(remotePath: string): Promise<void> {
    await this.client.remove(remotePath).catch((e: unknown) => {
      throw this.fail(e, 'delete', remotePath);
    });
  }

  async rmdir(remotePath: string): Promise<void> {
    await this.client.removeEmptyDir(remotePath).catch((e: unknown) => {
      throw this.fail(e, 'rmdir', remotePath);
    });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.renameOver(from, to).catch((e: unknown) => {
      throw this.fail(e, 'rename', from);
    });
  }

  async readSmallFile(remotePath: string): Promise<Buffer | null> {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    // Ask over the control connection first: a missing file then costs no data connection
    // (and proftpd resets a data connection whose RETR it refuses).
    const size = await this.client.sendIgnoringError(`SIZE ${remotePath}`).catch((e: unknown) => {
      throw this.fail(e, 'read', remotePath);
    });
    if (size.code === 550) return null;
    this.purpose = `RETR ${remotePath}`;
    try {
      await this.client.downloadTo(sink, remotePath);
    } catch (e) {
      if (e instanceof FTPError && e.code === 550) return null;
      throw this.fail(e, 'read', remotePath);
    }
    return Buffer.concat(chunks);
  }

  async writeSmallFile(remotePath: string, content: Buffer): Promise<void> {
    const { dir, name } = remoteSplit(remotePath);
    const tmp = `${dir === '/' ? '' : dir}/${tempNameFor(name, randomBytes(4).toString('hex'))}`;
    this.purpose = `STOR ${remotePath}`;
    try {
      await this.client.uploadFrom(Readable.from([content]), tmp);
      await this.renameOver(tmp, remotePath);
    } catch (e) {
      await this.removeTemp(tmp);
      throw this.fail(e, 'write', remotePath);
    }
    await this.removeStrayTemps();
  }

  // --- For `ftpsync probe`: what the server supports, asked directly. ---

  /** The server's FEAT lines (cached for the pool). */
  async featureList(): Promise<Map<string, string>> {
    await this.facts();
    return this.shared.features ?? new Map();
  }

  /** TLS details of the control connection; null over plain FTP. */
  tlsInfo(): TlsInfo | null {
    const sock = this.client.ftp.socket;
    if (!(sock instanceof TLSSocket)) return null;
    const cert = sock.getPeerCertificate();
    const name = (dn: Record<string, string | string[] | undefined> | undefined) =>
      dn ? Object.entries(dn).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ') : '';
    return {
      protocol: sock.getProtocol() ?? 'unknown',
      subject: name(cert.subject as unknown as Record<string, string>),
      issuer: name(cert.issuer as unknown as Record<string, string>),
      validTo: cert.valid_to ? new Date(cert.valid_to).toISOString() : '',
      dataSessionResumed: this.lastDataTlsResumed,
    };
  }

  /** Warnings this server's sessions have collected so far (rename-over refused, ...). */
  warningCount(): number {
    return this.shared.warnings.size;
  }

  /** The control connection's round trip: the least of `noops` NOOPs, ms. */
  async roundTripMs(noops = 3): Promise<number> {
    let least = Infinity;
    for (let i = 0; i < noops; i++) {
      const t = performance.now();
      await this.command('NOOP');
      least = Math.min(least, performance.now() - t);
    }
    return Math.round(least * 100) / 100;
  }

  /** One command over the control connection; the reply whatever its code. */
  async command(line: string): Promise<{ code: number; message: string }> {
    const r = await this.client.sendIgnoringError(line).catch((e: unknown) => {
      throw this.fail(e, line.split(' ')[0]!.toLowerCase());
    });
    return { code: r.code, message: r.message };
  }

  /** List one directory with the given strategy; null when the server refuses it. */
  async listWith(dir: string, strategy: ListingStrategyName): Promise<RemoteEntry[] | null> {
    try {
      if (strategy === 'stat') return await this.statList(dir);
      return await this.listWithData(dir, strategy === 'mlsd' ? 'MLSD' : 'LIST -a');
    } catch (e) {
      if (e instanceof FTPError) return null;
      throw this.fail(e, 'list', dir);
    }
  }

  async close(): Promise<void> {
    // A session basic-ftp already closed (error, timeout) went down without us: side unknown.
    this.controlClosed(this.client.closed ? 'unknown' : 'client');
    this.client.close();
  }
}
