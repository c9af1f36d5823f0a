/** The manifest's validator is compiled ahead of time from the schema; this fails when it drifts. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { REPO } from '../cli/helpers.js';
// @ts-expect-error: a plain .mjs script without types
import { AJV_OPTIONS, renderValidator, TARGET } from '../../scripts/manifest-validator.mjs';
import { validate as generated } from '../../src/manifest/schema-validator.generated.js';

const schema = JSON.parse(readFileSync(join(REPO, 'schemas/ftpsync.schema.json'), 'utf8')) as object;
type Validate = ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; keyword: string }> | null };

describe('the generated manifest validator', () => {
  it('is current with schemas/ftpsync.schema.json (run node scripts/manifest-validator.mjs)', () => {
    expect((renderValidator as (s: unknown) => string)(schema)).toBe(readFileSync(TARGET as string, 'utf8'));
  });

  it('reports what a freshly compiled validator reports, minLength (a runtime helper it requires) included', () => {
    const compiled = new Ajv2020(AJV_OPTIONS as object).compile(schema) as unknown as Validate;
    const g = generated as unknown as Validate;
    const server = { host: 'ftp.example.com', user: 'u', password: '${P}' };
    const cases: unknown[] = [
      { version: 1, servers: { a: server }, syncs: [{ name: 's', servers: ['a'], direction: 'upload', local: './x', remote: '/x' }] },
      { version: 1, servers: { a: { ...server, host: '' } }, syncs: [] },
      { version: 2, servers: {}, bogus: true },
      'not an object',
    ];
    for (const c of cases) {
      expect(g(c)).toBe(compiled(c));
      expect((g.errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`)).toEqual((compiled.errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`));
    }
    expect(g(cases[1])).toBe(false);
    expect(g.errors?.some((e) => e.keyword === 'minLength')).toBe(true);
  });
});
