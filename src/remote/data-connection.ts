/**
 * Transfer strategies for basic-ftp's Client.prepareTransfer: passive (the port asked for ahead
 * with the previous transfer, else EPSV, then PASV) and active (EPRT/PORT), both asking the
 * budget gate before opening, reporting every data connection to the ledger, and applying the
 * close policy:
 *  - plain FTP, 'reset': the data socket is opened half-open; when the server's FIN arrives (all
 *    data read) we answer with RST, so the server goes straight to CLOSED and keeps no TIME_WAIT.
 *  - TLS: the sequence of tls-close.ts ('reset' unless dataClose is 'normal' or the server
 *    rejected it this run).
 *  - otherwise a regular close.
 */
import net, { type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { Client, FTPContext, FTPResponse } from 'basic-ftp';
import type { ConnectionLedger } from '../budget/ledger.js';
import type { ServerConfig } from '../manifest/types.js';
import type { ConnectionGate, SharedServerFacts } from './types.js';
import { dataTlsParams, ownPassiveTransfers, rememberTlsSession, setTransferStrategy, type TransferStrategy } from './basic-ftp-internals.js';
import { guardTransfers } from './close-fallback.js';
import { epsvPort, PassiveLookahead } from './passive-lookahead.js';
import { trackSocket, type TrackedSocket } from './socket-tracking.js';
import { tlsCloseControls, tlsOverRaw, type TlsCloseSequence } from './tls-close.js';

export interface DataConnectionOptions {
  ledger: ConnectionLedger;
  gate: ConnectionGate;
  now: () => number;
  /** Plain FTP's close: 'reset' answers the server's FIN with RST. */
  closePolicy: 'normal' | 'reset';
  /** The close sequence for TLS data connections, asked per connection (a server that rejects 'reset' is switched). */
  tlsClose: () => TlsCloseSequence;
  /** A TLS reset close whose server never sent its FIN: the server wants the conservative close. */
  onTlsHeldTooLong?: () => void;
  timeoutMs: number;
  /**
   * How long a data connect may wait for the server's SYN-ACK (default timeoutMs). A blocked IP
   * gets none: a connect that hears nothing while earlier ones did is a sooner sign of a block
   * than a whole data timeout.
   */
  connectTimeoutMs?: number;
  /** What the next transfer is, for the ledger ("RETR a.txt"). */
  purpose: () => string;
  /** Active mode: address to advertise and local ports to listen on. */
  active?: { address?: string; portRange?: [number, number] };
  /** Told about every data connection as it opens (socket: TLS or raw, as transfers use it). */
  onOpen?: (socket: Socket) => void;
  /** Passive: a port the previous transfer command asked for ahead (basic-ftp-internals.ts ownPassiveTransfers). */
  lookahead?: PassiveLookahead | undefined;
}

/**
 * A session's transfers: its data strategy, in passive mode our own STOR and RETR with the
 * look-ahead EPSV, and under TLS the fallback from the reset close around them.
 */
export function setUpTransfers(
  client: Client,
  config: ServerConfig,
  shared: SharedServerFacts,
  o: Pick<DataConnectionOptions, 'ledger' | 'gate' | 'now' | 'purpose' | 'onOpen'>,
): void {
  const lookahead = config.mode === 'passive' ? new PassiveLookahead(() => client.ftp.socket, shared) : undefined;
  setTransferStrategy(client, dataStrategyFor(config, { ...o, lookahead, ...tlsCloseControls(config, shared) }));
  if (lookahead) ownPassiveTransfers(client, lookahead);
  guardTransfers(client, config, shared);
}

/** The strategy a session's data connections use: passive or active, with the server's close policy and timeouts. */
export function dataStrategyFor(
  config: ServerConfig,
  o: Pick<DataConnectionOptions, 'ledger' | 'gate' | 'now' | 'purpose' | 'onOpen' | 'tlsClose' | 'onTlsHeldTooLong' | 'lookahead'>,
): TransferStrategy {
  const options: DataConnectionOptions = {
    ...o,
    closePolicy: config.dataClose === 'reset' ? 'reset' : 'normal',
    timeoutMs: config.timeouts.dataMs,
    connectTimeoutMs: config.timeouts.connectMs,
    ...(config.active ? { active: config.active } : {}),
  };
  return config.mode === 'active' ? activeStrategy(options) : passiveStrategy(options);
}

/**
 * Track a fresh data connection (its TCP socket: the ledger sees whose FIN came first) and apply
 * the close policy; returns what transfers use: the raw socket, or TLS over it (reusing the
 * control connection's session) with the close sequence of tls-close.ts.
 */
function instrument(ftp: FTPContext, raw: Socket, o: DataConnectionOptions, reservation: number): Socket {
  const sequence = ftp.socket instanceof TLSSocket ? o.tlsClose() : null;
  // Under TLS's normal close our FIN follows close_notify and can cross the server's: "we closed first" is not knowable.
  const tracked: TrackedSocket = trackSocket(raw, o.ledger, 'data', o.purpose(), o.now, { clientFinRacy: sequence === 'normal', reservation });
  let socket: Socket = raw;
  if (sequence) {
    const tls = tlsOverRaw(raw, dataTlsParams(ftp), { sequence, tracked: () => tracked, ...(o.onTlsHeldTooLong ? { onHeldTooLong: o.onTlsHeldTooLong } : {}) });
    tls.on('session', (s: Buffer) => rememberTlsSession(ftp, s));
    socket = tls;
  } else if (o.closePolicy === 'reset') {
    raw.once('end', () => {
      // The server's FIN: every byte has arrived. Answer with RST instead of FIN.
      tracked.markReset();
      raw.resetAndDestroy();
    });
  }
  o.onOpen?.(socket);
  return socket;
}

function parseEpsv(message: string): number {
  const port = epsvPort(message);
  if (port === undefined) throw new Error(`Can't parse EPSV response: ${message}`);
  return port;
}

function parsePasv(message: string): { host: string; port: number } {
  const m = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(message);
  if (!m) throw new Error(`Can't parse PASV response: ${message}`);
  return { host: `${m[1]}.${m[2]}.${m[3]}.${m[4]}`, port: Number(m[5]) * 256 + Number(m[6]) };
}

function connectData(ftp: FTPContext, host: string, port: number, o: DataConnectionOptions, reservation: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: keep our side open after the server's FIN, so we decide how to close (TLS: tls-close.ts does).
    const raw = new net.Socket({ allowHalfOpen: o.closePolicy === 'reset' || ftp.socket instanceof TLSSocket });
    const fail = (err: Error) => {
      raw.destroy();
      reject(new Error(`Can't open data connection to ${host}:${port}: ${err.message}`, { cause: err }));
    };
    const connectMs = Math.min(o.timeoutMs, o.connectTimeoutMs ?? o.timeoutMs);
    raw.setTimeout(connectMs, () => fail(new Error(`timeout: no answer to the connect within ${connectMs} ms`)));
    raw.once('error', fail);
    raw.connect({ host, port }, () => {
      raw.setTimeout(0);
      raw.removeListener('error', fail);
      ftp.dataSocket = instrument(ftp, raw, o, reservation);
      resolve();
    });
  });
}

