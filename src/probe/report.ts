/**
 * What probe found, turned into advice (pure): the manifest settings to paste, and the text and
 * JSON reports. Nothing here talks to a server.
 */
import { stringify } from 'yaml';
import type { ServerConfig } from '../manifest/types.js';
import type { ProbeFindings } from './probe.js';

export interface Recommendation {
  /** Keys for the server's block in ftpsync.yml. */
  settings: Record<string, unknown>;
  /** Why, one line per setting that differs from the manifest. */
  reasons: string[];
}

export function recommend(f: ProbeFindings, current: ServerConfig): Recommendation {
  const reasons: string[] = [];
  const settings: Record<string, unknown> = {};

  const result = (s: string) => f.listing.find((l) => l.strategy === s)?.result;
  const works = (s: string) => result(s) === 'works';
  const listing = works('stat') ? 'stat' : works('mlsd') ? 'mlsd' : 'list';
  settings.listing = listing;
  if (listing === 'stat') reasons.push('listing: stat — STAT over the control connection returned complete listings: 0 data connections per directory');
  else
    reasons.push(
      `listing: ${listing} — STAT ${result('stat') === 'refused' ? 'is refused here, or answers with a status text instead of a listing' : 'did not return complete listings here'}: one data connection per directory`,
    );
  if (f.epsv === 'no' && f.passiveMode === 'yes')
    reasons.push('EPSV is refused here (IIS does that): ftpsync switches to PASV by itself after the first refusal, nothing to set');
  if (f.atomicRename === 'no')
    reasons.push(
      'rename onto an existing file is refused here (IIS, FileZilla Server): ftpsync moves the old file aside, renames the new one in, then deletes the old one; nothing to set',
    );
  if (f.mfmt === 'no' && f.mdtmSet === 'no')
    reasons.push(
      'modification times cannot be set here (no MFMT, no MDTM-set): keep compare: auto (or checksum) for uploads; size-mtime would compare against upload times',
    );

  settings.mode = f.passiveMode === 'yes' ? 'passive' : f.activeMode === 'yes' ? 'active' : current.mode;
  if (settings.mode !== current.mode) reasons.push(`mode: ${String(settings.mode)} — ${current.mode} did not work from here`);

  if (current.tls === 'none' && f.explicitTls === 'yes') {
    settings.tls = 'explicit';
    reasons.push('tls: explicit — explicit FTPS works here, certificate verified; plain FTP sends your password in clear text');
  } else settings.tls = current.tls;

  if (f.resetClose.verdict === 'yes' && current.tls !== 'none') {
    settings.dataClose = 'auto';
    reasons.push(
      `dataClose: auto — ${f.resetClose.clean}/${f.resetClose.transfers} FTPS downloads closed with the TLS reset close completed cleanly: the server keeps no TIME_WAIT for FTPS data connections, and the plan counts none`,
    );
  } else if (f.resetClose.verdict === 'yes') {
    settings.dataClose = 'reset';
    reasons.push(
      `dataClose: reset — ${f.resetClose.clean}/${f.resetClose.transfers} downloads closed with a reset completed cleanly: the server keeps no TIME_WAIT for downloads and listings`,
    );
  } else {
    settings.dataClose = 'normal';
    if (f.resetClose.verdict === 'no') reasons.push(`dataClose: normal — the reset close was not clean here (${f.resetClose.clean}/${f.resetClose.transfers})`);
  }
  settings.firewall = {
    maxConnections: current.firewall.maxConnections,
    timeWait: `${Math.round(current.firewall.timeWaitMs / 1000)}s`,
    headroom: current.firewall.headroom,
    parallel: current.firewall.parallelAuto ? 'auto' : current.firewall.parallel,
    maxSessions: current.firewall.maxSessions,
  };
  return { settings, reasons };
}

/** The recommended block as YAML to paste under `servers:`. */
export function recommendationYaml(server: string, r: Recommendation): string {
  return stringify({ servers: { [server]: r.settings } }, { lineWidth: 0 });
}

const yn = (v: string) => (v === 'yes' ? 'works' : v === 'no' ? 'does not work' : 'not tried');

export function formatFindingsText(f: ProbeFindings, r: Recommendation): string {
  const lines = [`${f.server} (${f.host}:${f.port}, tls ${f.tls})`];
  const row = (k: string, v: string) => lines.push(`  ${k.padEnd(16)}${v}`);
  row('round trip', `${f.rttMs} ms (median of 5 NOOP)`);
  row('FEAT', f.features.length ? f.features.join(' · ') : '(none)');
  if (f.tlsInfo) {
    const resumed = f.tlsInfo.dataSessionResumed === null ? 'no TLS data connection made' : f.tlsInfo.dataSessionResumed ? 'yes' : 'no';
    row(
      'TLS',
      `${f.tlsInfo.protocol}; certificate ${f.tlsInfo.subject}; issuer ${f.tlsInfo.issuer}; expires ${f.tlsInfo.validTo}; data connections resume the session: ${resumed}`,
    );
  } else row('TLS', f.tls === 'none' ? 'not used (plain FTP)' : 'unknown');
  row('listing', f.listing.map((l) => `${l.strategy}: ${l.result} (${l.dataConnections} data conn.)`).join(' · '));
  row('passive mode', `${yn(f.passiveMode)} (EPSV ${f.epsv === 'no' ? 'refused: PASV' : yn(f.epsv)})`);
  row('active mode', yn(f.activeMode));
  if (f.tls === 'none') row('explicit FTPS', yn(f.explicitTls));
  row('atomic rename', f.atomicRename === 'yes' ? 'works (RNFR/RNTO over an existing file)' : yn(f.atomicRename));
  row('set mtime', `MFMT ${yn(f.mfmt)} · MDTM-set ${yn(f.mdtmSet)}`);
  row(
    'reset close',
    f.resetClose.verdict === 'not tried'
      ? `not tried${f.resetClose.note ? ` (${f.resetClose.note})` : ''}`
      : `${f.resetClose.verdict === 'yes' ? 'clean' : 'NOT clean'}: ${f.resetClose.clean}/${f.resetClose.transfers} downloads complete${f.resetClose.note ? ` (${f.resetClose.note})` : ''}`,
  );
  row('connections', `${f.connections.control} control + ${f.connections.data} data opened by this probe`);
  row('temp dir', `${f.tempDir || '(none)'} ${f.tempDirRemoved ? 'removed' : 'NOT removed'}`);
  for (const n of f.notes) row('note', n);
  lines.push('', '  recommended (paste into ftpsync.yml; the firewall numbers are yours to set, see README):');
  for (const reason of r.reasons) lines.push(`    # ${reason}`);
  lines.push(
    ...recommendationYaml(f.server, r)
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`),
  );
  return lines.join('\n');
}
