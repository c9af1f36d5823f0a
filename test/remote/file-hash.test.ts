import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileDigest as localFileDigest } from '../../src/local/hash.js';
import { chooseHashCommand, parseHashReply } from '../../src/remote/file-hash.js';

const feat = (...names: Array<string | [string, string]>) => new Map(names.map((n) => (typeof n === 'string' ? [n, ''] : n)));

describe('chooseHashCommand (from FEAT)', () => {
  const cases: Array<[string, Map<string, string>, string | null]> = [
    // Measured in the lab (FEAT): vsftpd 3 and pure-ftpd list no hash command.
    ['vsftpd', feat('EPRT', 'EPSV', 'MDTM', 'PASV', 'SIZE', 'TVFS'), null],
    ['pure-ftpd', feat('UTF8', 'MLST', 'MLSD', 'MFMT', 'SIZE'), null],
    // proftpd 1.3.8 with mod_digest, as measured.
    ['proftpd + mod_digest', feat(['HASH', 'CRC32;MD5;SHA-1*;SHA-256;SHA-512;'], 'MD5', 'XCRC', 'XMD5', 'XSHA', 'XSHA1', 'XSHA256', 'XSHA512'), 'XSHA256'],
    ['HASH only: SHA-256 chosen with OPTS', feat(['HASH', 'SHA-1*;SHA-256;MD5']), 'HASH SHA-256'],
    ['HASH with SHA-1 only', feat(['HASH', 'SHA-1*']), 'HASH SHA-1'],
    ['XMD5 over HASH CRC32', feat(['HASH', 'CRC32*'], 'XMD5'), 'XMD5'],
    ['XCRC alone', feat('XCRC'), 'XCRC'],
    ['lower-case names', feat('xsha1'), 'XSHA1'],
  ];
  for (const [name, f, want] of cases) it(name, () => expect(chooseHashCommand(f)?.label ?? null).toBe(want));
  it('HASH brings its OPTS', () =>
    expect(chooseHashCommand(feat(['HASH', 'SHA-256']))).toEqual({ label: 'HASH SHA-256', algorithm: 'sha256', verb: 'HASH', opts: 'OPTS HASH SHA-256' }));
});

describe('parseHashReply', () => {
  const x256 = chooseHashCommand(feat('XSHA256'))!;
  const hash256 = chooseHashCommand(feat(['HASH', 'SHA-256']))!;
  const xcrc = chooseHashCommand(feat('XCRC'))!;
  const H = '6BD5DD0D59DB93FEDD4FA9216A68AF218C53B703B872A2ECA8625A6D21E87BBE';
  it('proftpd XSHA256 (measured reply)', () => expect(parseHashReply(x256, 250, `250-Computing SHA256 digest\n250 ${H}`)).toBe(H.toLowerCase()));
  it('proftpd HASH (measured reply)', () =>
    expect(parseHashReply(hash256, 213, `213-Computing SHA-256 digest\n213 SHA-256 0-14 ${H.toLowerCase()} m25.txt`)).toBe(H.toLowerCase()));
  it('a refusal is no hash', () => expect(parseHashReply(x256, 550, '550 nonexist.txt: No such file or directory')).toBeNull());
  it('a digest of the wrong length is no hash', () => expect(parseHashReply(x256, 250, '250 ABCDEF')).toBeNull());
  it('a CRC without leading zeros', () => expect(parseHashReply(xcrc, 250, '250 E06B21')).toBe('00e06b21'));
});

describe('localFileDigest matches what proftpd (mod_digest) answered for the same 14 bytes', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'ftpsync-hash-')), 'm25.txt');
  writeFileSync(file, 'hello ftpsync\n');
  const measured: Array<[Parameters<typeof localFileDigest>[1], string]> = [
    ['sha256', '6BD5DD0D59DB93FEDD4FA9216A68AF218C53B703B872A2ECA8625A6D21E87BBE'],
    ['sha1', 'BAE72C8B1C36588754721A272CCC01A37083AF1E'],
    ['md5', '154DE130B933CABEF275ED3FE5B59BF8'],
    ['crc32', 'E9E06B21'],
  ];
  for (const [algorithm, hex] of measured) it(algorithm, async () => expect(await localFileDigest(file, algorithm)).toBe(hex.toLowerCase()));
});
