/**
 * `ftpsync plan --format markdown` as a pull-request comment: plan against the demo FTP server
 * with the built CLI, render the markdown the way GitHub does (GFM: tables, raw <details>), and
 * check the HTML's structure. scripts/screenshot-plan.mjs takes a picture of the same thing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marked } from 'marked';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import { spawn } from 'node:child_process';
import { CLI, ensureBuilt } from '../cli/helpers.js';

/** The built CLI, spawned asynchronously: the in-process server must keep answering meanwhile. */
function runCliAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, NO_COLOR: '1', ...env }, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let base: string;
let server: DemoFtpServer;
let port: number;

beforeAll(async () => {
  ensureBuilt();
  base = mkdtempSync(join(tmpdir(), 'ftpsync-md-'));
  mkdirSync(join(base, 'root/www'), { recursive: true });
  writeFileSync(join(base, 'root/www/old.html'), 'stale');
  mkdirSync(join(base, 'site/css'), { recursive: true });
  for (let i = 0; i < 12; i++) writeFileSync(join(base, `site/page-${i}.html`), `<p>${i}</p>`);
  writeFileSync(join(base, 'site/css/site.css'), 'body{}');
  server = new DemoFtpServer({ port: 0, user: 'demo', password: 'md-test', root: join(base, 'root'), passivePorts: [31300, 31319] });
  port = await server.listen();
  writeFileSync(
    join(base, 'ftpsync.yml'),
    [
      'version: 1',
      'servers:',
      '  demo:',
      '    host: 127.0.0.1',
      `    port: ${port}`,
      '    user: demo',
      '    password: ${MD_TEST_PASSWORD}',
      '    tls: none',
      '    firewall: { maxConnections: 10, headroom: 0.8, timeWait: 60s, parallel: 1 }',
      'syncs:',
      '  - { name: site, server: demo, direction: upload, local: ./site, remote: /www, delete: true }',
      '',
    ].join('\n'),
  );
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('plan --format markdown rendered as GitHub would', () => {
  it('is a heading, a summary table, phases and a collapsed diff of the file actions', { timeout: 90_000 }, async () => {
    const r = await runCliAsync(['plan', '-c', join(base, 'ftpsync.yml'), '--format', 'markdown'], { MD_TEST_PASSWORD: 'md-test' });
    expect(r.code, r.stderr).toBe(0);
    const html = await marked.parse(r.stdout, { gfm: true });
    const doc = html.replace(/\n/g, ' ');

    expect(doc).toMatch(/<h2[^>]*>ftpsync plan<\/h2>/);
    // The deletions come right under the heading, before the summary table: 1 of the server's 1 file.
    expect(doc).toMatch(
      /<\/h2> <p><strong>1 file deletion\(s\):<\/strong><\/p> <ul> <li>⚠️ <strong>more than half of the target:<\/strong> demo \/ site: 1 of 1 target file\(s\), 100 %<\/li> <\/ul>/,
    );
    // The summary is a real table (GFM), one header row and one row for the server.
    const table = /<table>(.*?)<\/table>/.exec(doc)?.[1] ?? '';
    expect(table).not.toBe('');
    const headers = [...table.matchAll(/<th(?:\s[^>]*)?>(.*?)<\/th>/g)].map((m) => m[1]);
    expect(headers).toEqual(['server', 'changes', 'counted connections', 'phases', 'pauses', 'ETA', 'theoretical minimum']);
    const rows = [...table.matchAll(/<tr>(.*?)<\/tr>/g)].slice(1);
    expect(rows).toHaveLength(1);
    expect([...rows[0]![1]!.matchAll(/<td(?:\s[^>]*)?>/g)]).toHaveLength(headers.length);
    expect(rows[0]![1]).toContain('demo');

    // 1 mkdir, 13 uploads and 1 delete on a budget of floor(10 × 0.8) = 8: several phases in a list.
    expect(doc).toMatch(/<h3[^>]*>demo<\/h3>/);
    expect((/<h3[^>]*>demo<\/h3>.*?<ul>(.*?)<\/ul>/.exec(doc)?.[1] ?? '').match(/<li>/g)?.length ?? 0).toBeGreaterThanOrEqual(2);

    // The file list is folded away, inside a diff code block GitHub colours.
    const details = /<details><summary>(.*?)<\/summary>(.*?)<\/details>/.exec(doc);
    // mkdir css, 13 uploads staged and 13 switched into place (twoPhase, the default), delete
    // old.html, and the checksum state (compare: auto, the default)
    expect(details?.[1]).toMatch(/^29 file action\(s\)$/);
    expect(doc).toMatch(/<li>staging: 13 upload\(s\) to temporary names beside their targets, ~[^<]*<\/li>/);
    expect(doc).toMatch(/<li>switch: 13 rename\(s\) into place over 1 session\(s\), pipelined, no new connection, ~[^<]*<\/li>/);
    expect(details?.[2]).toContain('<code class="language-diff">');
    expect(details?.[2]).toContain('page-11.html');
    expect(details?.[2]).toContain('old.html');
    // Nothing leaked: the password never reaches the comment.
    expect(r.stdout).not.toContain('md-test');
  });
});
