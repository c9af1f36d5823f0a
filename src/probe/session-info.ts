/** What `ftpsync probe` reports about a live session beyond what transfers need. */
import { TLSSocket } from 'node:tls';
import type { FtpSession } from '../remote/ftp-session.js';

export interface TlsInfo {
  protocol: string;
  subject: string;
  issuer: string;
  /** ISO date the certificate expires. */
  validTo: string;
  /** Whether the last TLS data connection resumed the control session (null: none opened yet). */
  dataSessionResumed: boolean | null;
}

/** TLS details of the session's control connection; null over plain FTP. */
export function tlsInfo(session: FtpSession): TlsInfo | null {
  const sock = session.controlSocket;
  if (!(sock instanceof TLSSocket)) return null;
  const cert = sock.getPeerCertificate();
  const name = (dn: Record<string, string | string[] | undefined> | undefined) =>
    dn
      ? Object.entries(dn)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
          .join(', ')
      : '';
  return {
    protocol: sock.getProtocol() ?? 'unknown',
    subject: name(cert.subject as unknown as Record<string, string>),
    issuer: name(cert.issuer as unknown as Record<string, string>),
    validTo: cert.valid_to ? new Date(cert.valid_to).toISOString() : '',
    dataSessionResumed: session.dataTlsResumed,
  };
}
