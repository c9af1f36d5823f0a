/**
 * The switch of two-phase uploads, and the release it leaves for rollback (plan/release.ts says
 * what a release holds). One Release per sync and run: opened on first use (or an unfinished one
 * taken up again: its deploy was interrupted), it moves each replaced or deleted file aside into
 * the release before the staged file is renamed in, so no rename ever lands on an existing file,
 * and records what the deploy added. finish() marks the release complete and prunes the old ones.
 * Everything here is renames, DELE, MKD and RMD: control-connection commands, no data connection.
 */
import { randomBytes } from 'node:crypto';
import { RELEASES_DIR } from '../core/names.js';
import type { PlannedAction } from '../core/actions.js';
import { FtpsyncError } from '../errors.js';
import type { SyncConfig } from '../manifest/types.js';
import {
  ADDED_DIR,
  addedMarker,
  deployId,
  outermostFirst,
  parentDirs,
  PARTIAL_SUFFIX,
  releasesIn,
  releasesToPrune,
  type AddedKind,
  parseAddedMarker,
  type ReleaseName,
} from '../plan/release.js';
import { deleteIfPresent, dirThere, makeDir, refused, removeDir, renameExact, sourceMissing } from '../remote/control-ops.js';
import { pipelined } from '../remote/pipeline.js';
import { remoteJoin } from '../remote/safe-names.js';
import type { RemoteSession } from '../remote/types.js';
import type { WithSession } from './state-checkpoints.js';

/** Where a sync's releases go: its releasesDir, else .ftpsync-releases in its remote root. */
export function releasesPath(sync: Pick<SyncConfig, 'remotePath' | 'releasesDir'>): string {
  return sync.releasesDir ?? remoteJoin(sync.remotePath, RELEASES_DIR);
}

/** The releases directory's entries (an absent directory: none). */
export async function listReleases(s: RemoteSession, releasesDir: string): Promise<ReleaseName[]> {
  const entries = await s.list(releasesDir).catch((e: unknown) => {
    if (e instanceof FtpsyncError && e.details.ftpCode === 550) return [];
    throw e;
  });
  return releasesIn(entries.filter((e) => e.type === 'dir').map((e) => e.name));
}

/** Remove a directory and everything in it (a listing, then DELE and RMD deepest first). */
export async function removeTree(s: RemoteSession, dir: string): Promise<void> {
  const { tree } = await s.listTree(dir);
  const entries = [...tree].sort(([a], [b]) => b.split('/').length - a.split('/').length);
  for (const [p, e] of entries) {
    const path = remoteJoin(dir, p);
    if (e.type === 'dir') await removeDir(s, path);
    else await deleteIfPresent(s, path);
  }
  await removeDir(s, dir);
}

export class Release {
  private opening: Promise<string> | null = null;
  /** The open release's directory name (with its ".partial" suffix until finish()). */
  private name: string | null = null;
  /** Paths already in the release (taken up again): their first version is the one to keep. */
  private readonly held = new Set<string>();
  /**
   * Files the interrupted deploy added (their markers, taken up again): a live one is that deploy's
   * own, so it is deleted, never moved aside (rollback would put it back as a previous version).
   */
  private readonly addedBefore = new Set<string>();
  /**
   * The release's directories known to exist. A session makes every other one it needs itself,
   * parents first, in order on its own connection: another session's MKD of the same parent may
   * still be on its way, and a child made before its parent fails (the move aside into it too).
   */
  private readonly madeDirs = new Set<string>();
  /** When the first rename onto a live name was sent and the last one answered (performance.now()): the mixed window. */
  readonly renames = { first: Infinity, last: -Infinity };

