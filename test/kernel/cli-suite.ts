/**
 * The set-up every kernel test of the built CLI shares: the gate checked and dist/ present before
 * the suite, a temporary folder for its captures, namespaces torn down and the folder removed
 * after it, and `capflow` run as users run it (any exit status but 0 fails the test with stderr).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { builtCli, haveBuild } from '../cli/built-cli.js';
import { destroyAllNetns } from './netns.js';

export { builtCli, haveBuild };

/** Register the suite's hooks (call inside `describe`); `at(...)` names a file in its folder. */
export function kernelCliSuite(gate: { assertReady(): void }, prefix: string): { at(...parts: string[]): string } {
  let dir = '';
  beforeAll(() => {
    gate.assertReady();
    if (!haveBuild) throw new Error('dist/ is missing: npm run build');
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    destroyAllNetns();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return { at: (...parts) => join(dir, ...parts) };
}

/** Run the built `capflow ARGS...`; it must exit 0. */
export function capflowOk(args: string[]): void {
  const r = spawnSync(process.execPath, [builtCli, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}
