/**
 * `npm run demo` end to end, shortened: 5 log files instead of 40 so no 60 s pause is needed.
 * Real server (ours), real built CLI, real /proc/net/tcp counting; checks that plan and apply
 * ran, the firewall never blocked, the password never printed, and nothing was left behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, ensureBuilt } from '../cli/helpers.js';

function demoTempDirs(): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith('ftpsync-demo-') && !n.startsWith('ftpsync-demo-test-'));
}

describe('npm run demo', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('plans, applies inside the budget, reports the firewall peak and cleans up', { timeout: 200_000 }, async () => {
    const before = new Set(demoTempDirs());
    const hadDemoDir = existsSync(join(REPO, '.demo'));
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [join(REPO, 'scripts/demo.mjs')], {
        cwd: REPO,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', CI: 'true', FTPSYNC_DEMO_LOG_FILES: '5' },
        timeout: 190_000,
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('$ ftpsync plan');
    expect(r.out).toContain('$ ftpsync apply');
    expect(r.out).toMatch(/228 upload/);
    expect(r.out).toMatch(/5 download/);
    // The second plan finds nothing left to do.
    expect(r.out).toMatch(/No changes\./);
    const fw = /peak (\d+) sockets from 127\.0\.0\.1 .* against a limit of 40: never blocked/.exec(r.out);
    expect(fw, r.out).not.toBeNull();
    expect(Number(fw![1])).toBeLessThanOrEqual(40);
    expect(r.out).not.toMatch(/FTPSYNC_DEMO_PASSWORD=\S/);
    // Cleaned up: no new temp server root, no local mirror left in the repo.
    expect(demoTempDirs().filter((d) => !before.has(d))).toEqual([]);
    if (!hadDemoDir) expect(existsSync(join(REPO, '.demo'))).toBe(false);
  });
});
