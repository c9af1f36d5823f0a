/**
 * The next passive port, asked for with the previous transfer command (EPSV in the same write as the
 * STOR or RETR: basic-ftp-internals.ts ownPassiveTransfers), so the next file starts with its data
 * connect (docs/benchmarks.md, "Look-ahead EPSV"). Used only if nothing else went over the control
 * connection since the port arrived; a server that answers the EPSV before the transfer's final
 * reply (it reads commands during transfers) or with anything but 229, or no longer listens on the
 * port, is not asked ahead again this run (shared by its sessions).
 */
import type { Socket } from 'node:net';
import type { FTPResponse } from 'basic-ftp';
import type { TransferLookahead } from './basic-ftp-internals.js';
import type { SharedServerFacts } from './types.js';

export class PassiveLookahead implements TransferLookahead {
  /** The server takes EPSV: turned off when passiveStrategy falls back to PASV. */
  epsv = true;
  private port: number | undefined;
  private writtenAt = -1;

  constructor(
    private readonly control: () => Socket,
    private readonly shared: Pick<SharedServerFacts, 'lookaheadRefused'>,
  ) {}

  wanted(): boolean {
    return this.epsv && this.shared.lookaheadRefused === undefined;
  }

  answered(reply: FTPResponse | Error, midTransfer: boolean): void {
    this.port = undefined;
    const code = (reply as { code?: number }).code;
    const port = code === 229 && !midTransfer ? epsvPort(reply.message) : undefined;
    if (port !== undefined) {
      this.port = port;
      this.writtenAt = this.control().bytesWritten;
    } else this.refuse(`it answered ${code ?? ''} ${reply.message}${midTransfer ? ' during the transfer' : ''}`.trim());
  }

  refuse(why: string): void {
    this.port = undefined;
    this.shared.lookaheadRefused ??= why;
  }

  /** The port asked for ahead, if it is still the server's next passive port. */
  take(): number | undefined {
    const port = this.port;
    this.port = undefined;
    return port !== undefined && this.control().bytesWritten === this.writtenAt ? port : undefined;
  }
}

/** The port of a 229 reply ("Entering Extended Passive Mode (|||30065|)"). */
export function epsvPort(message: string): number | undefined {
  const m = /[|!]{3}(\d+)[|!]/.exec(message);
  return m ? Number(m[1]) : undefined;
}
