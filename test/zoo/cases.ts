/**
 * The server zoo: each row is a server kind (a quirk profile of the project's own test server,
 * src/demo/quirks.ts) or a fault, a direction, the manifest settings that differ from the
 * defaults, and what ftpsync must do. test/zoo/zoo.test.ts runs every row against the test server;
 * docs/servers.md is rendered from the same rows (test/zoo/render.ts), so the two cannot drift.
 */
import type { QuirkOptions } from '../../src/demo/quirks.js';

export type Outcome =
  /** plan and apply exit 0, the trees end byte-equal; `says`: what plan or apply output must mention. */
  | { kind: 'completes'; says?: RegExp[] }
  /**
   * The command fails with exit 1 and `message`. `at`: plan (nothing starts) or apply (what landed
   * stays; after the fault clears, apply again sends only what had not landed).
   */
  | { kind: 'fails'; at: 'plan' | 'apply'; message: RegExp; afterFix?: RegExp };

export interface ZooCase {
  id: string;
  /** Column 1 of docs/servers.md. */
  server: string;
  /** What the server does (column 2), with its reply where it has one (column 3). */
  behaviour: string;
  reply: string;
  /** What ftpsync does about it (column 4). */
  does: string;
  quirks: QuirkOptions;
  direction: 'upload' | 'download';
  /** Server settings in the manifest beyond the zoo's defaults (YAML flow-map entries). */
  settings?: Record<string, string | number>;
  compare?: 'size-mtime' | 'size' | 'checksum';
  wrongPassword?: boolean;
  outcome: Outcome;
}

