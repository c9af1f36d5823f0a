/**
 * TLS data connections over a TCP socket we keep in hand, so ftpsync (not Node's TLS layer) decides
 * when our FIN goes out and can answer the server's FIN with a reset (docs/firewall.md, "The reset
 * close under TLS"). Node's TLS layer, given a net.Socket, takes over its handle and sends
 * close_notify and FIN together: the two FINs then race, and the server keeps TIME_WAIT whenever
 * its FIN goes first. Given a stream instead, it writes through the stream, which passes bytes on
 * and holds or forwards the FIN as the sequence says:
 *
 *  - 'reset': close_notify is sent and exchanged as usual, our FIN is held; once the server's FIN
 *    has arrived after our close_notify (every byte is in and the server has read ours), we answer
 *    with RST, so the server's socket goes straight to CLOSED. A server that never sends its FIN
 *    gets our FIN after `holdMs` instead (the conservative close), and `onHeldTooLong` is told.
 *  - 'normal': close_notify then FIN, as Node does it (the sequence before this module).
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect, createSecureContext, TLSSocket, type ConnectionOptions, type SecureContext } from 'node:tls';
import type { ServerConfig } from '../manifest/types.js';
import type { TrackedSocket } from './socket-tracking.js';
import type { SharedServerFacts } from './types.js';

export type TlsCloseSequence = 'normal' | 'reset';

/** How long the reset close waits for the server's FIN after the TLS close, before sending ours. */
export const DEFAULT_HOLD_MS = 3_000;

export interface TlsDataOptions {
  sequence: TlsCloseSequence;
  tracked: () => TrackedSocket | null;
  holdMs?: number;
  /** The server did not close within holdMs of the TLS close: our FIN went out instead. */
  onHeldTooLong?: () => void;
}

/** What a data connection's TLS takes from the control connection's. */
export interface TlsDataParams {
  options: ConnectionOptions;
  session: Buffer | undefined;
  /**
   * Key-share groups, the control connection's first (keyShareGroups); default: Node's. Asked once,
   * when the first data connection of the session builds the TLS context.
   */
  groups?: (() => string | undefined) | undefined;
}

/** Open TLS on `raw` with the close `sequence`; returns the TLS socket transfers use. */
export function tlsOverRaw(raw: Socket, p: TlsDataParams, o: TlsDataOptions): TLSSocket {
  const pipe = new RawPipe(raw, o);
  const tls = tlsConnect({ ...p.options, secureContext: secureContextFor(p.options, p.groups), socket: pipe, ...(p.session ? { session: p.session } : {}) });
  // TLS takes allowHalfOpen from the stream it runs over (ours is half-open, to hold the FIN):
  // answer the server's close_notify with ours, as Node does by default (vsftpd waits for it).
  tls.on('end', () => {
    if (!tls.writableEnded) tls.end();
  });
  tls.once('secureConnect', () => secured.add(tls));
  return tls;
}

const secured = new WeakSet<Socket>();

/**
 * Run `start` once `socket` can carry data: at once for a plain socket, after the handshake for
 * ours. An upload that ends before the handshake (an empty file) would otherwise end the TLS
 * stream under it and the handshake's last message would be written after the end.
 */
export function whenSecure(socket: Socket, start: () => void): void {
  if (socket instanceof TLSSocket && !secured.has(socket)) socket.once('secureConnect', start);
  else start();
}

/**
 * One secure context per session's TLS options: without it Node builds one per data connection
 * (the CA store, the cipher lists), a cost paid on every file (docs/benchmarks.md, "FTPS").
 * basic-ftp sets the options with the control connection's TLS (useTLS, connectImplicitTLS), so
 * one options object belongs to one control connection, and so do its groups.
 */
const contexts = new WeakMap<ConnectionOptions, SecureContext>();
function secureContextFor(options: ConnectionOptions, groups: TlsDataParams['groups']): SecureContext {
  let ctx = contexts.get(options);
  if (!ctx) contexts.set(options, (ctx = createSecureContext({ ...options, ecdhCurve: groups?.() ?? 'auto' })));
  return ctx;
}

/** OpenSSL 3.0's default groups, in its order, by the names getEphemeralKeyInfo() reports. */
const DEFAULT_GROUPS = ['X25519', 'prime256v1', 'X448', 'secp521r1', 'secp384r1', 'ffdhe2048', 'ffdhe3072', 'ffdhe4096', 'ffdhe6144', 'ffdhe8192'];

/**
 * The groups a data connection offers: the one the control connection agreed on first, then the
 * defaults (undefined: Node's default). A TLS 1.3 client sends a key share for its first group
 * only; vsftpd and pure-ftpd take only P-256 and answer Node's X25519 with a HelloRetryRequest, a
 * second ClientHello and one more round trip on every data connection (docs/benchmarks.md, "FTPS:
 * the key share").
 */
