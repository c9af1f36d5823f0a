/**
 * docs/servers.md's compatibility table, rendered from the zoo's rows (cases.ts): the table the
 * docs show is the table the tests run. test/docs/servers-doc.test.ts fails when the doc drifts.
 */
import type { ZooCase } from './cases.js';

export const START = '<!-- servers-table:start (generated from test/zoo/cases.ts: FTPSYNC_WRITE_DOCS=1 npx vitest run test/docs/servers-doc.test.ts) -->';
export const END = '<!-- servers-table:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function outcome(c: ZooCase): string {
  const settings = Object.entries(c.settings ?? {}).map(([k, v]) => `${k}: ${v}`);
  if (c.compare) settings.push(`compare: ${c.compare}`);
  const withSettings = settings.length ? ` (${settings.join(', ')})` : '';
  if (c.outcome.kind === 'completes') return `${c.direction} completes${withSettings}`;
  return `${c.direction}${withSettings}: exit 1 at ${c.outcome.at}`;
}

export function renderServersTable(cases: ZooCase[]): string {
  const rows = [
    '| Server | Behaviour | Reply | What ftpsync does | Tested (`test/zoo`, 200 files) |',
    '|---|---|---|---|---|',
    ...cases.map((c) => `| ${cell(c.server)} | ${cell(c.behaviour)} | ${cell(c.reply || '—')} | ${cell(c.does)} | \`${c.id}\`: ${cell(outcome(c))} |`),
  ];
  return `${START}\n${rows.join('\n')}\n${END}`;
}

/** The doc with its table section replaced by the rendering of `cases`. */
export function withServersTable(doc: string, cases: ZooCase[]): string {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error('docs/servers.md has no generated table section');
  return doc.slice(0, a) + renderServersTable(cases) + doc.slice(b + END.length);
}
