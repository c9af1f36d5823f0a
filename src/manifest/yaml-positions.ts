/**
 * Where a problem is in the manifest: findings carry FILE:LINE:COL, found by walking the parsed
 * YAML document along the same path ajv and the checks use.
 */
import { isMap, isNode, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export interface Finding {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  col: number;
  message: string;
}

/** A path into the manifest's data: keys and list indexes. */
export type Path = Array<string | number>;

/** Dotted path for messages: servers.prod.firewall.headroom, syncs[0].name. */
export function dotted(path: Path): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '(top level)';
}

/** Collects findings, each placed at the YAML node (or key) its path names. */
export class Reporter {
  readonly findings: Finding[] = [];
  constructor(
    private readonly file: string,
    private readonly doc: Document | null,
    private readonly lc: LineCounter,
  ) {}

  /** Position of the node at path (or of its key when `key` is set), 1-based. */
  position(path: Path, key = false): { line: number; col: number } {
    if (!this.doc) return { line: 1, col: 1 };
    let offset = 0;
    let node: unknown = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
        if (!pair) break;
        const last = i === path.length - 1;
        if (last && key && isNode(pair.key)) {
          offset = (pair.key as Node).range?.[0] ?? offset;
          node = null;
          break;
        }
        node = pair.value;
        if (!isNode(node) && isNode(pair.key)) offset = (pair.key as Node).range?.[0] ?? offset;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else break;
      if (isNode(node)) offset = (node as Node).range?.[0] ?? offset;
    }
    if (path.length === 0 && isNode(node)) offset = (node as Node).range?.[0] ?? 0;
    const pos = this.lc.linePos(offset);
    return { line: pos.line, col: pos.col };
  }

  add(severity: Finding['severity'], path: Path, message: string, key = false): void {
    const { line, col } = this.position(path, key);
    this.findings.push({ severity, file: this.file, line, col, message });
  }
  error(path: Path, message: string, key = false) {
    this.add('error', path, message, key);
  }
  warn(path: Path, message: string, key = false) {
    this.add('warning', path, message, key);
  }
}
