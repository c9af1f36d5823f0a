/**
 * `ftpsync probe`: ask one server what it supports, with few connections, through the same
 * adapter, ledger and gate as apply. It writes only inside a temporary directory it creates and
 * always removes. The findings feed recommend() in report.ts (pure).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BudgetGate } from '../budget/gate.js';
import { ConnectionLedger } from '../budget/ledger.js';
import { countedLimit } from '../core/firewall-limit.js';
import { formatFtpTime } from '../core/ftp-time.js';
import type { ListingStrategyName, Manifest, ServerConfig } from '../manifest/types.js';
import { FtpSession } from '../remote/ftp-session.js';
import { tlsInfo, type TlsInfo } from './session-info.js';

export type Verdict = 'yes' | 'no' | 'not tried';

export interface ListingFinding {
  /** stat-recursive (STAT -R, a whole tree in one reply) is reported only: ftpsync does not list that way. */
  strategy: ListingStrategyName | 'stat-recursive';
  /** works: answered with every test entry, sizes right; incomplete: answered but missed some; refused. */
  result: 'works' | 'incomplete' | 'refused';
  dataConnections: number;
}

export interface ProbeFindings {
  server: string;
  host: string;
  port: number;
  tls: ServerConfig['tls'];
  mode: ServerConfig['mode'];
  /** Median NOOP round trip, ms. */
  rttMs: number;
  features: string[];
  tlsInfo: TlsInfo | null;
  listing: ListingFinding[];
  activeMode: Verdict;
  /** With tls: none only: whether explicit FTPS (AUTH TLS, certificate verified) works. */
  explicitTls: Verdict;
  passiveMode: Verdict;
  /** EPSV answered with a port (no: refused, as IIS does; ftpsync then uses PASV by itself). */
  epsv: Verdict;
  atomicRename: Verdict;
  mfmt: Verdict;
  /** MDTM with a time argument sets the mtime (vsftpd's way). */
  mdtmSet: Verdict;
  /** Plain FTP only: downloads closed with a reset all completed with their 226 and right bytes. */
  resetClose: { verdict: Verdict; transfers: number; clean: number; note?: string };
  tempDir: string;
  tempDirRemoved: boolean;
  connections: { control: number; data: number };
  notes: string[];
}