/** Passive mode: EPSV, falling back to PASV (the data host is always the control host). */
export function passiveStrategy(o: DataConnectionOptions): TransferStrategy {
  let useEpsv = true;
  return async (ftp) => {
    const reservation = await o.gate.acquire('data', o.purpose());
    try {
      const controlHost = ftp.socket.remoteAddress;
      if (!controlHost) throw new Error('The control connection is closed.');
      const ahead = o.lookahead?.take();
      if (ahead !== undefined) {
        try {
          await connectData(ftp, controlHost, ahead, o, reservation);
          return { code: 229, message: `look-ahead port ${ahead}` };
        } catch (e) {
          // A port the server no longer listens on: it dropped the look-ahead; ask as usual.
          if ((e as { cause?: { code?: string } }).cause?.code !== 'ECONNREFUSED') throw e;
          o.lookahead?.refuse(`connecting to its port ${ahead} was refused`);
        }
      }
      if (useEpsv) {
        try {
          const res = await ftp.request('EPSV');
          await connectData(ftp, controlHost, parseEpsv(res.message), o, reservation);
          return res;
        } catch (e) {
          if (!(e instanceof Error) || !/^5\d\d|EPSV/.test(`${(e as { code?: number }).code ?? ''} ${e.message}`)) throw e;
          useEpsv = false;
          if (o.lookahead) o.lookahead.epsv = false;
        }
      }
      const res = await ftp.request('PASV');
      // Never follow a PASV answer to another host (FTP bounce); use the control host.
      await connectData(ftp, controlHost, parsePasv(res.message).port, o, reservation);
      return res;
    } catch (e) {
      o.ledger.release(reservation, o.now());
      throw e;
    }
  };
}

