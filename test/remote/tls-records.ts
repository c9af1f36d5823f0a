/** TLS records in what a client wrote, for tests that count its handshakes. */

/** ClientHello records in `chunk` (whole records from its start; a HelloRetryRequest makes a client write a second one). */
export function clientHellosIn(chunk: Buffer): number {
  let n = 0;
  for (let i = 0; i + 5 < chunk.length; i += 5 + chunk.readUInt16BE(i + 3)) if (chunk[i] === 0x16 && chunk[i + 5] === 0x01) n++;
  return n;
}
