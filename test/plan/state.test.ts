import { describe, expect, it } from 'vitest';
import { judgeByContent, needsServerHash, readState, serializeState, type ContentFacts } from '../../src/plan/state.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('judgeByContent: a file on both sides, uploads compared by content', () => {
  const cases: Array<[string, ContentFacts, { changed: boolean; why: string }]> = [
    [
      'sizes differ: changed, no hash needed',
      { localSize: 5, remoteSize: 6, localSha256: A, entry: { size: 6, sha256: A }, serverHash: undefined },
      { changed: true, why: 'size' },
    ],
    [
      'state records this content: unchanged (mtime plays no part)',
      { localSize: 5, remoteSize: 5, localSha256: A, entry: { size: 5, sha256: A }, serverHash: undefined },
      { changed: false, why: 'state' },
    ],
    [
      'state records other content: changed',
      { localSize: 5, remoteSize: 5, localSha256: A, entry: { size: 5, sha256: B }, serverHash: undefined },
      { changed: true, why: 'content' },
    ],
    [
      'state records another size than the server has: drift, changed',
      { localSize: 5, remoteSize: 5, localSha256: A, entry: { size: 9, sha256: A }, serverHash: undefined },
      { changed: true, why: 'drift' },
    ],
    [
      'state entry but the local file was not hashed: changed',
      { localSize: 5, remoteSize: 5, localSha256: undefined, entry: { size: 5, sha256: A }, serverHash: undefined },
      { changed: true, why: 'content' },
    ],
    [
      'not in the state, server hash same: unchanged',
      { localSize: 5, remoteSize: 5, localSha256: A, entry: undefined, serverHash: 'same' },
      { changed: false, why: 'server-hash' },
    ],
    [
      'not in the state, server hash different: changed',
      { localSize: 5, remoteSize: 5, localSha256: A, entry: undefined, serverHash: 'different' },
      { changed: true, why: 'server-hash' },
    ],
    [
      'not in the state, no server hash: uploaded once',
      { localSize: 5, remoteSize: 5, localSha256: A, entry: undefined, serverHash: undefined },
      { changed: true, why: 'unverified' },
    ],
    [
      'the state wins over a server hash it does not need',
      { localSize: 5, remoteSize: 5, localSha256: A, entry: { size: 5, sha256: A }, serverHash: 'different' },
      { changed: false, why: 'state' },
    ],
  ];
  for (const [name, facts, want] of cases) it(name, () => expect(judgeByContent(facts)).toEqual(want));

  it('only same-size files unknown to the state need the server to hash them', () => {
    expect(needsServerHash(5, 5, undefined)).toBe(true);
    expect(needsServerHash(5, 6, undefined)).toBe(false);
    expect(needsServerHash(5, 5, { size: 5, sha256: A })).toBe(false);
  });
});

describe('readState', () => {
  const cases: Array<[string, Buffer | null, string]> = [
    ['no file', null, 'missing'],
    ['not JSON', Buffer.from('{"version":1,'), 'invalid:not JSON'],
    ['an array', Buffer.from('[]'), 'invalid:not a JSON object'],
    ['another version (a foreign or newer state)', Buffer.from('{"version":2,"files":{}}'), 'invalid:version 2'],
    ["another tool's state", Buffer.from('{"description":"git-ftp"}'), 'invalid:version missing'],
    ['no files', Buffer.from('{"version":1}'), 'invalid:no "files" object'],
    ['size not a number', Buffer.from(`{"version":1,"files":{"a":{"size":"1","sha256":"${A}"}}}`), 'invalid:bad entry for "a"'],
    ['hash not sha256 hex', Buffer.from('{"version":1,"files":{"a":{"size":1,"sha256":"xyz"}}}'), 'invalid:bad entry for "a"'],
    [
      'truncated mid-write (what a non-atomic write leaves)',
      serializeState({ version: 1, files: { a: { size: 1, sha256: A } } }).subarray(0, 30),
      'invalid:not JSON',
    ],
    ['empty state', Buffer.from('{"version":1,"files":{}}'), 'ok'],
  ];
  for (const [name, content, want] of cases) {
    it(name, () => {
      const r = readState(content);
      const got = r.status === 'invalid' ? `invalid:${r.reason}` : r.status;
      if (want.startsWith('invalid:')) expect(got.startsWith(want)).toBe(true);
      else expect(got).toBe(want);
    });
  }
  it('round-trips what apply writes', () => {
    const state = { version: 1 as const, files: { 'a/b.txt': { size: 3, sha256: A } } };
    expect(readState(serializeState(state))).toEqual({ status: 'ok', state });
  });
});
