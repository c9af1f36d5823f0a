/**
 * The lab harness for *.lab.test.ts files. The lab itself is brought up once by scripts/test.mjs
 * (or `npm run lab:up`), which then runs vitest inside the client namespace.
 * No lab: the suite is skipped with the reason, except with CI=true, where it fails.
 */
import { beforeAll, describe, it } from 'vitest';
import { getLab, labUnavailableReason, type Lab } from '../../lab/lab-client.js';

export * from '../../lab/lab-client.js';

/**
 * describe() for lab tests. Without a lab: skipped with the reason printed once, or, with
 * CI=true, a failing test that says the lab did not start (in CI a missing lab is a failure).
 */
export function describeLab(name: string, fn: (lab: Lab) => void): void {
  const reason = labUnavailableReason();
  if (reason === null) {
    describe(name, () => {
      // Start each file with no limit and no block, whatever the file before it left.
      beforeAll(() => getLab().disarmFirewall(), 30_000);
      fn(getLab());
    });
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs the lab', () => {
        throw new Error(`the lab is required in CI but is not available: ${reason}`);
      });
    });
    return;
  }
  process.stderr.write(`[lab] skipped "${name}": ${reason}\n`);
  // The body is not collected: it may read the lab at collection time.
  it.skip(`${name} (skipped: ${reason})`, () => undefined);
}
