/**
 * Listing strategies of one session: which one (STAT over the control connection, else MLSD,
 * else LIST -a over a data connection), the fallback when STAT stops answering with a listing,
 * and the breadth-first walk of a tree. The choice is shared by the pool's sessions.
 */
import type { Client } from 'basic-ftp';
import { FTPError } from 'basic-ftp';
import { FtpsyncError } from '../errors.js';
import type { ListingStrategyName, ServerConfig } from '../manifest/types.js';
import { listRawText } from './basic-ftp-internals.js';
import { toFtpsyncError } from './errors.js';
import { parseListingText, rawControlCommand } from './listing.js';
import type { RemoteEntry, RemoteTree } from '../core/tree.js';
import type { ListingResult, ServerFacts, SharedServerFacts } from './types.js';

/** Cheapest first: STAT costs no data connection. */
const LISTING_ORDER: ListingStrategyName[] = ['stat', 'mlsd', 'list'];

/** The strategies worth trying on a server with these FEAT lines (the settled one alone, once settled). */
export function listingCandidates(shared: SharedServerFacts, features: Map<string, string>): ListingStrategyName[] {
  return shared.listing ? [shared.listing] : LISTING_ORDER.filter((s) => s !== 'mlsd' || features.has('MLST'));
}

export interface ListingContext {
  server: string;
  client: Client;
  config: Pick<ServerConfig, 'listing' | 'timeouts'>;
  shared: SharedServerFacts;
  facts: () => Promise<ServerFacts>;
  /** What the next data connection is for, for the ledger. */
  setPurpose: (purpose: string) => void;
  /** Data connections the session opened so far. */
  dataConnections: () => number;
  /** --verbose: STAT goes around basic-ftp's logging (it reads its reply itself), so it is traced here. */
  trace?: (line: string) => void;
}

export class DirectoryLister {
  constructor(private readonly c: ListingContext) {}

  /** STAT over the control connection: zero data connections. null when the server won't. */
  private async statList(dir: string): Promise<RemoteEntry[] | null> {
    const { client, config, shared } = this.c;
    await client.cd(dir);
    const stat = async (command: string) => {
      this.c.trace?.(`> ${command}`);
      const reply = await rawControlCommand(client.ftp.socket, command, config.timeouts.dataMs);
      this.c.trace?.(`< ${reply.code} (${reply.body.length} listing lines)`);
      return reply.code >= 211 && reply.code <= 213 ? parseListingText(reply.body.join('\n')) : null;
    };
    if (shared.statCommand) {
      const parsed = await stat(shared.statCommand);
      return parsed && this.checked(parsed, dir);
    }
    // Not settled: ask both ways. `-a` only if it lists every name the plain form does (a server
    // that took "-a" for a file name would list nothing), settled on a directory that has names.
    const plain = await stat('STAT .');
    if (!plain) return null;
    const all = await stat('STAT -a .');
    const allNames = new Set(all?.entries.map((e) => e.name));
    const useAll = all !== null && plain.entries.every((e) => allNames.has(e.name));
    if (plain.entries.length > 0) shared.statCommand = useAll ? 'STAT -a .' : 'STAT .';
    return this.checked(useAll ? all : plain, dir);
  }

  private checked(parsed: ReturnType<typeof parseListingText>, dir: string): RemoteEntry[] {
    for (const r of parsed.rejected) {
      this.c.shared.warnings.add(`${this.c.server}: ignored unsafe name ${JSON.stringify(r.name)} in ${dir} (it ${r.reason})`);
    }
    return parsed.entries;
  }

  async list(dir: string): Promise<RemoteEntry[]> {
    const { server, shared } = this.c;
    try {
      const strategy = await this.pickListing(dir);
      if (strategy === 'stat') {
        const entries = await this.statList(dir);
        if (entries) return entries;
        // STAT stopped answering with a listing: fall back for the rest of this run.
        shared.statBroken = true;
        delete shared.listing;
        return this.list(dir);
      }
      return await this.listWithData(dir, strategy === 'mlsd' ? 'MLSD' : 'LIST -a');
    } catch (e) {
      if (e instanceof FTPError && e.code === 550)
        throw new FtpsyncError('E_FTP', `${server}: ${dir}: no such directory`, undefined, { server, remotePath: dir, ftpCode: 550 });
      throw toFtpsyncError(e, { server, op: 'list', remotePath: dir });
    }
  }

  /** Run a listing command (MLSD, LIST -a) in dir over a data connection and parse its text ourselves. */
  private async listWithData(dir: string, command: string): Promise<RemoteEntry[]> {
    await this.c.client.cd(dir);
    this.c.setPurpose(`${command} ${dir}`);
    const text = await listRawText(this.c.client, command);
    return this.checked(parseListingText(text), dir);
  }

  private async pickListing(dir: string): Promise<ListingStrategyName> {
    const { client, config, shared } = this.c;
    // A missing directory is a 550 here, before any strategy is judged on it.
    await client.cd(dir);
    if (config.listing !== 'auto') return config.listing === 'stat-recursive' || config.listing === 'list-recursive' ? 'stat' : config.listing;
    if (shared.listing) return shared.listing;
    const facts = await this.c.facts();
    for (const s of facts.listing) {
      if (s === 'stat' && shared.statBroken) continue;
      if (s === 'stat') {
        try {
          const entries = await this.statList(dir);
          if (entries) {
            shared.listing = 'stat';
            return 'stat';
          }
        } catch (e) {
          if (!(e instanceof FTPError)) throw e;
        }
        shared.statBroken = true;
        continue;
      }
      shared.listing = s;
      return s;
    }
    shared.listing = 'list';
    return 'list';
  }

  async listTree(root: string, skip: (path: string) => boolean = () => false): Promise<ListingResult> {
    const before = this.c.dataConnections();
    const tree: RemoteTree = new Map();
    const queue: string[] = [''];
    // Bounded: a hostile server could list directories forever.
    for (let visited = 0; queue.length > 0; visited++) {
      if (visited > 1_000_000) throw new FtpsyncError('E_FTP', `${this.c.server}: ${root}: more than a million directories; refusing to go on`);
      const rel = queue.shift()!;
      const dir = rel === '' ? root : `${root === '/' ? '' : root}/${rel}`;
      for (const e of await this.list(dir)) {
        const path = rel === '' ? e.name : `${rel}/${e.name}`;
        if (skip(path)) continue;
        tree.set(path, e);
        if (e.type === 'dir') queue.push(path);
      }
    }
    const strategy = this.c.shared.listing ?? 'list';
    return { tree, strategy, dataConnections: this.c.dataConnections() - before };
  }

  /** List one directory with the given strategy, no fallback (probe); null when the server refuses it. */
  async listWith(dir: string, strategy: ListingStrategyName): Promise<RemoteEntry[] | null> {
    try {
      if (strategy === 'stat') return await this.statList(dir);
      return await this.listWithData(dir, strategy === 'mlsd' ? 'MLSD' : 'LIST -a');
    } catch (e) {
      if (e instanceof FTPError) return null;
      throw toFtpsyncError(e, { server: this.c.server, op: 'list', remotePath: dir });
    }
  }
}
