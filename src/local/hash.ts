import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 of a local file's bytes, hex: the checksum compare's and the state file's content hash. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
