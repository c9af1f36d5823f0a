/**
 * A checksum state the server would not take (its quota full, the connection gone at the end of
 * a failed run) is kept on this side, in .ftpsync/ beside the manifest, until a later write to
 * the server succeeds. The next plan adds its claims to the server's state where the server's
 * state cannot vouch for the file and the listing shows the claimed size, so files that landed
 * are not uploaded again once the fault is fixed.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RemoteTree } from '../core/tree.js';
import { readState, type StateRead } from '../plan/state.js';

/** The manifest's directory of local run files (journal, learned limits, pending states). */
export function localStateDir(manifestFile: string): string {
  return join(dirname(manifestFile), '.ftpsync');
}

export class PendingStates {
  constructor(
    /** The manifest's .ftpsync directory. */
    private readonly dir: string,
    private readonly server: string,
  ) {}

  private path(sync: string): string {
    return join(this.dir, `state-pending-${this.server}-${sync}.json`);
  }

  /** Keep a state the server refused. Best effort: a local failure only loses the shortcut. */
  save(sync: string, body: Buffer): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(this.path(sync), body);
    } catch {
      // the next plan compares those files as on a first run, as it would without this file
    }
  }

  /** The server has the state now: the local copy is not needed. */
  clear(sync: string): void {
    rmSync(this.path(sync), { force: true });
  }

  read(sync: string): StateRead {
    try {
      return readState(readFileSync(this.path(sync)));
    } catch {
      return { status: 'missing' };
    }
  }
}

/**
 * The server's state with the pending claims added (pure): a claim counts for a file the server's
 * state does not know at the size the listing shows, and only where the listing shows the claimed
 * size. A server state that is not readable stays as it is (the plan says so).
 */
export function withPending(server: StateRead, pending: StateRead, remote: RemoteTree): { state: StateRead; added: number } {
  if (pending.status !== 'ok' || server.status === 'invalid') return { state: server, added: 0 };
  const files = server.status === 'ok' ? { ...server.state.files } : {};
  let added = 0;
  for (const [p, claim] of Object.entries(pending.state.files)) {
    const listed = remote.get(p);
    if (listed?.type !== 'file' || listed.size !== claim.size) continue;
    if (files[p]?.size === listed.size) continue;
    files[p] = claim;
    added++;
  }
  return { state: added === 0 ? server : { status: 'ok', state: { version: 1, files } }, added };
}
