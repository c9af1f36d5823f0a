/**
 * Put a freshly uploaded temporary file in place of the target: RNFR/RNTO over it, or, on servers
 * that refuse to rename onto an existing file (IIS: 550, FileZilla Server: 553), move the old file
 * aside first, rename the new one in, then delete the old one. If the second rename fails, the
 * old file goes back, so the target is never lost; an aside copy a crash leaves behind carries a
 * temporary name, which the next plan removes.
 */
import { randomBytes } from 'node:crypto';
import { FTPError, type Client } from 'basic-ftp';
import { tempNameFor } from '../core/names.js';
import { remoteSplit } from './safe-names.js';
import type { SharedServerFacts } from './types.js';

export interface ReplaceContext {
  server: string;
  client: Client;
  shared: SharedServerFacts;
}

function refusal(e: unknown): e is FTPError {
  return e instanceof FTPError && e.code >= 500;
}

/** basic-ftp's message is the reply line, code included. */
function reply(e: FTPError): string {
  return e.message.replace(/\s+/g, ' ').trim();
}

/** Rename `from` to `to`, replacing `to` if it exists. Throws the server's refusal when neither way works. */
export async function replaceFile(c: ReplaceContext, from: string, to: string): Promise<void> {
  try {
    await c.client.rename(from, to);
    return;
  } catch (e) {
    if (!refusal(e)) throw e;
    // Refused because `to` exists, or for another reason (permissions): moving `to` aside tells.
    const aside = await moveAside(c, to);
    if (aside === null) throw e;
    if (!c.shared.renameOntoRefused) {
      c.shared.renameOntoRefused = true;
      c.shared.warnings.add(
        `${c.server}: the server refuses to rename onto an existing file (${reply(e)}); ftpsync moves the old file aside, renames the new one in, then deletes the old one (the name is missing between two renames)`,
      );
    }
    await renameInOrRestore(c, from, to, aside);
  }
}

/** Move `to` to a temporary name beside it; null when the server refuses (it does not exist, or may not be renamed). */
async function moveAside(c: ReplaceContext, to: string): Promise<string | null> {
  const { dir, name } = remoteSplit(to);
  const aside = `${dir === '/' ? '' : dir}/${tempNameFor(name, `old-${randomBytes(4).toString('hex')}`)}`;
  try {
    await c.client.rename(to, aside);
    return aside;
  } catch (e) {
    if (refusal(e)) return null;
    throw e;
  }
}

async function renameInOrRestore(c: ReplaceContext, from: string, to: string, aside: string): Promise<void> {
  try {
    await c.client.rename(from, to);
  } catch (e) {
    // The old file goes back where it was; if even that fails, its aside name keeps it (and the error says where).
    const restored = await c.client.rename(aside, to).then(
      () => true,
      () => false,
    );
    if (!restored && e instanceof Error) e.message += ` (the previous ${to} is kept as ${aside})`;
    throw e;
  }
  // The old copy: gone now, or by the next plan (a temporary name is always removed).
  await c.client.remove(aside, true).catch(() => undefined);
}
