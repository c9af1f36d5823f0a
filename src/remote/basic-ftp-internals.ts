/**
 * Every place ftpsync reaches into basic-ftp below its documented API, in one file, so an upgrade
 * is audited here. Each override names the basic-ftp version whose dist/ it was checked against;
 * package.json pins that version and test/remote/basic-ftp-internals.test.ts fails when the
 * installed basic-ftp no longer has what these rely on. Before changing the pin, re-read
 * node_modules/basic-ftp/dist/{Client,FtpContext}.js for each entry and update its version.
 */
import type { Socket } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Client, FTPContext, FTPResponse } from 'basic-ftp';

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
export function dataTlsParams(ftp: FTPContext): { options: FTPContext['tlsOptions']; session: Buffer | undefined } {
  return { options: ftp.tlsOptions, session: ftp.tlsSessionStore ?? (ftp.socket as TLSSocket).getSession() };
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
    // A reply chunk of several lines: each is marked as a reply.
    for (const l of [first, ...rest.map((r) => (first.startsWith('< ') ? `< ${r}` : r))]) if (l.trim() !== '<') line(redactPass(l));
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

// 6.2.6: Client.uploadFrom (transfer.js uploadFrom) pipes the source into the data socket only on
// the server's 150/125, one round trip after the STOR. A passive plain data connection is open
// before the STOR is sent, so ours sends the data with it: the server reads it once it accepts,
// and its 150 and 226 come back together. The data socket's errors still go through basic-ftp's
// handlers (the context closes); the STOR's reply settles the upload: an error reply rejects it, a
// 2xx resolves it once every byte is written.
export function sendDataWithStore(client: Client): void {
  client.uploadFrom = async (source: Readable | string, remotePath: string) => {
    if (typeof source === 'string') throw new Error('sendDataWithStore: a stream, not a file name');
    const ftp = client.ftp;
    const onSourceError = (err: Error) => ftp.closeWithError(err);
    source.once('error', onSourceError);
    try {
      const path = await client.protectWhitespace(remotePath);
      await client.prepareTransfer(ftp);
      const data = ftp.dataSocket;
      if (!data) throw new Error('Upload should begin but no data connection is available.');
      let written = false;
      let settle: (() => void) | undefined;
      const stored = ftp.handle(`STOR ${path}`, (res, task) => {
        if (res instanceof Error) {
          ftp.dataSocket = undefined;
          task.reject(res);
        } else if (res.code >= 200 && res.code < 300) {
          settle = () => {
            ftp.dataSocket = undefined;
            task.resolve(res);
          };
          if (written) settle();
        } else if (res.code >= 300) {
          ftp.closeWithError(new Error(`Unexpected FTP response is requesting an answer: ${res.message}`));
        }
      });
      // The control connection sits idle while the data goes: the data socket's timeout watches it.
      ftp.socket.setTimeout(0);
      data.setTimeout(ftp.timeout);
      pipeline(source, data, (err) => {
        if (err) return; // the data socket's error reached basic-ftp's handler, which closed the context
        data.setTimeout(0);
        ftp.socket.setTimeout(ftp.timeout);
        written = true;
        settle?.();
      });
      return (await stored) as FTPResponse;
    } finally {
      source.removeListener('error', onSourceError);
    }
  };
}