export function keyShareGroups(control: TLSSocket): string | undefined {
  const info = control.getEphemeralKeyInfo();
  const name = info && 'name' in info ? info.name : undefined;
  if (!name || name === DEFAULT_GROUPS[0] || !DEFAULT_GROUPS.includes(name)) return undefined;
  return [name, ...DEFAULT_GROUPS.filter((g) => g !== name)].join(':');
}

class RawPipe extends Duplex {
  /** Set once our close_notify is written (our TLS shutdown): the server has every byte we sent. */
  private notifySent = false;
  private serverFin = false;
  private done = false;
  private holdTimer: NodeJS.Timeout | null = null;
  remoteAddress: string | undefined;
  remotePort: number | undefined;

  constructor(
    private readonly raw: Socket,
    private readonly o: TlsDataOptions,
  ) {
    super({ allowHalfOpen: true });
    // No Nagle: a close_notify held back until the ACK of the last data (delayed ACK, 40 ms) slowed
    // every upload with the reset close (no FIN follows to push it out).
    raw.setNoDelay(true);
    this.remoteAddress = raw.remoteAddress;
    this.remotePort = raw.remotePort;
    raw.on('data', (d: Buffer) => {
      if (!this.push(d)) raw.pause();
    });
    raw.on('end', () => {
      this.serverFin = true;
      this.push(null);
      this.maybeReset();
    });
    raw.on('error', (e) => {
      if (!this.done) this.destroy(e);
    });
    raw.on('close', () => {
      this.done = true;
      if (this.holdTimer) clearTimeout(this.holdTimer);
      if (!this.readableEnded) this.push(null);
    });
  }

  /** RST once both TLS closes are through and the server's FIN is in. */
  private maybeReset(): void {
    if (this.o.sequence !== 'reset' || this.done || !this.serverFin || !this.notifySent) return;
    this.done = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.o.tracked()?.markReset();
    this.raw.resetAndDestroy();
  }

  /** The reset close: wait (bounded) for the server's FIN; without it, our FIN after all. */
  private hold(): void {
    if (this.done || this.holdTimer) return;
    this.holdTimer = setTimeout(() => {
      if (this.done) return;
      this.done = true;
      this.o.onHeldTooLong?.();
      this.raw.end();
      this.raw.destroySoon();
    }, this.o.holdMs ?? DEFAULT_HOLD_MS);
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.raw.destroyed) cb();
    else this.raw.write(chunk, cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.notifySent = true;
    if (this.o.sequence === 'reset') {
      cb();
      this.maybeReset();
      this.hold();
      return;
    }
    if (this.raw.destroyed) cb();
    else this.raw.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.done || this.raw.destroyed) {
      cb(err);
      return;
    }
    if (this.o.sequence !== 'reset') {
      this.done = true;
      this.raw.destroy();
    } else if (!this.notifySent) {
      // Torn down before the TLS close (an error, a timeout): nothing more to send; reset.
      this.done = true;
      this.o.tracked()?.markReset();
      this.raw.resetAndDestroy();
    } else {
      // The transfer is settled (226 and every byte); the server's FIN is still on its way.
      this.maybeReset();
      this.hold();
    }
    cb(err);
  }

  setTimeout(): this {
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.raw.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  get bytesRead(): number {
    return this.raw.bytesRead;
  }
  get bytesWritten(): number {
    return this.raw.bytesWritten;
  }
}

/** The sequence a server's TLS data connections close with: 'reset' unless the manifest says normal or the server rejected it. */
export function tlsCloseSequence(config: Pick<ServerConfig, 'dataClose'>, shared: Pick<SharedServerFacts, 'tlsClose'>): TlsCloseSequence {
  return shared.tlsClose ?? (config.dataClose === 'normal' ? 'normal' : 'reset');
}

/** What a session's data strategy needs: the sequence per connection, and the switch when a server holds its FIN. */
export function tlsCloseControls(
  config: Pick<ServerConfig, 'name' | 'dataClose'>,
  shared: SharedServerFacts,
): { tlsClose: () => TlsCloseSequence; onTlsHeldTooLong: () => void } {
  return {
    tlsClose: () => tlsCloseSequence(config, shared),
    onTlsHeldTooLong: () => useConservativeClose(config, shared, `it did not close a TLS data connection within ${DEFAULT_HOLD_MS / 1000} s of the TLS close`),
  };
}

/** Switch the server to close_notify then FIN for the rest of the run, with a warning that says what to set. */
export function useConservativeClose(config: Pick<ServerConfig, 'name'>, shared: SharedServerFacts, why: string): void {
  if (shared.tlsClose === 'normal') return;
  shared.tlsClose = 'normal';
  shared.warnings.add(
    `${config.name}: the server rejected the TLS reset close (${why}); ftpsync closes its TLS data connections normally for the rest of the run, each counted for the full timeWait. Set dataClose: normal for this server to skip the attempt`,
  );
}
