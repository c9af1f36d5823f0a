import { describe, expect, it } from 'vitest';
import { compareFor, contentNotes, freshCheckoutNote, keepsState } from '../../src/plan/compare.js';

describe('compareFor: what auto means', () => {
  const cases: Array<[Parameters<typeof compareFor>[0], 'upload' | 'download', string, boolean]> = [
    ['auto', 'upload', 'checksum', true],
    ['auto', 'download', 'size-mtime', false],
    ['size-mtime', 'upload', 'size-mtime', false],
    ['checksum', 'upload', 'checksum', true],
    ['checksum', 'download', 'checksum', false],
    ['size', 'upload', 'size', false],
  ];
  for (const [asked, dir, used, state] of cases) {
    it(`${asked} for ${dir}s: ${used}${state ? ', with the state file' : ''}`, () => {
      expect(compareFor(asked, dir)).toBe(used);
      expect(keepsState(compareFor(asked, dir), dir)).toBe(state);
    });
  }
});

describe('contentNotes', () => {
  it('a state that is fine and nothing unverified: no note', () => {
    expect(
      contentNotes({
        where: 'w/s',
        state: { status: 'ok', state: { version: 1, files: {} } },
        tally: { state: 10, content: 2 },
        serverHashCommand: undefined,
        stateMissingOnServer: 0,
      }),
    ).toEqual([]);
  });
  it('files the server could hash but did not answer for are uploaded once, and the note does not claim it has no hash command', () => {
    const notes = contentNotes({
      where: 'w/s',
      state: { status: 'missing' },
      tally: { 'server-hash': 5, unverified: 2 },
      serverHashCommand: 'XSHA256',
      stateMissingOnServer: 0,
    });
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/5 file\(s\) of the same size compared by the server's XSHA256; 2 file\(s\) .* XSHA256 did not answer/);
    expect(notes[0]).not.toMatch(/offers no hash command/);
  });
  it('drift and files unknown to a good state: one note each', () => {
    const notes = contentNotes({
      where: 'w/s',
      state: { status: 'ok', state: { version: 1, files: {} } },
      tally: { drift: 1, unverified: 3 },
      serverHashCommand: null,
      stateMissingOnServer: 2,
    });
    expect(notes).toEqual([
      expect.stringMatching(/^w\/s: not in the checksum state: 3 file\(s\)/),
      expect.stringMatching(/does not match the server for 3 file\(s\)/),
    ]);
  });
});

describe('freshCheckoutNote', () => {
  it('only when "same size, newer mtime" is most of the uploads, and at least 3', () => {
    expect(freshCheckoutNote('w/s', 's', 3, 5)).toMatch(/3 of 5 upload\(s\).*fresh checkout.*compare: auto/);
    expect(freshCheckoutNote('w/s', 's', 2, 2)).toBeNull();
    expect(freshCheckoutNote('w/s', 's', 5, 10)).toBeNull();
  });
});
