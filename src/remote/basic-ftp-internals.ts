/**
 * Every place ftpsync reaches into basic-ftp below its documented API, in one file, so an upgrade
 * is audited here. Each override names the basic-ftp version whose dist/ it was checked against;
 * package.json pins that version and test/remote/basic-ftp-internals.test.ts fails when the
 * installed basic-ftp no longer has what these rely on. Before changing the pin, re-read
 * node_modules/basic-ftp/dist/{Client,FtpContext}.js for each entry and update its version.
 */
import type { Socket } from 'node:net';
import { pipeline, type Readable, type Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { FTPError, type Client, type FTPContext, type FTPResponse, type TaskResolver } from 'basic-ftp';
import { keyShareGroups, whenSecure, type TlsDataParams } from './tls-close.js';

/** The basic-ftp version every override below was checked against. */
export const BASIC_FTP_CHECKED = '6.2.6';

/** A Client.prepareTransfer replacement: opens the data connection for the next transfer. */
export type TransferStrategy = (ftp: FTPContext) => Promise<FTPResponse>;

type ContextInternals = FTPContext & { _newSocket: () => Socket };

// 6.2.6: FTPContext._newSocket() makes the control socket (FtpContext.js, "replaced for unit tests"); ours is tracked by the ledger.
export function setControlSocketFactory(client: Client, make: () => Socket): void {
  (client.ftp as ContextInternals)._newSocket = make;
}

// 6.2.6: FTPContext.handle() records `new Error().stack` per task, only for an overlapping-task message the pool rules out; sent with stack capture off.
export function withoutTaskStacks(ftp: FTPContext): void {
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

// 6.2.6: Client.prepareTransfer is awaited by list/uploadFrom/downloadTo before each transfer command; ours asks the gate and tracks the socket.
export function setTransferStrategy(client: Client, strategy: TransferStrategy): void {
  client.prepareTransfer = strategy;
}

// 6.2.6: Client.list() sends each of availableListCommands in turn and hands the text to parseList; one command, raw text kept.
export async function listRawText(client: Client, command: string): Promise<string> {
  let text = '';
  client.parseList = (raw: string) => {
    text = raw;
    return [];
  };
  client.availableListCommands = [command];
  await client.list();
  return text;
}

// 6.2.6: FTPContext.tlsOptions (set by useTLS/connectImplicitTLS) and tlsSessionStore (updated on the control socket's 'session'); data TLS reuses them.
export function dataTlsParams(ftp: FTPContext): TlsDataParams {
  const control = ftp.socket as TLSSocket;
  return { options: ftp.tlsOptions, session: ftp.tlsSessionStore ?? control.getSession(), groups: () => keyShareGroups(control) };
}

// 6.2.6: as above; a data connection's newer session is what the next one resumes.
export function rememberTlsSession(ftp: FTPContext, session: Buffer): void {
  ftp.tlsSessionStore = session;
}

// 6.2.6: FTPContext.log(message) prints "> command" (PASS already as "PASS ###"), "< reply chunk", connection
// and TLS notes, and a LIST reply's whole text, with console.log when ftp.verbose is set; routed to `line`
// instead, without the listing text, PASS masked again here.
const TRACED = /^(?:[<>] |Connected to |Login security: |Control socket is using: |Uploading to |Downloading from )/;
export function traceControl(ftp: FTPContext, line: (text: string) => void): void {
  ftp.verbose = true;
  ftp.log = (message: string) => {
    if (!TRACED.test(message)) return;
    const [first = '', ...rest] = message.split(/\r?\n/).filter((l) => l.trim() !== '');
    // A reply chunk of several lines, or commands sent in one write: each line is marked.
    const mark = /^[<>] /.exec(first)?.[0] ?? '';
    for (const l of [first, ...rest.map((r) => `${mark}${r}`)]) if (l.trim() !== '<') line(redactPass(l));
  };
}

/** "> PASS anything" -> "> PASS ****": the password never reaches a trace, whatever sent it. */
export function redactPass(line: string): string {
  return line.replace(/^(>\s*PASS)\b.*$/i, '$1 ****');
}

// 6.2.6: FTPContext reads replies through its 'data' listener on the control socket (_onControlSocketData); detached while rawControlCommand (listing.ts) reads a reply itself.
export function detachControlReader(socket: Socket): () => void {
  const saved = socket.listeners('data') as Array<(chunk: string | Buffer) => void>;
  socket.removeAllListeners('data');
  return () => {
    for (const l of saved) socket.on('data', l);
  };
}

/** The next passive port asked for with a transfer command (data-connection.ts PassiveLookahead). */
export interface TransferLookahead {
  /** Send EPSV with this transfer command. */
  wanted(): boolean;
  /** The server's answer to that EPSV; `midTransfer`: it came before the transfer's final reply. */
  answered(reply: FTPResponse | Error, midTransfer: boolean): void;
}

// 6.2.6: Client.uploadFrom and Client.downloadTo (transfer.js) wait for the server's 150/125 before
// the data moves, one round trip after the STOR. A passive data connection is open before the
// command (under TLS its handshake has begun), so ours sends the data with the STOR (the server
// reads it once it accepts; under TLS from the moment the handshake is through) and reads a RETR's
// data as it comes. Both send the next transfer's EPSV in the same write as the command: the servers read it
// with the command and answer it after the transfer's final reply, which saves the EPSV's round
// trip on the next file (docs/benchmarks.md, "Look-ahead EPSV"). The data socket's errors still go
// through basic-ftp's handlers (the context closes).
export function ownPassiveTransfers(client: Client, lookahead: TransferLookahead): void {
  client.uploadFrom = async (source: Readable | string, remotePath: string) => {
    if (typeof source === 'string') throw new Error('ownPassiveTransfers: a stream, not a file name');
    const ftp = client.ftp;
    const onSourceError = (err: Error) => ftp.closeWithError(err);
    source.once('error', onSourceError);
    try {
      const data = await openData(client);
      const task = transferCommand(ftp, `STOR ${await client.protectWhitespace(remotePath)}`, lookahead);
      whenSecure(data, () =>
        pipeline(source, data, (err) => {
          if (!err) task.dataDone(); // an error reached basic-ftp's handler, which closed the context
        }),
      );
      return await task.reply;
    } finally {
      source.removeListener('error', onSourceError);
    }
  };
  client.downloadTo = async (destination: Writable | string, remotePath: string, startAt = 0) => {
    if (typeof destination === 'string' || startAt !== 0) throw new Error('ownPassiveTransfers: a stream from the start');
    const ftp = client.ftp;
    const data = await openData(client);
    const task = transferCommand(ftp, `RETR ${await client.protectWhitespace(remotePath)}`, lookahead);
    pipeline(data, destination, (err) => {
      if (!err) task.dataDone();
      else if (!task.settled()) ftp.closeWithError(err);
    });
    return task.reply;
  };
}

async function openData(client: Client): Promise<Socket> {
  await client.prepareTransfer(client.ftp);
  const data = client.ftp.dataSocket;
  if (!data) throw new Error('A transfer should begin but no data connection is available.');
  return data;
}

/**
 * A transfer command and its replies: the 1xx, the final reply, then (look-ahead) the EPSV's. A
 * server that reads commands during a transfer answers the EPSV before the final reply (proftpd
 * 450, pure-ftpd 500, when it comes in a later segment) or opens a port then: either goes to the
 * look-ahead, which stops asking. The transfer settles on its final reply once the data is done.
 */
function transferCommand(ftp: FTPContext, command: string, lookahead: TransferLookahead): TransferTask {
  let awaitingAhead = lookahead.wanted();
  let preliminary = false;
  let final: FTPResponse | Error | undefined;
  let dataDone = false;
  let settled = false;
  let task: TaskResolver | undefined;
  const settle = () => {
    if (!task || final === undefined || awaitingAhead || (!(final instanceof Error) && !dataDone)) return;
    settled = true;
    ftp.dataSocket = undefined;
    if (final instanceof Error) task.reject(final);
    else task.resolve(final);
  };
  const answerAhead = (res: FTPResponse | Error, midTransfer: boolean) => {
    awaitingAhead = false;
    lookahead.answered(res, midTransfer);
  };
  // Checked as basic-ftp's send() checks every command: no line breaks smuggled in by a name.
  if (/[\r\n\0]/.test(command)) throw new Error(`Invalid command: Contains control characters. (${command})`);
  const reply = ftp.handle(undefined, (res, t) => {
    task = t;
    if (!(res instanceof FTPError) && res instanceof Error) {
      // The connection failed or timed out: no more replies. A finished transfer stays finished.
      if (awaitingAhead) answerAhead(res, final === undefined);
      if (final === undefined || final instanceof Error || !dataDone) final = res;
    } else if (final === undefined) {
      if (res.code < 200) {
        preliminary = true;
        return;
      }
      if (awaitingAhead && preliminary && answersEpsv(res.code, res.message)) return answerAhead(res, true);
      if (res.code < 400 && res.code >= 300) return ftp.closeWithError(new Error(`Unexpected FTP response is requesting an answer: ${res.message}`));
      final = res;
    } else if (awaitingAhead) answerAhead(res, false);
    settle();
  });
  const lines = awaitingAhead ? [command, 'EPSV'] : [command];
  for (const l of lines) ftp.log(`> ${l}`);
  if (!ftp.closed) ftp.socket.write(`${lines.join('\r\n')}\r\n`, ftp.encoding);
  // The control connection sits idle while the data goes: the data socket's timeout watches it.
  ftp.socket.setTimeout(0);
  ftp.dataSocket?.setTimeout(ftp.timeout);
  return {
    reply: reply as Promise<FTPResponse>,
    settled: () => settled,
    dataDone: () => {
      if (settled) return;
      dataDone = true;
      ftp.dataSocket?.setTimeout(0);
      ftp.socket.setTimeout(ftp.timeout);
      settle();
    },
  };
}

interface TransferTask {
  reply: Promise<FTPResponse>;
  /** The reply has settled the transfer (a refusal closes the data connection: not an error then). */
  settled: () => boolean;
  /** Every byte is written (upload) or received and stored (download). */
  dataDone: () => void;
}

/** A reply between a transfer's 1xx and its final reply that answers the look-ahead EPSV, not the transfer. */
function answersEpsv(code: number, message: string): boolean {
  return code === 229 || (code >= 500 && code <= 503) || /\bEPSV\b/i.test(message);
}
