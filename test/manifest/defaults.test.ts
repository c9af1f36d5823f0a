import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/manifest/defaults.js';

const schema = JSON.parse(readFileSync(new URL('../../schemas/ftpsync.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** Every `default` in the schema, keyed like DEFAULTS: $defs/server/properties/tls → server.tls. */
function schemaDefaults(): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (node: unknown, path: string[]): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if ('default' in n) out.set(path.join('.'), n.default);
    for (const [k, v] of Object.entries(n)) {
      if (k === 'properties' && v && typeof v === 'object') for (const [name, sub] of Object.entries(v)) walk(sub, [...path, name]);
      else if (k === '$defs' && v && typeof v === 'object') for (const [name, sub] of Object.entries(v)) walk(sub, [name]);
      else if (k !== 'default' && typeof v === 'object') walk(v, path);
    }
  };
  walk(schema, []);
  return out;
}

/** Every leaf of DEFAULTS (arrays are leaves), dotted. */
function codeDefaults(): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, path: string[]): void => {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, sub] of Object.entries(v)) walk(sub, [...path, k]);
    else out.set(path.join('.'), v);
  };
  walk(DEFAULTS, []);
  return out;
}

describe('manifest defaults have one source', () => {
  const inSchema = schemaDefaults();
  const inCode = codeDefaults();

  it('finds the schema defaults it walks (the walk is not empty)', () => {
    expect(inSchema.size).toBeGreaterThanOrEqual(15);
    expect(inSchema.get('firewall.onBlock.maxWait')).toBe('35m');
  });

  it.each([...schemaDefaults()])('schema default %s equals the code default', (path, value) => {
    expect(inCode.has(path), `DEFAULTS has no ${path}`).toBe(true);
    expect(inCode.get(path)).toEqual(value);
  });

  it('every code default is a schema default', () => {
    expect([...inCode.keys()].filter((k) => !inSchema.has(k))).toEqual([]);
  });
});
