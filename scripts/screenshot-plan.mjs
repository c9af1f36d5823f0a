#!/usr/bin/env node
// @ts-check
// Render `ftpsync plan --format markdown` the way a GitHub pull-request comment shows it, and
// take a screenshot with headless Chromium, so a developer can look at it.
//
//   node scripts/screenshot-plan.mjs [plan.md] [--out plan.png] [--open-details]
//
// Without plan.md it makes one: it starts the demo FTP server (as `npm run demo` does) and runs
// the built `ftpsync plan --format markdown` on the top-level ftpsync.yml.
// Needs Chromium from Debian: `sudo apt-get install chromium` (not installed in CI on purpose;
// the structure of the HTML is checked by test/pipelines/plan-markdown.test.ts instead).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { marked } from 'marked';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const out = path.resolve(outIdx >= 0 ? args[outIdx + 1] : 'plan-screenshot.png');
const openDetails = args.includes('--open-details');
const input = args.find((a, i) => !a.startsWith('--') && i !== outIdx + 1);

const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((b) => spawnSync('which', [b]).status === 0);
if (!chromium) {
  process.stderr.write('screenshot-plan: Chromium not found. On Debian: sudo apt-get install chromium\n');
  process.exit(1);
}

const work = mkdtempSync(path.join(tmpdir(), 'ftpsync-shot-'));
const cleanup = () => rmSync(work, { recursive: true, force: true });
process.on('exit', cleanup);

async function planFromDemo() {
  if (!existsSync(path.join(repo, 'dist/cli/main.js')) || !existsSync(path.join(repo, 'dist/demo/ftp-server.js'))) {
    const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repo, stdio: 'inherit' });
    if (b.status !== 0) process.exit(1);
  }
  const { DemoFtpServer } = await import(pathToFileURL(path.join(repo, 'dist/demo/ftp-server.js')).href);
  const root = path.join(work, 'root');
  mkdirSync(path.join(root, 'www'), { recursive: true });
  mkdirSync(path.join(root, 'logs'));
  writeFileSync(path.join(root, 'www', 'old-page.html'), 'removed by delete: true');
  for (let i = 0; i < 40; i++) writeFileSync(path.join(root, 'logs', `access-${String(i).padStart(3, '0')}.log`), 'GET /\n');
  const password = randomBytes(12).toString('hex');
  const server = new DemoFtpServer({ port: Number(process.env.FTPSYNC_DEMO_PORT ?? 2121), user: 'demo', password, root });
  await server.listen();
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(repo, 'dist/cli/main.js'), 'plan', '--format', 'markdown'], {
        cwd: repo,
        env: { ...process.env, NO_COLOR: '1', FTPSYNC_DEMO_PASSWORD: password },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let md = '';
      child.stdout.on('data', (d) => (md += d));
      child.on('close', (code) => (code === 0 ? resolve(md) : reject(new Error(`ftpsync plan exited ${code}`))));
    });
  } finally {
    await server.close();
  }
}

const markdown = input ? readFileSync(input, 'utf8') : await planFromDemo();
let body = await marked.parse(markdown, { gfm: true });
if (openDetails) body = body.replace(/<details>/g, '<details open>');

// Close to GitHub's comment styling (github-markdown-css, light theme), kept small.
const css = `
body { margin: 0; background: #fff; }
.comment { max-width: 900px; margin: 16px; border: 1px solid #d0d7de; border-radius: 6px; }
.header { background: #f6f8fa; border-bottom: 1px solid #d0d7de; padding: 8px 16px; font: 14px -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #57606a; }
.markdown-body { padding: 16px; font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; }
.markdown-body h2 { font-size: 1.5em; border-bottom: 1px solid #d8dee4; padding-bottom: .3em; margin: 0 0 16px; }
.markdown-body h3 { font-size: 1.25em; margin: 24px 0 16px; }
.markdown-body table { border-collapse: collapse; display: block; overflow: auto; margin: 0 0 16px; }
.markdown-body th, .markdown-body td { border: 1px solid #d0d7de; padding: 6px 13px; }
.markdown-body th { font-weight: 600; }
.markdown-body tr:nth-child(2n) { background: #f6f8fa; }
.markdown-body code, .markdown-body pre { font: 12px ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, monospace; }
.markdown-body pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; }
.markdown-body blockquote { margin: 0 0 16px; padding: 0 1em; color: #656d76; border-left: .25em solid #d0d7de; }
.markdown-body summary { cursor: pointer; }
`;
const htmlFile = path.join(work, 'plan.html');
writeFileSync(
  htmlFile,
  `<!doctype html><html><head><meta charset="utf-8"><style>${css}</style></head>` +
    `<body><div class="comment"><div class="header"><b>github-actions</b> bot commented</div>` +
    `<div class="markdown-body">${body}</div></div></body></html>`,
);

const shot = spawnSync(
  chromium,
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--user-data-dir=${path.join(work, 'profile')}`,
    '--hide-scrollbars',
    '--window-size=960,1100',
    `--screenshot=${out}`,
    pathToFileURL(htmlFile).href,
  ],
  { encoding: 'utf8', timeout: 60_000 },
);
if (shot.status !== 0 || !existsSync(out)) {
  process.stderr.write(`screenshot-plan: chromium failed (${shot.status}):\n${shot.stderr}\n`);
  process.exit(1);
}
process.stdout.write(`${out}\n`);
