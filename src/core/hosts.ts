/** Whether a host name stays on this machine (plain FTP there sends no password over a network). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}
