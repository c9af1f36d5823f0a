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
import { isStatListing, parseListingText, rawControlCommand } from './listing.js';
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

/** What a listing command answered when it was not a listing: for the error and the warning. */
interface Refusal {
  command: string;
  reply: string;
}

/** A data-connection listing refused as a command (500-504): the strategy does not exist here. */
function refusedCommand(e: unknown): e is FTPError {
  return e instanceof FTPError && e.code >= 500 && e.code <= 504;
}

export class DirectoryLister {
  constructor(private readonly c: ListingContext) {}

  /** STAT over the control connection: zero data connections. A Refusal when the server won't list that way. `entered`: the session is in dir already. */
  private async statList(dir: string, entered = false): Promise<RemoteEntry[] | Refusal> {
    const { client, config, shared } = this.c;
    if (!entered) await client.cd(dir);
    const stat = async (command: string) => {
      this.c.trace?.(`> ${command}`);
      const reply = await rawControlCommand(client.ftp.socket, command, config.timeouts.dataMs);
      this.c.trace?.(`< ${reply.code} (${reply.body.length} listing lines)`);
      const refusal = { command, reply: reply.text.replace(/\s+/g, ' ').trim().slice(0, 200) };
      // A status text in place of a listing (IIS answers STAT <path> with the server's status).
      if (reply.code < 211 || reply.code > 213 || !isStatListing(reply.body)) return refusal;
      return parseListingText(reply.body.join('\n'));
    };
    if (shared.statCommand) {
      const parsed = await stat(shared.statCommand);
      return 'entries' in parsed ? this.checked(parsed, dir) : parsed;
    }
    // Not settled: ask both ways. `-a` only if it lists every name the plain form does (a server
    // that took "-a" for a file name would list nothing), settled on a directory that has names.
    const plain = await stat('STAT .');
    if (!('entries' in plain)) return plain;
    const answer = await stat('STAT -a .');
    const all = 'entries' in answer ? answer : null;
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

  /**
   * List one directory. A forced strategy (listing: stat|mlsd|list) is used as is and fails with
   * an error naming the strategy and the reply; auto moves on to the next strategy when one stops
   * working (bounded: each strategy is given up at most once).
   */
  async list(dir: string): Promise<RemoteEntry[]> {
    const { server, config, shared } = this.c;
    try {
      for (let tries = 0; tries <= LISTING_ORDER.length; tries++) {
        const strategy = await this.pickListing(dir);
        // pickListing went into dir: one CWD per directory (a round trip each), not two.
        const result = await this.listOnce(dir, strategy, true);
        if (Array.isArray(result)) {
          shared.listing = strategy;
          return result;
        }
        if (config.listing !== 'auto') throw this.forcedFailed(strategy, dir, result);
        (shared.refused ??= new Set()).add(strategy);
        if (shared.listing === strategy) {
          delete shared.listing;
          shared.warnings.add(`${server}: ${result.command} stopped listing in ${dir} (${result.reply}); ftpsync lists the rest another way`);
        }
      }
      throw new FtpsyncError('E_FTP', `${server} ${dir}: no listing strategy works on this server`, 'Run `ftpsync probe` to see what the server answers.', {
        server,
        remotePath: dir,
      });
    } catch (e) {
      if (e instanceof FTPError && e.code === 550)
        // 550 is "no such directory" on most servers, "Access is denied" on some: say what it said.
        throw new FtpsyncError('E_FTP', `${server}: ${dir}: cannot list: ${e.message.replace(/\s+/g, ' ').trim()}`, undefined, {
          server,
          remotePath: dir,
          ftpCode: 550,
        });
      throw toFtpsyncError(e, { server, op: 'list', remotePath: dir });
    }
  }

  /** One directory with one strategy: the entries, or what the server answered instead of a listing. */
  private async listOnce(dir: string, strategy: ListingStrategyName, entered: boolean): Promise<RemoteEntry[] | Refusal> {
    if (strategy === 'stat') return this.statList(dir, entered);
    const command = strategy === 'mlsd' ? 'MLSD' : 'LIST -a';
    try {
      return await this.listWithData(dir, command, entered);
    } catch (e) {
      if (!refusedCommand(e)) throw e;
      return { command, reply: e.message.replace(/\s+/g, ' ').trim() };
    }
  }

  private forcedFailed(strategy: ListingStrategyName, dir: string, r: Refusal): FtpsyncError {
    const { server } = this.c;
    return new FtpsyncError(
      'E_FTP',
      `${server} ${dir}: listing: ${strategy} is set, but the server did not answer ${r.command} with a listing: ${r.reply}`,
      `Set listing: auto for server ${server} (ftpsync then picks a strategy that works here), or run \`ftpsync probe\` to see which ones do.`,
      { server, remotePath: dir },
    );
  }

  /** Run a listing command (MLSD, LIST -a) in dir over a data connection and parse its text ourselves. */
  private async listWithData(dir: string, command: string, entered = false): Promise<RemoteEntry[]> {
    if (!entered) await this.c.client.cd(dir);
    this.c.setPurpose(`${command} ${dir}`);
    const text = await listRawText(this.c.client, command);
    return this.checked(parseListingText(text), dir);
  }

  /** The strategy to try next: the forced one, the settled one, else the cheapest not yet refused. */
  private async pickListing(dir: string): Promise<ListingStrategyName> {
    const { client, config, shared } = this.c;
    // A missing directory is a 550 here, before any strategy is judged on it.
    await client.cd(dir);
    if (config.listing !== 'auto') return config.listing;
    if (shared.listing) return shared.listing;
    const facts = await this.c.facts();
    return facts.listing.find((s) => !shared.refused?.has(s)) ?? 'list';
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
    const strategy = this.c.shared.listing ?? (this.c.config.listing === 'auto' ? 'list' : this.c.config.listing);
    return { tree, strategy, dataConnections: this.c.dataConnections() - before };
  }

  /** List one directory with the given strategy, no fallback (probe); null when the server refuses it. */
  async listWith(dir: string, strategy: ListingStrategyName): Promise<RemoteEntry[] | null> {
    try {
      const result = strategy === 'stat' ? await this.statList(dir) : await this.listWithData(dir, strategy === 'mlsd' ? 'MLSD' : 'LIST -a');
      return Array.isArray(result) ? result : null;
    } catch (e) {
      if (e instanceof FTPError) return null;
      throw toFtpsyncError(e, { server: this.c.server, op: 'list', remotePath: dir });
    }
  }
}