const TEST_FILES: Array<[string, string]> = [
  ['a.txt', 'probe a\n'],
  ['b with space.txt', 'probe b, a little longer\n'],
  ['sub/c.txt', 'probe c\n'],
  // A listing that hides dot names (pure-ftpd without -D, unless asked with -a) misses .htaccess.
  ['.probe-dot.txt', 'probe dot\n'],
];
const RESET_TRANSFERS = 5;
const MTIME = Date.UTC(2020, 0, 2, 3, 4, 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Where the probe would like to write: below the first upload sync's remote dir for this server. */
function probeBase(manifest: Manifest, server: string): string | null {
  const sync = manifest.syncs.find((s) => s.servers.includes(server) && s.direction === 'upload') ?? manifest.syncs.find((s) => s.servers.includes(server));
  return sync ? sync.remotePath : null;
}

export async function probeServer(manifest: Manifest, config: ServerConfig, log: (line: string) => void = () => undefined): Promise<ProbeFindings> {
  // A generous gate: the probe opens about a dozen connections, far below any real limit, but
  // still goes through the ledger so it can say exactly how many it used.
  const ledger = new ConnectionLedger({ timeWaitMs: config.firewall.timeWaitMs });
  const gate = new BudgetGate(ledger, Math.max(2, countedLimit(config.firewall)));
  const deps = { ledger, gate };
  const local = mkdtempSync(join(tmpdir(), 'ftpsync-probe-'));
  const notes: string[] = [];
  const f: ProbeFindings = {
    server: config.name,
    host: config.host,
    port: config.port,
    tls: config.tls,
    mode: config.mode,
    rttMs: 0,
    features: [],
    tlsInfo: null,
    listing: [],
    activeMode: 'not tried',
    explicitTls: 'not tried',
    passiveMode: 'not tried',
    epsv: 'not tried',
    atomicRename: 'not tried',
    mfmt: 'not tried',
    mdtmSet: 'not tried',
    resetClose: { verdict: 'not tried', transfers: 0, clean: 0 },
    tempDir: '',
    tempDirRemoved: false,
    connections: { control: 0, data: 0 },
    notes,
  };
  const passive = await FtpSession.open({ ...config, mode: 'passive', dataClose: 'normal' }, deps);
  try {
    log('connected; round trip');
    const rtts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await passive.command('NOOP');
      rtts.push(performance.now() - t);
    }
    f.rttMs = Math.round(median(rtts) * 10) / 10;
    f.features = [...(await passive.features()).entries()].map(([k, v]) => (v ? `${k} ${v}` : k)).sort();

    const pwd = /"(.*)"/.exec((await passive.command('PWD')).message)?.[1]?.replaceAll('""', '"') ?? '/';
    // Never create the sync's remote dir (or its parents): only use it when it already exists.
    const syncRoot = probeBase(manifest, config.name);
    const base = syncRoot !== null && (await passive.command(`CWD ${syncRoot}`)).code < 300 ? syncRoot : pwd;
    f.tempDir = `${base === '/' ? '' : base}/.ftpsync-probe-${randomBytes(4).toString('hex')}`;
    log(`test files in ${f.tempDir}`);
    await passive.mkdir(`${f.tempDir}/sub`);
    for (const [rel, text] of TEST_FILES) {
      const file = join(local, rel.replaceAll('/', '_'));
      await writeFile(file, text);
      await passive.upload(file, `${f.tempDir}/${rel}`, { atomic: true });
    }
    f.passiveMode = 'yes';

    // Rename over an existing file: upload a.txt again, atomically, with other content.
    const replacement = 'probe a, replaced\n';
    const again = join(local, 'again');
    await writeFile(again, replacement);
    const renameWarningsBefore = passive.shared.warnings.size;
    await passive.upload(again, `${f.tempDir}/a.txt`, { atomic: true });
    const size = await passive.command(`SIZE ${f.tempDir}/a.txt`);
    f.atomicRename =
      size.code === 213 && Number(size.message.split(' ').pop()) === replacement.length && passive.shared.warnings.size === renameWarningsBefore ? 'yes' : 'no';
    if (f.atomicRename === 'no')
      notes.push('the server does not rename onto an existing file: ftpsync moves the old file aside, renames the new one in, then deletes the old one');

    const stamp = formatFtpTime(MTIME);
    f.mfmt = (await passive.command(`MFMT ${stamp} ${f.tempDir}/b with space.txt`)).code === 213 ? 'yes' : 'no';
    const mdtmSet = await passive.command(`MDTM ${stamp} ${f.tempDir}/sub/c.txt`);
    const readBack = await passive.command(`MDTM ${f.tempDir}/sub/c.txt`);
    f.mdtmSet = mdtmSet.code < 300 && readBack.message.includes(stamp) ? 'yes' : 'no';

    // Listing strategies, each on the same small tree: complete means every entry (a dot name
    // too), right sizes.
    const expected = new Map<string, number>([
      ['a.txt', replacement.length],
      ['b with space.txt', TEST_FILES[1]![1].length],
      ['.probe-dot.txt', TEST_FILES[3]![1].length],
    ]);
    for (const strategy of ['stat', 'mlsd', 'list'] as const) {
      const before = passive.dataConnections;
      const entries = await passive.lister.listWith(f.tempDir, strategy);
      const dataConnections = passive.dataConnections - before;
      if (entries === null) {
        f.listing.push({ strategy, result: 'refused', dataConnections });
        continue;
      }
      const files = new Map(entries.filter((e) => e.type === 'file').map((e) => [e.name, e.size]));
      const complete = [...expected].every(([n, s]) => files.get(n) === s) && entries.some((e) => e.name === 'sub' && e.type === 'dir');
      f.listing.push({ strategy, result: complete ? 'works' : 'incomplete', dataConnections });
    }
    // STAT -R would list a whole tree in one reply. Reported, not used: ftpsync lists one
    // directory per STAT, which already costs no data connection.
    const recursive = await passive.command(`STAT -R ${f.tempDir}`);
    const recursiveText = recursive.message;
    f.listing.push({
      strategy: 'stat-recursive',
      result:
        recursive.code < 211 || recursive.code > 213 ? 'refused' : recursiveText.includes('c.txt') && recursiveText.includes('a.txt') ? 'works' : 'incomplete',
      dataConnections: 0,
    });
    // Last on this session: a port the server opens for EPSV and nobody connects to is dropped with it.
    f.epsv = (await passive.command('EPSV')).code === 229 ? 'yes' : 'no';
    f.tlsInfo = tlsInfo(passive);
    if (f.tlsInfo && f.tlsInfo.dataSessionResumed === false)
      notes.push('TLS data connections did not resume the control session; servers that require reuse (vsftpd require_ssl_reuse) would refuse them');

    f.activeMode = await tryActive(config, deps, f.tempDir, notes);
    f.resetClose = await tryResetClose(config, deps, f.tempDir, local);
    if (config.tls === 'none') f.explicitTls = await tryExplicitTls(config, deps, notes);
  } finally {
    f.tempDirRemoved = await removeTree(passive, f.tempDir, notes);
    await passive.close();
    rmSync(local, { recursive: true, force: true });
    f.connections = ledger.totals();
  }
  return f;
}

