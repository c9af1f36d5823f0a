/** docs/servers.md's compatibility table is rendered from the zoo's rows; this fails when it drifts. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../cli/helpers.js';
import { ZOO } from '../zoo/cases.js';
import { END, START, withServersTable } from '../zoo/render.js';

const DOC = join(REPO, 'docs', 'servers.md');

describe('docs/servers.md', () => {
  it('has the table of test/zoo/cases.ts (FTPSYNC_WRITE_DOCS=1 npx vitest run test/docs/servers-doc.test.ts rewrites it)', () => {
    const doc = readFileSync(DOC, 'utf8');
    const next = withServersTable(doc, ZOO);
    if (process.env.FTPSYNC_WRITE_DOCS === '1' && next !== doc) writeFileSync(DOC, next);
    else expect(doc).toBe(next);
  });

  it('has one row per zoo case, each naming its case id', () => {
    const doc = readFileSync(DOC, 'utf8');
    const table = doc.slice(doc.indexOf(START), doc.indexOf(END));
    for (const c of ZOO) expect(table).toContain(`\`${c.id}\``);
    expect(table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Server')).length).toBe(ZOO.length);
  });
});
