/** The local journal: fsync'd JSON lines, a torn last line from kill -9 tolerated, other plans ignored. */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/run/journal.js';
import { looksBlocked } from '../../src/run/block-detect.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ftpsync-journal-'));
  dirs.push(d);
  return d;
}

describe('Journal', () => {
  it('remembers completed actions across instances, in its .ftpsync directory', () => {
    const file = join(tmp(), '.ftpsync', 'journal-a.jsonl');
    const j = new Journal(file, 'P1');
    j.record('a/site/upload/x');
    j.record('a/site/upload/y');
    const again = new Journal(file, 'P1');
    expect(again.has('a/site/upload/x')).toBe(true);
    expect(again.has('a/site/upload/z')).toBe(false);
    expect(again.size).toBe(2);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('ignores a torn last line (kill -9 mid-write) and keeps everything before it', () => {
    const file = join(tmp(), 'j.jsonl');
    new Journal(file, 'P1').record('one');
    appendFileSync(file, '{"plan":"P1","action":"tw');
    const j = new Journal(file, 'P1');
    expect(j.has('one')).toBe(true);
    expect(j.size).toBe(1);
  });

  it('ignores entries of another plan, and clear() forgets everything', () => {
    const file = join(tmp(), 'j.jsonl');
    new Journal(file, 'P1').record('one');
    expect(new Journal(file, 'P2').has('one')).toBe(false);
    new Journal(file, 'P1').clear();
    expect(new Journal(file, 'P1').size).toBe(0);
  });
});

describe('block detection', () => {
  it.each([
    ['maybe-blocked', 5, true],
    ['maybe-blocked', 0, false], // a first connection that times out is a wrong host/port, not a block
    ['transient', 5, false],
    ['session-limit', 5, false],
    ['permanent', 5, false],
  ] as const)('%s after %i successes -> blocked %s', (errorClass, successesBefore, expected) => {
    expect(looksBlocked({ errorClass, successesBefore })).toBe(expected);
  });

  it('a reset gets one retry before it counts as a block; a timeout does not', () => {
    expect(looksBlocked({ errorClass: 'maybe-blocked', successesBefore: 9, reset: true, attempt: 1 })).toBe(false);
    expect(looksBlocked({ errorClass: 'maybe-blocked', successesBefore: 9, reset: true, attempt: 2 })).toBe(true);
    expect(looksBlocked({ errorClass: 'maybe-blocked', successesBefore: 9, reset: false, attempt: 1 })).toBe(true);
  });
});
