/** The README's manifest reference is generated from the schema; this fails when it drifts. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../cli/helpers.js';
// @ts-expect-error: a plain .mjs script without types
import { END, START, renderReference, withReference } from '../../scripts/manifest-reference.mjs';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const schema = JSON.parse(readFileSync(join(REPO, 'schemas/ftpsync.schema.json'), 'utf8')) as Record<string, unknown> & {
  $defs: Record<string, { properties: Record<string, { description?: string }> }>;
};

describe('README manifest reference', () => {
  it('is current with schemas/ftpsync.schema.json (run node scripts/manifest-reference.mjs)', () => {
    expect(readme).toContain(START);
    expect(readme).toContain(END);
    expect((withReference as (r: string, s: unknown) => string)(readme, schema)).toBe(readme);
  });

  it('has a row for every server, firewall and sync key, with its description', () => {
    const text = (renderReference as (s: unknown) => string)(schema);
    for (const def of ['server', 'firewall', 'sync']) {
      for (const [key, prop] of Object.entries(schema.$defs[def]!.properties)) {
        expect(text, `${def}.${key}`).toContain(`| \`${key}\` |`);
        expect(prop.description, `${def}.${key} has a description`).toBeTruthy();
      }
    }
  });
});
