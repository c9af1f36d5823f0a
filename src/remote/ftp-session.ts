/**
 * The one adapter over basic-ftp: a RemoteSession on one FTP control connection. Every TCP
 * connection it opens asks the gate first and is reported to the ledger; data connections use
 * our own passive/active strategies (data-connection.ts); listings go through
 * listing-strategies.ts; every reach into basic-ftp's internals is in basic-ftp-internals.ts.
 * Recursive helpers of basic-ftp are never used: they hide connections.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, utimes } from 'node:fs/promises';
import net from 'node:net';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { Client, FTPError } from 'basic-ftp';
import type { ConnectionLedger } from '../budget/ledger.js';
import { formatFtpTime } from '../core/ftp-time.js';
import { tempNameFor } from '../core/names.js';
import type { RemoteEntry } from '../core/tree.js';
import { FtpsyncError } from '../errors.js';
import type { ServerConfig } from '../manifest/types.js';
import { traceControl, setControlSocketFactory, withoutTaskStacks } from './basic-ftp-internals.js';
import { setUpTransfers } from './data-connection.js';
import { ServerHasher, type HashCommand } from './file-hash.js';
import { toFtpsyncError } from './errors.js';
import { DirectoryLister, listingCandidates } from './listing-strategies.js';
import { handshake } from './login.js';
import { trackSocket, type TrackedSocket } from './socket-tracking.js';
import { replaceFile } from './replace-file.js';
import { remoteSplit } from './safe-names.js';
import { StrayTemps } from './stray-temps.js';
import type { ConnectionGate, ListingResult, RemoteSession, ServerFacts, ServerFileHash, SharedServerFacts, TransferOptions } from './types.js';

export type { SharedServerFacts } from './types.js';

export interface SessionDeps {
  ledger: ConnectionLedger;
  gate: ConnectionGate;
  now?: () => number;
  /** Facts shared by the sessions of one pool (what the server supports), filled on first use. */
  shared?: SharedServerFacts;
  /** --verbose: every control command ("> ...", PASS masked) and reply line ("< ...") of this session. */
  trace?: (line: string) => void;
}

export class FtpSession implements RemoteSession {
  readonly server: string;
  private readonly client: Client;
  private readonly now: () => number;
  /** Facts and warnings shared by the sessions of this server (its pool). */
  readonly shared: SharedServerFacts;
  private control: TrackedSocket | null = null;
  private purpose = 'transfer';
  /** Data connections opened by this session (listing cost accounting). */
  dataConnections = 0;
  /** Whether the last TLS data connection resumed the control connection's TLS session (null: none yet). */
  dataTlsResumed: boolean | null = null;
  /** Listing strategies: choice, fallback, tree walk (listing-strategies.ts). */
  readonly lister: DirectoryLister;
  private readonly strayTemps: StrayTemps;
  private readonly hasher = new ServerHasher(
    () => this.features(),
    (line) => this.command(line),
  );

