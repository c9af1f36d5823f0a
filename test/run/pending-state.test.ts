/** A checksum state the server refused, kept locally: saved, read back, merged only where it can be trusted. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RemoteEntry, RemoteTree } from '../../src/core/tree.js';
import { serializeState, type StateRead } from '../../src/plan/state.js';
import { PendingStates, withPending } from '../../src/run/pending-state.js';

const H = (c: string) => c.repeat(64);
const file = (size: number): RemoteEntry => ({ name: 'x', type: 'file', size });
const ok = (files: Record<string, { size: number; sha256: string }>): StateRead => ({ status: 'ok', state: { version: 1, files } });

describe('withPending', () => {
  const remote: RemoteTree = new Map([
    ['a.txt', file(3)],
    ['b.txt', file(5)],
    ['c.txt', file(7)],
  ]);

  it('adds claims the server state lacks where the listing shows the claimed size', () => {
    const merged = withPending({ status: 'missing' }, ok({ 'a.txt': { size: 3, sha256: H('a') }, 'b.txt': { size: 4, sha256: H('b') } }), remote);
    expect(merged).toEqual({ state: ok({ 'a.txt': { size: 3, sha256: H('a') } }), added: 1 });
  });

  it('the server state wins where it agrees with the listing; a stale server entry is replaced', () => {
    const server = ok({ 'a.txt': { size: 3, sha256: H('1') }, 'c.txt': { size: 6, sha256: H('2') } });
    const pending = ok({ 'a.txt': { size: 3, sha256: H('a') }, 'c.txt': { size: 7, sha256: H('c') } });
    expect(withPending(server, pending, remote)).toEqual({
      state: ok({ 'a.txt': { size: 3, sha256: H('1') }, 'c.txt': { size: 7, sha256: H('c') } }),
      added: 1,
    });
  });

  it('leaves an unreadable server state alone (the plan says it is ignored), and a missing pending changes nothing', () => {
    const invalid: StateRead = { status: 'invalid', reason: 'not JSON' };
    expect(withPending(invalid, ok({ 'a.txt': { size: 3, sha256: H('a') } }), remote)).toEqual({ state: invalid, added: 0 });
    const server = ok({});
    expect(withPending(server, { status: 'missing' }, remote).state).toBe(server);
  });
});

describe('PendingStates', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('saves, reads back and clears one file per server and sync', () => {
    dir = mkdtempSync(join(tmpdir(), 'ftpsync-pending-'));
    const p = new PendingStates(join(dir, '.ftpsync'), 'web');
    expect(p.read('site')).toEqual({ status: 'missing' });
    p.save('site', serializeState({ version: 1, files: { 'a.txt': { size: 3, sha256: H('a') } } }));
    expect(p.read('site')).toEqual(ok({ 'a.txt': { size: 3, sha256: H('a') } }));
    expect(new PendingStates(join(dir, '.ftpsync'), 'other').read('site')).toEqual({ status: 'missing' });
    p.clear('site');
    expect(existsSync(join(dir, '.ftpsync', 'state-pending-web-site.json'))).toBe(false);
  });
});