export const ZOO: ZooCase[] = [
  {
    id: 'iis-upload',
    server: 'Windows IIS FTP (profile iis)',
    behaviour: 'EPSV refused; `STAT <path>` answers with the server status, not a listing; RNTO onto an existing file refused',
    reply: "`500 'EPSV': command not understood` · `211-Microsoft FTP Service status:` · `550 Cannot create a file when that file already exists.`",
    does: 'PASV after the first refused EPSV; listing: auto moves on to MLSD; an existing file is replaced by moving it aside, renaming the new one in and deleting the old one (warned once)',
    quirks: { profile: 'iis' },
    direction: 'upload',
    outcome: {
      kind: 'completes',
      says: [/listing: mlsd/, /refuses to rename onto an existing file \(550 Cannot create a file when that file already exists\.\)/],
    },
  },
  {
    id: 'iis-download-dos-list',
    server: 'Windows IIS FTP (profile iis)',
    behaviour: 'LIST in DOS format (`12-01-26  10:15AM       <DIR>          name`)',
    reply: '`12-01-26  10:15AM                 1234 name`',
    does: 'parses DOS lines (size, minute-precision time); with listing: list a download completes and a second apply downloads nothing',
    quirks: { profile: 'iis' },
    direction: 'download',
    settings: { listing: 'list' },
    outcome: { kind: 'completes', says: [/listing: list/] },
  },
  {
    id: 'iis-forced-stat',
    server: 'Windows IIS FTP (profile iis)',
    behaviour: 'listing: stat set in the manifest, STAT answers with a status text',
    reply: '`211-Microsoft FTP Service status:`',
    does: 'plan stops with exit 1 naming the server, the directory, the strategy and the reply, and says to set listing: auto',
    quirks: { profile: 'iis' },
    direction: 'upload',
    settings: { listing: 'stat' },
    outcome: {
      kind: 'fails',
      at: 'plan',
      message: /zoo \/www: listing: stat is set, but the server did not answer STAT \. with a listing: 211.*Set listing: auto/s,
    },
  },
  {
    id: 'filezilla-upload',
    server: 'FileZilla Server (profile filezilla)',
    behaviour: 'RNTO onto an existing file refused',
    reply: '`553 file exists`',
    does: 'the old file is moved aside, the new one renamed in, the old one deleted; if the second rename fails the old file is renamed back',
    quirks: { profile: 'filezilla' },
    direction: 'upload',
    outcome: { kind: 'completes', says: [/refuses to rename onto an existing file \(553 file exists\)/] },
  },
  {
    id: 'filezilla-download',
    server: 'FileZilla Server (profile filezilla)',
    behaviour: 'MLSD listings, EPSV',
    reply: '',
    does: 'downloads by MLSD after STAT; nothing special needed',
    quirks: { profile: 'filezilla' },
    direction: 'download',
    outcome: { kind: 'completes' },
  },
  {
    id: 'no-mfmt-upload',
    server: 'no MFMT, no MDTM-set (profile no-mfmt)',
    behaviour: 'FEAT lists no MFMT; MFMT and `MDTM <time> <path>` refused',
    reply: '`500 Unknown command` · `550 <path>: No such file or directory`',
    does: 'the plan says size-mtime compares against the upload time here; apply warns once that times cannot be set and goes on (a second apply uploads nothing)',
    quirks: { profile: 'no-mfmt' },
    direction: 'upload',
    compare: 'size-mtime',
    outcome: { kind: 'completes', says: [/offers no MFMT/, /cannot set modification times/] },
  },
  {
    id: 'stat-broken-upload',
    server: 'STAT refused (profile stat-broken)',
    behaviour: 'STAT answers 500',
    reply: '`500 Unknown command`',
    does: 'listing: auto uses MLSD (one data connection per directory); the plan reports listing: mlsd',
    quirks: { profile: 'stat-broken' },
    direction: 'upload',
    outcome: { kind: 'completes', says: [/listing: mlsd/] },
  },
  {
    id: 'stat-broken-forced',
    server: 'STAT refused (profile stat-broken)',
    behaviour: 'listing: stat set in the manifest, STAT answers 500',
    reply: '`500 Unknown command`',
    does: 'plan stops at once with exit 1 (no endless retry) naming the strategy and the reply, and says to set listing: auto',
    quirks: { profile: 'stat-broken' },
    direction: 'download',
    settings: { listing: 'stat' },
    outcome: {
      kind: 'fails',
      at: 'plan',
      message: /listing: stat is set, but the server did not answer STAT \. with a listing: 500 Unknown command.*Set listing: auto/s,
    },
  },
  {
    id: 'wrong-password',
    server: 'any (fault)',
    behaviour: 'wrong password',
    reply: '`530 Login incorrect`',
    does: 'fails once, at the first login, exit 1, no retry (each retry would be a counted connection and a failed login the firewall counts)',
    quirks: {},
    direction: 'upload',
    wrongPassword: true,
    outcome: { kind: 'fails', at: 'plan', message: /zoo: login failed: 530 Login incorrect.*Check the user and the password/s },
  },
  {
    id: 'session-cap',
    server: 'any (fault)',
    behaviour: 'a login beyond 1 session from the IP refused',
    reply: '`421 There are too many connections from your internet address.`',
    does: 'goes on with fewer sessions and says so; the run completes',
    quirks: { faults: { maxLoggedIn: 1 } },
    direction: 'upload',
    settings: { parallel: 3 },
    outcome: { kind: 'completes', says: [/capped sessions/] },
  },
  {
    id: 'denied-dir-upload',
    server: 'any (fault)',
    behaviour: 'one directory not writable',
    reply: '`550 Permission denied.`',
    does: 'the files there fail (exit 1) naming the server, the file and the reply, with what to check; the rest lands; after the fix apply sends only those',
    quirks: { faults: { deniedDir: '/www/dir0' } },
    direction: 'upload',
    outcome: { kind: 'fails', at: 'apply', message: /zoo \/www\/dir0\/\S+: upload failed: 550 Permission denied\..*permissions/s },
  },
  {
    id: 'denied-dir-download',
    server: 'any (fault)',
    behaviour: 'one directory not readable',
    reply: '`550 Permission denied.`',
    does: 'the files there fail (exit 1) naming the file and the reply; no partial local file; after the fix apply fetches only those',
    quirks: { faults: { deniedDir: '/www/dir0' } },
    direction: 'download',
    outcome: { kind: 'fails', at: 'apply', message: /zoo \/www\/dir0\/\S+: download failed: 550 Permission denied\./ },
  },
  {
    id: 'quota-upload',
    server: 'any (fault)',
    behaviour: 'disk quota full in the middle of an upload',
    reply: '`552 Transfer aborted. Disk quota exceeded.`',
    does: 'exit 1 naming the file and the reply, with what to do; the partial upload is a temporary name, removed; after the fix apply sends only what had not landed',
    quirks: { faults: { quotaBytes: 60_000 } },
    direction: 'upload',
    outcome: {
      kind: 'fails',
      at: 'apply',
      message: /upload failed: 552 Transfer aborted\. Disk quota exceeded\..*quota/s,
      afterFix: /judged by the state ftpsync kept for them/,
    },
  },
  {
    id: 'restart-upload',
    server: 'any (fault)',
    behaviour: 'server restart in the middle of a run (every connection dropped during a STOR)',
    reply: '(connection reset)',
    does: 'reconnects and retries; the partial temporary file is removed by the next session; the run completes',
    quirks: { faults: { restartAtTransfer: 40 } },
    direction: 'upload',
    outcome: { kind: 'completes' },
  },
  {
    id: 'restart-download',
    server: 'any (fault)',
    behaviour: 'server restart in the middle of a run (every connection dropped during a RETR)',
    reply: '(connection reset)',
    does: 'reconnects and retries; a partial download stays a local temporary file, removed; the run completes',
    quirks: { faults: { restartAtTransfer: 40 } },
    direction: 'download',
    outcome: { kind: 'completes' },
  },
  {
    id: 'stall-download',
    server: 'any (fault)',
    behaviour: 'a data connection that stalls after the 150 reply (no byte, no reply)',
    reply: '(silence)',
    does: 'the transfer times out after timeouts.data; silence is what a firewall block looks like too, so ftpsync makes sure with one listing: the server still answers, so it is no block (a firewall drops every packet from a blocked IP), nothing is learned, the download is retried (up to 3 tries, then that file fails with a hint to raise timeouts.data); the partial download stays a local temporary file, removed; the run completes',
    quirks: { faults: { stallAtTransfer: 30 } },
    direction: 'download',
    outcome: { kind: 'completes', says: [/Timeout \(data socket\): the server still answers, so this is no firewall block/] },
  },
  {
    id: 'stall-upload',
    server: 'any (fault)',
    behaviour: 'a data connection that stalls once during a STOR (nothing read, no reply)',
    reply: '(silence)',
    does: "the reply to STOR never comes (the control connection falls silent, as under a block); one listing over another session shows the server still answers, so it is no block: nothing is learned, the upload is retried; the stalled temporary upload never takes the file's place; the run completes",
    quirks: { faults: { stallAtTransfer: 30 } },
    direction: 'upload',
    outcome: { kind: 'completes', says: [/Timeout \(control socket\): the server still answers, so this is no firewall block/] },
  },
];