  constructor(
    private readonly sync: SyncConfig,
    private readonly withSession: WithSession,
    private readonly note: (text: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private get root(): string {
    return this.sync.remotePath;
  }

  private live(path: string): string {
    return remoteJoin(this.root, path);
  }

  private inRelease(path: string): string {
    return remoteJoin(releasesPath(this.sync), `${this.name!}${path ? `/${path}` : ''}`);
  }

  /** The release this run writes to: an unfinished one goes on (an interrupted deploy), else a new one. */
  private open(s: RemoteSession): Promise<string> {
    this.opening ??= (async () => {
      const partial = (await listReleases(s, releasesPath(this.sync))).find((r) => r.partial);
      if (partial) {
        this.name = partial.name;
        const { tree } = await s.listTree(this.inRelease(''));
        for (const [p, e] of tree) {
          const marker = p.startsWith(`${ADDED_DIR}/`) ? parseAddedMarker(p.slice(ADDED_DIR.length + 1)) : null;
          if (marker?.kind === 'f') this.addedBefore.add(marker.path);
          else if (e.type === 'file') this.held.add(p);
        }
        this.note(`going on with the unfinished release ${partial.id} (${this.held.size} file(s) already moved aside)`);
      } else {
        this.name = `${deployId(this.now(), randomBytes(2).toString('hex'))}${PARTIAL_SUFFIX}`;
        await makeDir(s, releasesPath(this.sync));
        await makeDir(s, this.inRelease(''));
      }
      await makeDir(s, this.inRelease(ADDED_DIR));
      return this.name;
    })().catch((e: unknown) => {
      this.opening = null; // the next file tries again
      throw e;
    });
    return this.opening;
  }

  /** The release's id once opened (null: this run changed nothing that needed one). */
  get id(): string | null {
    return this.name ? this.name.replace(PARTIAL_SUFFIX, '') : null;
  }

  private async dirsFor(s: RemoteSession, path: string): Promise<void> {
    for (const d of parentDirs(path)) {
      if (this.madeDirs.has(d)) continue;
      await makeDir(s, this.inRelease(d));
      this.madeDirs.add(d);
    }
  }

  /** Record a path the deploy adds (rollback removes it). */
  async markAdded(s: RemoteSession, kind: AddedKind, path: string): Promise<void> {
    await this.open(s);
    const marker = addedMarker(kind, path);
    if (marker) await makeDir(s, this.inRelease(`${ADDED_DIR}/${marker}`));
    else this.note(`warning: ${path}: name too long to record in the release; rollback will leave it in place`);
  }

  /**
   * Move a live file aside into the release (false: there was none). A file the release already
   * holds keeps that first version there: the live one came from the interrupted deploy itself.
   */
  async moveAside(s: RemoteSession, path: string): Promise<boolean> {
    await this.open(s);
    if (this.held.has(path) || this.addedBefore.has(path)) return deleteIfPresent(s, this.live(path));
    await this.dirsFor(s, path);
    try {
      await renameExact(s, this.live(path), this.inRelease(path));
    } catch (e) {
      if (sourceMissing(e)) return false;
      throw e;
    }
    this.held.add(path);
    return true;
  }

  /**
   * Rename a staged file into place, one command at a time (a file retried after its batch's
   * session failed): the live file it replaces is moved aside first. If the staged file is gone,
   * the old one is put back: the live site never loses a file to a failed switch.
   */
  async switchFile(s: RemoteSession, a: Pick<PlannedAction, 'path' | 'staged' | 'size'>): Promise<void> {
    const staged = this.live(a.staged!);
    // After a batch whose session failed: a file its batch switched already is left alone.
    if ((await s.command(`SIZE ${staged}`)).code === 550) {
      const live = await s.command(`SIZE ${this.live(a.path)}`);
      if (live.code === 213 && Number(/(\d+)\s*$/.exec(live.message)?.[1]) === a.size) return;
    }
    await this.open(s);
    this.renames.first = Math.min(this.renames.first, performance.now());
    const replaced = await this.moveAside(s, a.path);
    if (!replaced) await this.markAdded(s, 'f', a.path);
    try {
      await renameExact(s, staged, this.live(a.path));
      this.renames.last = Math.max(this.renames.last, performance.now());
    } catch (e) {
      if (replaced && !this.addedBefore.has(a.path)) await renameExact(s, this.inRelease(a.path), this.live(a.path)).then(() => this.held.delete(a.path));
      if (sourceMissing(e))
        throw new FtpsyncError(
          'E_FTP',
          `${s.server} ${staged}: the staged file is gone (deleted on the server before the switch); ${this.live(a.path)} was left as it was`,
          'Run apply again: it stages that file again.',
          { server: s.server, remotePath: staged, ftpCode: 550 },
        );
      throw e;
    }
  }

  /**
   * Switch a batch of files over one session with the commands pipelined: first the release's
   * directories and the markers of new files (MKD), then per file its move aside (a replaced
   * one) and its move in, all sent at once, each reply checked after. One entry per file: null,
   * or why it was not switched (its live file then is as it was). A file found missing that the
   * plan thought was there is recorded as added afterwards.
   */
  async switchBatch(s: RemoteSession, batch: Array<Pick<PlannedAction, 'path' | 'staged' | 'reason'>>): Promise<Array<Error | null>> {
    await this.open(s);
    const markers: string[] = [];
    const dirs = new Set<string>();
    for (const a of batch) {
      if (a.reason === 'new') {
        const marker = addedMarker('f', a.path);
        if (marker) markers.push(this.inRelease(`${ADDED_DIR}/${marker}`));
        continue;
      }
      if (this.held.has(a.path) || this.addedBefore.has(a.path)) continue;
      for (const d of parentDirs(a.path)) if (!this.madeDirs.has(d)) dirs.add(d);
    }
    // Outermost first, on this session (the server takes its commands in order); 550: there already.
    const ordered = [...dirs].sort(outermostFirst);
    await makeDirsPipelined(s, [...ordered.map((d) => this.inRelease(d)), ...markers]);
    for (const d of ordered) this.madeDirs.add(d);
    // Per file: [aside...] then RNFR staged, RNTO live.
    const lines: string[] = [];
    const plan = batch.map((a) => {
      const first = lines.length;
      const aside = a.reason === 'new' ? 'none' : this.held.has(a.path) || this.addedBefore.has(a.path) ? 'delete' : 'rename';
      if (aside === 'delete') lines.push(`DELE ${this.live(a.path)}`);
      if (aside === 'rename') lines.push(`RNFR ${this.live(a.path)}`, `RNTO ${this.inRelease(a.path)}`);
      lines.push(`RNFR ${this.live(a.staged!)}`, `RNTO ${this.live(a.path)}`);
      return { a, first, aside };
    });
    this.renames.first = Math.min(this.renames.first, performance.now());
    const replies = await pipelined(s, lines);
    this.renames.last = Math.max(this.renames.last, performance.now());
    const out: Array<Error | null> = [];
    for (const { a, first, aside } of plan) {
      let i = first;
      let movedAside = false;
      let wasThere = aside !== 'none';
      if (aside === 'delete') wasThere = replies[i++]!.code < 300;
      if (aside === 'rename') {
        const [rnfr, rnto] = [replies[i++]!, replies[i++]!];
        movedAside = rnfr.code === 350 && rnto.code < 300;
        wasThere = rnfr.code !== 550;
        if (movedAside) this.held.add(a.path);
        else if (wasThere) this.note(`warning: ${a.path}: could not move the old file aside (${rnto.code} ${rnto.message}); rollback cannot restore it`);
      }
      const [rnfr, rnto] = [replies[i++]!, replies[i++]!];
      if (rnfr.code === 350 && rnto.code < 300) {
        if (aside !== 'none' && !wasThere) await this.markAdded(s, 'f', a.path);
        out.push(null);
        continue;
      }
      // Not switched: the old file goes back where it was.
      if (movedAside) await renameExact(s, this.inRelease(a.path), this.live(a.path)).then(() => this.held.delete(a.path));
      out.push(
        rnfr.code === 550
          ? new FtpsyncError(
              'E_FTP',
              `${s.server} ${this.live(a.staged!)}: the staged file is gone (deleted on the server before the switch); ${this.live(a.path)} was left as it was`,
              'Run apply again: it stages that file again.',
              { server: s.server, remotePath: this.live(a.staged!), ftpCode: 550 },
            )
          : refused(s, `rename into place (${rnfr.code === 350 ? 'RNTO' : 'RNFR'})`, this.live(a.path), rnfr.code === 350 ? rnto : rnfr),
      );
    }
    return out;
  }

  /** The state file is switched like a file: the previous one goes into the release, with it. */
  async beforeStateWrite(s: RemoteSession, statePath: string): Promise<void> {
    if (!(await this.moveAside(s, statePath))) await this.markAdded(s, 'f', statePath);
  }

  /**
   * The switch ended: the release is complete (renamed without ".partial"), and releases beyond
   * keepReleases are removed (keepReleases 0: this one too). A release left unfinished by an
   * earlier run that this one had nothing to add to is completed as well.
   */
  async finish(): Promise<void> {
    await this.withSession(async (s) => {
      if (!this.name) {
        const partial = (await listReleases(s, releasesPath(this.sync))).find((r) => r.partial);
        if (!partial) return;
        this.name = partial.name;
      }
      if (this.name.endsWith(PARTIAL_SUFFIX)) {
        const done = this.name.slice(0, -PARTIAL_SUFFIX.length);
        await renameExact(s, this.inRelease(''), remoteJoin(releasesPath(this.sync), done));
        this.name = done;
      }
      // Never the release this run made, unless none is kept (its id and an older one's may tie).
      const prune = releasesToPrune(await listReleases(s, releasesPath(this.sync)), this.sync.keepReleases).filter(
        (r) => this.sync.keepReleases === 0 || r.name !== this.name,
      );
      for (const r of prune) await removeTree(s, remoteJoin(releasesPath(this.sync), r.name));
      // The default directory goes with its last release; a releasesDir is the user's.
      if (this.sync.keepReleases === 0 && !this.sync.releasesDir) await removeDir(s, releasesPath(this.sync));
    });
  }
}

/**
 * What apply reports of the switch: the files renamed into place, the mixed window (from the first
 * rename onto a live name to the last answered, over every sync's release), and the releases kept.
 */
export function switchedSummary(
  releases: ReadonlyMap<string, Release>,
  syncs: ReadonlyMap<string, Pick<SyncConfig, 'keepReleases'>>,
  files: number,
): { files: number; windowMs: number; releases: string[] } {
  const all = [...releases.values()];
  const [first, last] = [Math.min(...all.map((r) => r.renames.first)), Math.max(...all.map((r) => r.renames.last))];
  return {
    files,
    windowMs: last >= first ? Math.round((last - first) * 10) / 10 : 0,
    releases: [...releases]
      .filter(([name]) => syncs.get(name)!.keepReleases > 0)
      .map(([, r]) => r.id)
      .filter((id): id is string => id !== null),
  };
}

/**
 * After the run: a switch that ended completes its release (and prunes old ones); one whose sync
 * failed stays unfinished, for the next apply to take up or rollback to undo.
 */
export async function finishReleases(releases: ReadonlyMap<string, Release>, failedSyncs: ReadonlySet<string>, note: (text: string) => void): Promise<void> {
  for (const [name, release] of releases) {
    if (failedSyncs.has(name)) continue;
    await release.finish().catch((e: unknown) => note(`${name}: could not complete the release: ${(e as Error).message}`));
  }
}

/** MKD of each path, pipelined in the order given (parents first); one there already (550/521) is fine. */
export async function makeDirsPipelined(s: RemoteSession, paths: string[]): Promise<void> {
  const made = await pipelined(
    s,
    paths.map((p) => `MKD ${p}`),
  );
  made.forEach((r, i) => {
    if (!dirThere(r.code)) throw refused(s, 'mkdir', paths[i]!, r);
  });
}
