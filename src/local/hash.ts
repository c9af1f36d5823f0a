import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { crc32 } from 'node:zlib';

/** The digests a server's hash command may answer with (remote/file-hash.ts), all computed locally here. */
export type HashAlgorithm = 'sha256' | 'sha512' | 'sha1' | 'md5' | 'crc32';

/** A local file's digest, lower-case hex (crc32: 8 hex digits). */
export async function fileDigest(path: string, algorithm: HashAlgorithm): Promise<string> {
  if (algorithm === 'crc32') {
    let c = 0;
    for await (const chunk of createReadStream(path)) c = crc32(chunk as Buffer, c);
    return c.toString(16).padStart(8, '0');
  }
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** sha256 of a local file's bytes, hex: the checksum compare's and the state file's content hash. */
export function sha256File(path: string): Promise<string> {
  return fileDigest(path, 'sha256');
}
