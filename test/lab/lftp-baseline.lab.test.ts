/**
 * If the lab cannot show lftp getting blocked, the lab is wrong (issue 4): a passive lftp mirror
 * download of 600 small files through the simulator at a limit of 100 must be blocked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeLab } from './harness.js';
import { runLftpScenario } from '../../lab/lftp-baseline.js';

describeLab('lftp baseline: the lab reproduces the block', (lab) => {
  const work = mkdtempSync(join(tmpdir(), 'ftpsync-baseline-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('lftp mirror, passive download of 600 small files, limit 100: blocked, mostly by TIME_WAIT', async () => {
    const r = await runLftpScenario(
      lab,
      { server: 'vsftpd', direction: 'download', mode: 'passive', files: 600, dirs: 12, limit: 100, timeoutMs: 25_000 },
      work,
    );
    expect(r.blocked).toBe(true);
    expect(r.filesAtBlock).not.toBeNull();
    expect(r.filesAtBlock!).toBeLessThan(600);
    expect(r.peak).toBeGreaterThan(100);
    // What gets you blocked is TIME_WAIT, not open connections.
    expect(r.peakTimeWait).toBeGreaterThan(r.peak * 0.8);
  }, 150_000);
});
