/**
 * A server that rejects the TLS reset close (tls-close.ts): detected, the file sent again with the
 * normal close, the server switched to the normal close for the rest of the run, with a warning
 * naming it and what to set. Rejections: a 425/426/451 reply to the transfer, the data connection
 * reset under us, a short file (checked with SIZE on the first transfers each way), or no FIN from
 * the server after the TLS close (tls-close.ts holds for DEFAULT_HOLD_MS, then switches).
 *
 * Wraps the client's uploadFrom/downloadTo (their public API), so every transfer of the session is
 * covered. A transfer is sent again on the same session when it is still up and its stream can be
 * opened again (a file); otherwise the error goes up and the caller's retry, on a fresh session,
 * closes normally. Atomic uploads and downloads land under a temporary name: nothing partial is
 * left in place either way.
 */
import { createReadStream, createWriteStream, ReadStream, statSync, WriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { FTPError, type Client, type FTPResponse } from 'basic-ftp';
import type { ServerConfig } from '../manifest/types.js';
import { tlsCloseSequence, useConservativeClose } from './tls-close.js';
import type { SharedServerFacts } from './types.js';

/** Transfers each way checked for a short file (SIZE) while a server is on the reset close. */
export const CHECKED_TRANSFERS = 3;

type Direction = 'upload' | 'download';

/** Why this failure says the server rejected the close, or null when it says something else. */
export function rejectedClose(e: unknown): string | null {
  if (e instanceof FTPError && [425, 426, 451].includes(e.code)) return `it answered ${e.message.split('\n')[0]!.slice(0, 80)}`;
  if (e instanceof Error && /ECONNRESET|EPIPE/.test(e.message) && /data socket/.test(e.message)) return 'it reset the data connection';
  return null;
}

class ShortFile extends Error {}

export function guardTransfers(client: Client, config: Pick<ServerConfig, 'name' | 'tls' | 'dataClose'>, shared: SharedServerFacts): void {
  if (config.tls === 'none') return;
  const checked = (shared.closeChecked ??= { upload: 0, download: 0 });
  const upload = client.uploadFrom.bind(client);
  const download = client.downloadTo.bind(client);
  const size = async (path: string): Promise<number | null> => {
    const r = await client.sendIgnoringError(`SIZE ${path}`);
    return r.code === 213 ? Number(r.message.slice(4).trim()) : null;
  };

  /** Run the transfer; on a rejected close, switch and (where possible) run it once more. */
  const guarded = async (
    dir: Direction,
    remotePath: string,
    run: () => Promise<FTPResponse>,
    again: (() => Promise<FTPResponse>) | null,
    expected: () => number | null,
  ) => {
    if (tlsCloseSequence(config, shared) !== 'reset') return run();
    let why: string | null;
    try {
      const res = await run();
      if (checked[dir] >= CHECKED_TRANSFERS) return res;
      checked[dir]++;
      const [want, got] = dir === 'upload' ? [expected(), await size(remotePath)] : [await size(remotePath), expected()];
      if (want === null || got === null || want === got) return res;
      why = `a short file: ${remotePath} has ${got} of ${want} bytes`;
      useConservativeClose(config, shared, why);
      if (!again) throw new ShortFile(`${remotePath}: ${why}`);
    } catch (e) {
      if (e instanceof ShortFile) throw e;
      why = rejectedClose(e);
      if (!why) throw e;
      useConservativeClose(config, shared, why);
      if (!again || client.closed) throw e;
    }
    return again();
  };

  client.uploadFrom = (source: Readable, remotePath: string, options?: Parameters<Client['uploadFrom']>[2]) => {
    const file = source instanceof ReadStream ? String(source.path) : null;
    return guarded(
      'upload',
      remotePath,
      () => upload(source, remotePath, options),
      file ? () => upload(createReadStream(file), remotePath, options) : null,
      () => (file ? statSync(file).size : null),
    );
  };
  client.downloadTo = (destination: Writable | string, remotePath: string, startAt?: number) => {
    const file = destination instanceof WriteStream ? String(destination.path) : typeof destination === 'string' ? destination : null;
    let written: WriteStream | null = destination instanceof WriteStream ? destination : null;
    return guarded(
      'download',
      remotePath,
      () => download(destination, remotePath, startAt),
      file && !startAt
        ? () => {
            written = createWriteStream(file);
            return download(written, remotePath);
          }
        : null,
      () => written?.bytesWritten ?? (file ? statSync(file).size : null),
    );
  };
}
