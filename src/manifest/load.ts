/**
 * Load a manifest: read (size, binary and empty checks), parse YAML keeping source positions
 * (yaml-positions.ts), validate against schemas/ftpsync.schema.json (schema-errors.ts), then
 * normalize into the typed Manifest (normalize.ts). Every problem is reported at once, each with
 * FILE:LINE:COL. No network.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { normalize } from './normalize.js';
import type { RawManifest } from './raw.js';
import type { Manifest } from './types.js';
import { describeValue, reportSchemaErrors } from './schema-errors.js';
// Compiled ahead of time from schemas/ftpsync.schema.json (scripts/manifest-validator.mjs).
import { validate as generatedValidator } from './schema-validator.generated.js';
import { Reporter, type Finding } from './yaml-positions.js';

export type { Finding } from './yaml-positions.js';
export type { RawManifest, RawServer, RawSync } from './raw.js';

export const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_ALIASES = 100;

export interface LoadOptions {
  /** Commands that connect need every ${ENV} set: unset ones are errors, not warnings. */
  requireEnv?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface LoadResult {
  manifest: Manifest | null;
  findings: Finding[];
  /** sha256 of the manifest's bytes (for plan fingerprints). */
  digest: string | null;
}

const validateSchema = generatedValidator as unknown as ValidateFunction;

function readChecked(file: string, r: Reporter): string | null {
  if (!existsSync(file)) {
    r.error([], `no such file; run \`ftpsync init\` to create a starter ftpsync.yml, or pass -c FILE`);
    return null;
  }
  const st = statSync(file);
  if (!st.isFile()) {
    r.error([], 'is not a regular file');
    return null;
  }
  if (st.size > MAX_MANIFEST_BYTES) {
    r.error([], `is ${(st.size / 1024 / 1024).toFixed(1)} MB; a manifest must be under 1 MB (is this the right file?)`);
    return null;
  }
  const buf = readFileSync(file);
  if (buf.includes(0)) {
    r.error([], 'is a binary file, not YAML (it contains NUL bytes)');
    return null;
  }
  const text = buf.toString('utf8');
  if (text.trim() === '' || text.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'))) {
    r.error([], 'is empty; a manifest needs at least version, servers and syncs (see `ftpsync init`)');
    return null;
  }
  return text;
}

/** Load, validate and normalize a manifest file. Never throws for bad input: findings say what is wrong. */
export function loadManifest(fileArg: string, opts: LoadOptions = {}): LoadResult {
  const file = resolve(fileArg);
  const env = opts.env ?? process.env;
  const lc = new LineCounter();
  const pre = new Reporter(fileArg, null, lc);
  const text = readChecked(file, pre);
  if (text === null) return { manifest: null, findings: pre.findings, digest: null };
  const digest = createHash('sha256').update(text).digest('hex');

  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true });
  const r = new Reporter(fileArg, doc, lc);
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    const what = e.code === 'DUPLICATE_KEY' ? 'duplicate key: each key may appear once in a mapping' : e.message.split('\n')[0];
    r.findings.push({ severity: 'error', file: fileArg, line: pos.line, col: pos.col, message: `YAML: ${what}` });
  }
  if (doc.errors.length > 0) return { manifest: null, findings: r.findings, digest };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    r.error([], /alias/i.test(msg) ? `YAML: too many alias expansions (more than ${MAX_ALIASES}); this looks like an alias bomb` : `YAML: ${msg}`);
    return { manifest: null, findings: r.findings, digest };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    r.error([], `must be a mapping with version, servers and syncs (got ${describeValue(data)})`);
    return { manifest: null, findings: r.findings, digest };
  }

  if (!validateSchema(data)) {
    reportSchemaErrors(validateSchema.errors ?? [], data, r);
    return { manifest: null, findings: r.findings, digest };
  }
  const manifest = normalize(data as RawManifest, file, r, { ...opts, env });
  const ok = !r.findings.some((f) => f.severity === 'error');
  return { manifest: ok ? manifest : null, findings: r.findings, digest };
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.col}: ${f.severity}: ${f.message}`;
}
