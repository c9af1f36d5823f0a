#!/usr/bin/env node
// @ts-check
// Writes examples/site: a small static site (~240 tiny files) that the demo syncs. Seeded, so
// running it again gives the same bytes. Its output is committed; rerun only to change the site.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'examples', 'site');
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
rmSync(root, { recursive: true, force: true });
/**
 * @param {string} rel
 * @param {string} text
 */
const write = (rel, text) => {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
};
const sections = ['blog', 'docs', 'products', 'about'];
const nav = sections.map((s) => `<a href="/${s}/">${s}</a>`).join(' ');
write('index.html', `<!doctype html><title>Example site</title><link rel="stylesheet" href="/css/site.css"><nav>${nav}</nav><h1>Example site</h1>\n`);
write('css/site.css', 'body{font-family:sans-serif;margin:2rem}nav a{margin-right:1rem}\n');
write('js/site.js', 'document.documentElement.classList.add("js");\n');
write('robots.txt', 'User-agent: *\nAllow: /\n');
for (const s of sections) {
  const pages = 40 + Math.floor(rand() * 20);
  write(`${s}/index.html`, `<!doctype html><title>${s}</title><h1>${s}</h1>\n`);
  for (let i = 0; i < pages; i++) {
    const words = Array.from({ length: 20 + Math.floor(rand() * 80) }, () => Math.floor(rand() * 36 ** 4).toString(36)).join(' ');
    write(
      `${s}/page-${String(i).padStart(3, '0')}.html`,
      `<!doctype html><title>${s} ${i}</title><link rel="stylesheet" href="/css/site.css"><p>${words}</p>\n`,
    );
  }
  for (let i = 0; i < 6; i++)
    write(`${s}/img/figure-${i}.svg`, `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="${i + 1}"/></svg>\n`);
}
