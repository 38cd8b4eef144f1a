/**
 * The installed `capflow` command is a link to dist/cli/main.js (npm's bin link, what `npx capflow`
 * runs): the CLI must start through such a link, not only when invoked as main.js.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const built = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');
const haveBuild = existsSync(built);
if (!haveBuild && process.env.CI === 'true') throw new Error('dist/ is missing: npm install builds it (prepare)');
if (!haveBuild) console.warn('[bin test skipped] dist/ is not built (npm run build)');

describe.skipIf(!haveBuild)('the capflow bin link', () => {
  it('runs the CLI through a link named capflow', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-bin-'));
    try {
      const link = join(dir, 'capflow');
      symlinkSync(built, link);
      const r = spawnSync(process.execPath, [link, '--version'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
      const bad = spawnSync(process.execPath, [link, 'no-such-command'], { encoding: 'utf8' });
      expect(bad.status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
