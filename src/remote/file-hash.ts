/**
 * The server's own file hash: which command a server offers, from its FEAT reply, and how to
 * read the digest from its reply (both pure); the local side is local/hash.ts's fileDigest. Used
 * where the checksum state cannot say whether a file of the same size is the same: hashing runs
 * on the control connection, so it costs no data connection against the firewall budget. Which
 * lab servers offer which command: docs/lab.md.
 */
import type { HashAlgorithm } from '../local/hash.js';
import type { ServerFileHash } from './types.js';

export interface HashCommand {
  /** What the plan names: "XSHA256", or "HASH SHA-256". */
  label: string;
  algorithm: HashAlgorithm;
  /** The command sent before the path. */
  verb: string;
  /** Sent once per session first (HASH picks its algorithm with OPTS). */
  opts?: string;
}

/** Strongest first; the X commands first (no per-session OPTS), sha256 first of all (the local hashes are sha256). */
const ORDER: Array<{ algorithm: HashAlgorithm; x: string[]; hashName: string }> = [
  { algorithm: 'sha256', x: ['XSHA256'], hashName: 'SHA-256' },
  { algorithm: 'sha512', x: ['XSHA512'], hashName: 'SHA-512' },
  { algorithm: 'sha1', x: ['XSHA1', 'XSHA'], hashName: 'SHA-1' },
  { algorithm: 'md5', x: ['XMD5'], hashName: 'MD5' },
  { algorithm: 'crc32', x: ['XCRC'], hashName: 'CRC32' },
];

const HEX_LENGTH: Record<HashAlgorithm, number> = { sha256: 64, sha512: 128, sha1: 40, md5: 32, crc32: 8 };

/** The hash command to use, from the server's FEAT lines (name → parameters); null: none offered. */
export function chooseHashCommand(features: Map<string, string>): HashCommand | null {
  const feat = new Map([...features].map(([k, v]) => [k.toUpperCase(), v]));
  // "HASH CRC32;MD5;SHA-1*;SHA-256;SHA-512;": the star marks the current algorithm.
  const hashAlgos = (feat.get('HASH') ?? '')
    .split(';')
    .map((s) => s.replace(/\*$/, '').trim().toUpperCase())
    .filter(Boolean);
  for (const o of ORDER) {
    const x = o.x.find((c) => feat.has(c));
    if (x) return { label: x, algorithm: o.algorithm, verb: x };
    if (feat.has('HASH') && hashAlgos.includes(o.hashName))
      return { label: `HASH ${o.hashName}`, algorithm: o.algorithm, verb: 'HASH', opts: `OPTS HASH ${o.hashName}` };
  }
  return null;
}

/**
 * The digest (lower-case hex) in a hash command's reply, or null when the reply is not one.
 * X commands: "250 <hex>" (proftpd: "250-Computing SHA256 digest\n250 <HEX>");
 * HASH: "213 SHA-256 0-14 <hex> <name>".
 */
export function parseHashReply(cmd: HashCommand, code: number, message: string): string | null {
  const last = message
    .trim()
    .split('\n')
    .pop()!
    .replace(/^\d{3}[ -]/, '')
    .trim();
  const want = HEX_LENGTH[cmd.algorithm];
  if (cmd.verb === 'HASH') {
    if (code !== 213) return null;
    const m = /^\S+\s+\d+-\d*\s+([0-9a-fA-F]+)\b/.exec(last);
    return m && m[1]!.length === want ? m[1]!.toLowerCase() : null;
  }
  if (code < 200 || code > 299) return null;
  const m = /^([0-9a-fA-F]+)\b/.exec(last);
  if (!m) return null;
  // Some servers print a CRC without its leading zeros.
  const hex = cmd.algorithm === 'crc32' && m[1]!.length < want ? m[1]!.padStart(want, '0') : m[1]!;
  return hex.length === want ? hex.toLowerCase() : null;
}

/** A session's use of the server's hash command: chosen from FEAT, HASH's algorithm set once per session with OPTS. */
export class ServerHasher {
  private optsSent = false;

  constructor(
    private readonly features: () => Promise<Map<string, string>>,
    private readonly send: (line: string) => Promise<{ code: number; message: string }>,
  ) {}

  async command(): Promise<HashCommand | null> {
    return chooseHashCommand(await this.features());
  }

  async hash(remotePath: string): Promise<ServerFileHash | null> {
    const cmd = await this.command();
    if (!cmd) return null;
    if (cmd.opts && !this.optsSent) {
      if ((await this.send(cmd.opts)).code >= 400) return null;
      this.optsSent = true;
    }
    const r = await this.send(`${cmd.verb} ${remotePath}`);
    const hex = parseHashReply(cmd, r.code, r.message);
    return hex ? { command: cmd, hex } : null;
  }
}
