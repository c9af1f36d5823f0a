/**
 * Seeded fixture trees for lab tests and benchmarks: many small files spread over deep and wide
 * directories, optional exotic names (spaces, unicode, leading dashes) and a few large files.
 * The same seed always gives the same tree, byte for byte.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface TreeOptions {
  seed: number;
  files: number;
  dirs: number;
  /** Maximum nesting depth of directories (1 = all directories at the top). */
  depth?: number;
  /** Small files are 1..maxSmall bytes. */
  maxSmall?: number;
  largeFiles?: number;
  largeSize?: number;
  /** Use names with spaces, unicode and leading dashes. */
  exotic?: boolean;
}

/** mulberry32: small, fast, good enough for fixtures. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXOTIC = ['with space', 'ünïcødé', '-leading-dash', '日本語', 'emoji-🙂', 'semi;colon', "quote'd", '[brackets]'];

/** Writes the tree under dir and returns its relative file paths (POSIX), sorted. */
export function generateTree(dir: string, o: TreeOptions): string[] {
  const rand = rng(o.seed);
  const depth = Math.max(1, o.depth ?? 3);
  const dirs: string[] = [''];
  for (let i = 0; i < o.dirs; i++) {
    // Deep and wide: attach to a random existing directory that is not yet at max depth.
    const candidates = dirs.filter((d) => (d === '' ? 0 : d.split('/').length) < depth);
    const parent = candidates[Math.floor(rand() * candidates.length)] ?? '';
    const base = o.exotic && rand() < 0.3 ? `${EXOTIC[i % EXOTIC.length]} ${i}` : `dir${i}`;
    dirs.push(parent ? `${parent}/${base}` : base);
  }
  for (const d of dirs) mkdirSync(join(dir, d), { recursive: true });
  const files: string[] = [];
  const maxSmall = o.maxSmall ?? 2048;
  for (let i = 0; i < o.files; i++) {
    const d = dirs[Math.floor(rand() * dirs.length)] ?? '';
    const base = o.exotic && rand() < 0.2 ? `${EXOTIC[i % EXOTIC.length]} file ${i}.txt` : `file${i}.txt`;
    const rel = d ? `${d}/${base}` : base;
    const size = 1 + Math.floor(rand() * maxSmall);
    const buf = Buffer.alloc(size);
    for (let b = 0; b < size; b++) buf[b] = 32 + Math.floor(rand() * 95);
    writeFileSync(join(dir, rel), buf);
    files.push(rel);
  }
  for (let i = 0; i < (o.largeFiles ?? 0); i++) {
    const rel = `large${i}.bin`;
    writeLarge(join(dir, rel), o.largeSize ?? 20 * 1024 * 1024, o.seed + i);
    files.push(rel);
  }
  return files.sort();
}

/** Large files are written in 1 MiB chunks so a 50 MB fixture never sits in memory. */
function writeLarge(path: string, size: number, seed: number): void {
  const rand = rng(seed);
  const fd = openSync(path, 'w');
  try {
    const chunk = Buffer.alloc(1024 * 1024);
    for (let written = 0; written < size;) {
      const n = Math.min(chunk.length, size - written);
      for (let b = 0; b < n; b += 4) chunk.writeUInt32LE((rand() * 0xffffffff) >>> 0, Math.min(b, chunk.length - 4));
      writeSync(fd, chunk, 0, n);
      written += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Every file below dir (POSIX relative path → sha256). Directories listed with hash 'dir'. */
export function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(dir, p).split('\\').join('/');
      if (e.isDirectory()) {
        out.set(rel, 'dir');
        walk(p);
      } else if (e.isFile()) {
        out.set(rel, createHash('sha256').update(readFileSync(p)).digest('hex'));
      }
    }
  };
  walk(dir);
  return out;
}

export interface TreeDiff {
  equal: boolean;
  missing: string[];
  extra: string[];
  different: string[];
}

/** Byte-equality report of two trees (b compared against a). */
export function compareTrees(a: string, b: string, ignore: (rel: string) => boolean = () => false): TreeDiff {
  const ha = hashTree(a);
  const hb = hashTree(b);
  const missing = [...ha.keys()].filter((k) => !ignore(k) && !hb.has(k)).sort();
  const extra = [...hb.keys()].filter((k) => !ignore(k) && !ha.has(k)).sort();
  const different = [...ha.keys()].filter((k) => !ignore(k) && hb.has(k) && hb.get(k) !== ha.get(k)).sort();
  return { equal: missing.length + extra.length + different.length === 0, missing, extra, different };
}