/**
 * Active mode: listen locally, send EPRT (or PORT), and let the server connect to us when the
 * transfer command is sent. basic-ftp wants ftp.dataSocket set before the command, so it gets a
 * stand-in stream that is joined to the server's connection when it arrives.
 */
export function activeStrategy(o: DataConnectionOptions): TransferStrategy {
  return async (ftp) => {
    const reservation = await o.gate.acquire('data', o.purpose());
    const localAddress = ftp.socket.localAddress;
    let listener: net.Server;
    try {
      if (!localAddress) throw new Error('The control connection is closed.');
      listener = await listenInRange(localAddress.replace(/^::ffff:/, ''), o.active?.portRange);
    } catch (e) {
      o.ledger.release(reservation, o.now());
      throw e;
    }
    const port = (listener.address() as net.AddressInfo).port;
    const advertised = o.active?.address ?? localAddress.replace(/^::ffff:/, '');
    const stand = new ActiveDataStream(listener, o.timeoutMs, (raw) => instrument(ftp, raw, o, reservation));
    ftp.dataSocket = stand as unknown as Socket;
    let res: FTPResponse;
    try {
      res = net.isIPv6(advertised)
        ? await ftp.request(`EPRT |2|${advertised}|${port}|`)
        : await ftp.request(`PORT ${advertised.split('.').join(',')},${Math.floor(port / 256)},${port % 256}`);
    } catch (e) {
      listener.close();
      o.ledger.release(reservation, o.now());
      throw e;
    }
    return res;
  };
}

function listenInRange(host: string, range?: [number, number]): Promise<net.Server> {
  const ports = range ? Array.from({ length: range[1] - range[0] + 1 }, (_, i) => range[0] + i) : [0];
  return new Promise((resolve, reject) => {
    const tryNext = (i: number) => {
      const port = ports[i];
      if (port === undefined) {
        reject(new Error(`no free local port for active mode in ${range?.join('-')}`));
        return;
      }
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
      server.once('error', () => tryNext(i + 1));
      server.listen({ host, port, exclusive: true }, () => resolve(server));
    };
    tryNext(0);
  });
}

/**
 * The stand-in data socket for active mode: a Duplex that buffers until the server connects,
 * then pipes both ways. Only one connection is accepted; the listener closes after it.
 */
class ActiveDataStream extends Duplex {
  private real: Socket | null = null;
  private pendingWrites: Array<{ chunk: Buffer; cb: (e?: Error | null) => void }> = [];
  private pendingFinal: ((e?: Error | null) => void) | null = null;
  remoteAddress: string | undefined;
  remotePort: number | undefined;

  constructor(
    private readonly listener: net.Server,
    timeoutMs: number,
    wrap: (raw: Socket) => Socket,
  ) {
    super({ allowHalfOpen: true });
    const timer = setTimeout(() => {
      this.destroy(new Error('Timeout: the server did not connect back for the active-mode data connection'));
    }, timeoutMs);
    listener.once('connection', (raw: Socket) => {
      clearTimeout(timer);
      listener.close();
      const real = wrap(raw);
      this.real = real;
      this.remoteAddress = raw.remoteAddress;
      this.remotePort = raw.remotePort;
      real.on('data', (d: Buffer) => {
        if (!this.push(d)) real.pause();
      });
      real.on('end', () => {
        this.push(null);
        // The listener is half-open (so the reset close can answer the server's FIN): close our
        // side too, or servers that wait for it before the 226 (proftpd, TimeoutLinger) stall.
        real.end();
      });
      real.on('error', (e) => this.destroy(e));
      real.on('close', () => {
        if (!this.readableEnded) this.push(null);
      });
      raw.resume();
      for (const w of this.pendingWrites.splice(0)) real.write(w.chunk, w.cb);
      if (this.pendingFinal) {
        const cb = this.pendingFinal;
        this.pendingFinal = null;
        real.end(() => cb());
      }
    });
  }

  override _read(): void {
    this.real?.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.real) this.real.write(chunk, cb);
    else this.pendingWrites.push({ chunk, cb });
  }
  override _final(cb: (e?: Error | null) => void): void {
    if (this.real) this.real.end(() => cb());
    else this.pendingFinal = cb;
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.listener.close();
    this.real?.destroy();
    cb(err);
  }
  setTimeout(): this {
    return this;
  }
  /** basic-ftp's transfer watchdog measures progress with these. */
  get bytesRead(): number {
    return this.real?.bytesRead ?? 0;
  }
  get bytesWritten(): number {
    return this.real?.bytesWritten ?? 0;
  }
}