  private constructor(
    private readonly config: ServerConfig,
    private readonly deps: SessionDeps,
  ) {
    this.server = config.name;
    this.now = deps.now ?? Date.now;
    this.shared = deps.shared ?? { warnings: new Set() };
    this.client = new Client(config.timeouts.dataMs);
    const onOpen = (socket: net.Socket) => {
      this.dataConnections++;
      if (socket instanceof TLSSocket) socket.once('secureConnect', () => (this.dataTlsResumed = socket.isSessionReused()));
    };
    setUpTransfers(this.client, config, this.shared, { ledger: deps.ledger, gate: deps.gate, now: this.now, purpose: () => this.purpose, onOpen });
    withoutTaskStacks(this.client.ftp);
    if (deps.trace) traceControl(this.client.ftp, deps.trace);
    this.strayTemps = new StrayTemps(this.client, this.shared);
    this.lister = new DirectoryLister({
      server: this.server,
      client: this.client,
      config,
      shared: this.shared,
      facts: () => this.facts(),
      setPurpose: (p) => (this.purpose = p),
      dataConnections: () => this.dataConnections,
      ...(deps.trace ? { trace: deps.trace } : {}),
    });
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

  private async connect(): Promise<void> {
    const { config, deps } = this;
    const reservation = await deps.gate.acquire('control', 'login');
    // Our own control socket, so the ledger sees it open and close.
    setControlSocketFactory(this.client, () => {
      const sock = new net.Socket();
      this.control = trackSocket(sock, deps.ledger, 'control', `control ${config.host}:${config.port}`, this.now, { reservation });
      return sock;
    });
    const timeout = new Promise<never>((_, reject) => {
      const t = setTimeout(
        () => reject(new Error(`Timeout: no answer from ${config.host}:${config.port} within ${config.timeouts.connectMs} ms`)),
        config.timeouts.connectMs,
      );
      t.unref();
    });
    try {
      const trackImplicit = () =>
        (this.control = trackSocket(this.client.ftp.socket, deps.ledger, 'control', `control ${config.host}:${config.port} (implicit TLS)`, this.now, {
          alreadyOpen: true,
          reservation,
        }));
      await Promise.race([handshake(this.client, config, trackImplicit), timeout]);
    } catch (e) {
      this.client.close();
      this.controlClosed('unknown');
      deps.ledger.release(reservation, this.now());
      throw toFtpsyncError(e, { server: config.name, op: 'login' });
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
      listing: listingCandidates(this.shared, f),
      mfmt: f.has('MFMT'),
      mdtmSet: !f.has('MFMT'),
    };
  }

  list(dir: string): Promise<RemoteEntry[]> {
    return this.lister.list(dir);
  }

  listTree(root: string, skip?: (path: string) => boolean): Promise<ListingResult> {
    return this.lister.listTree(root, skip);
  }

  async upload(localFile: string, remotePath: string, options: TransferOptions): Promise<void> {
    const { dir, name } = remoteSplit(remotePath);
    const target = options.atomic ? `${dir === '/' ? '' : dir}/${tempNameFor(name, randomBytes(4).toString('hex'))}` : remotePath;
    this.purpose = `STOR ${remotePath}`;
    try {
      await this.client.uploadFrom(createReadStream(localFile), target);
      if (options.atomic) await this.renameOver(target, remotePath);
    } catch (e) {
      if (options.atomic) await this.strayTemps.afterFailure(target);
      throw this.fail(e, 'upload', remotePath);
    }
    if (options.mtimeMs !== undefined) await this.setMtime(remotePath, options.mtimeMs);
    await this.strayTemps.sweep();
  }

  /** RNFR/RNTO over the target; where the server refuses that, the old file is moved aside first (replace-file.ts). */
  private renameOver(from: string, to: string): Promise<void> {
    return replaceFile({ server: this.server, client: this.client, shared: this.shared }, from, to);
  }

  private async setMtime(remotePath: string, ms: number): Promise<void> {
    if (this.shared.mtimeRefused) return;
    const facts = await this.facts();
    const cmd = facts.mfmt ? `MFMT ${formatFtpTime(ms)} ${remotePath}` : `MDTM ${formatFtpTime(ms)} ${remotePath}`;
    const res = await this.client.sendIgnoringError(cmd);
    // Refused once: refused for every file (one round trip each saved).
    if (res.code >= 400) this.shared.mtimeRefused = true;
    if (res.code >= 400)
      this.shared.warnings.add(
        `${this.server}: cannot set modification times (${cmd.split(' ')[0]} answered ${res.code}); compare: size or checksum is more reliable here`,
      );
  }

  async download(remotePath: string, localFile: string, mtimeMs?: number): Promise<void> {
    const tmp = join(dirname(localFile), tempNameFor(basename(localFile), randomBytes(4).toString('hex')));
    this.purpose = `RETR ${remotePath}`;
    const out = createWriteStream(tmp);
    try {
      await this.client.downloadTo(out, remotePath);
      if (mtimeMs !== undefined) await utimes(tmp, new Date(mtimeMs), new Date(mtimeMs));
      await rename(tmp, localFile);
    } catch (e) {
      // A refusal can come before the file is even open: remove it once the stream is closed.
      if (!out.closed) await new Promise<void>((closed) => out.destroy().once('close', () => closed()));
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
    if (res.code >= 400 && !tolerated.includes(res.code))
      throw new FtpsyncError('E_FTP', `${this.server} ${path}: mkdir failed: ${res.message}`, undefined, {
        server: this.server,
        remotePath: path,
        ftpCode: res.code,
      });
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

  hashCommand(): Promise<HashCommand | null> {
    return this.hasher.command();
  }

  fileHash(remotePath: string): Promise<ServerFileHash | null> {
    return this.hasher.hash(remotePath);
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
      await this.strayTemps.afterFailure(tmp);
      throw this.fail(e, 'write', remotePath);
    }
    await this.strayTemps.sweep();
  }

  /** The server's FEAT lines (cached for the pool). */
  async features(): Promise<Map<string, string>> {
    await this.facts();
    return this.shared.features ?? new Map();
  }

  /** The control connection's socket (TLS or plain), for what the probe reports about it. */
  get controlSocket(): net.Socket {
    return this.client.ftp.socket;
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

  async close(): Promise<void> {
    // A session basic-ftp already closed (error, timeout) went down without us: side unknown.
    this.controlClosed(this.client.closed ? 'unknown' : 'client');
    this.client.close();
  }
}