async function tryActive(config: ServerConfig, deps: { ledger: ConnectionLedger; gate: BudgetGate }, dir: string, notes: string[]): Promise<Verdict> {
  // Short timeouts: when the server cannot connect back, the listing just times out.
  const cfg: ServerConfig = {
    ...config,
    mode: 'active',
    dataClose: 'normal',
    timeouts: { ...config.timeouts, dataMs: Math.min(config.timeouts.dataMs, 8_000) },
  };
  let s: FtpSession | null = null;
  try {
    s = await FtpSession.open(cfg, deps);
    const entries = await s.lister.listWith(dir, 'list');
    return entries && entries.some((e) => e.name === 'a.txt') ? 'yes' : 'no';
  } catch (e) {
    notes.push(`active mode: ${e instanceof Error ? e.message : String(e)}`);
    return 'no';
  } finally {
    await s?.close();
  }
}

async function tryExplicitTls(config: ServerConfig, deps: { ledger: ConnectionLedger; gate: BudgetGate }, notes: string[]): Promise<Verdict> {
  try {
    const s = await FtpSession.open({ ...config, tls: 'explicit' }, deps);
    await s.close();
    return 'yes';
  } catch (e) {
    notes.push(`explicit FTPS: ${e instanceof Error ? e.message : String(e)}`);
    return 'no';
  }
}

async function tryResetClose(
  config: ServerConfig,
  deps: { ledger: ConnectionLedger; gate: BudgetGate },
  dir: string,
  local: string,
): Promise<ProbeFindings['resetClose']> {
  let s: FtpSession | null = null;
  let clean = 0;
  try {
    s = await FtpSession.open({ ...config, mode: 'passive', dataClose: 'reset' }, deps);
    for (let i = 0; i < RESET_TRANSFERS; i++) {
      const target = join(local, `reset-${i}`);
      await s.download(`${dir}/sub/c.txt`, target);
      // Under TLS also: the server closed after our close_notify and took the reset (no switch to the normal close).
      if (readFileSync(target, 'utf8') === TEST_FILES[2]![1] && s.shared.tlsClose !== 'normal') clean++;
    }
    const note =
      config.tls === 'none'
        ? undefined
        : `TLS: each transfer got its 226 with every byte, after close_notify both ways and the server's FIN; the server's TIME_WAIT itself cannot be seen from the client (the lab saw none on vsftpd, pure-ftpd, proftpd)${[
            ...s.shared.warnings,
          ]
            .filter((w) => w.includes('TLS reset'))
            .map((w) => `; ${w}`)
            .join('')}`;
    return { verdict: clean === RESET_TRANSFERS ? 'yes' : 'no', transfers: RESET_TRANSFERS, clean, ...(note ? { note } : {}) };
  } catch (e) {
    return { verdict: 'no', transfers: RESET_TRANSFERS, clean, note: e instanceof Error ? e.message : String(e) };
  } finally {
    await s?.close();
  }
}

/** Remove the probe's directory: files first, then directories, deepest first. */
async function removeTree(s: FtpSession, dir: string, notes: string[]): Promise<boolean> {
  if (!dir || s.closed) return false;
  try {
    for (const rel of [...TEST_FILES.map(([r]) => r)]) await s.command(`DELE ${dir}/${rel}`);
    await s.command(`RMD ${dir}/sub`);
    const gone = await s.command(`RMD ${dir}`);
    if (gone.code >= 300) {
      notes.push(`could not remove ${dir}: ${gone.code} ${gone.message}`);
      return false;
    }
    return true;
  } catch (e) {
    notes.push(`could not remove ${dir}: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}
