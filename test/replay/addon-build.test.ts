/**
 * Building the AF_PACKET addon never removes a working one: with no way to get the Node headers
 * (what `npx capflow` in a fresh clone with an empty npm cache and no network meets), `node-gyp
 * rebuild` deletes build/ before failing; the install script builds aside and keeps the addon.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../cli/built-cli.js';

const native = join(repoRoot, 'pipeline', 'replay', 'native');
const addon = join(native, 'build', 'Release', 'capflow_af_packet.node');
const haveAddon = existsSync(addon);
if (!haveAddon && process.env.CI === 'true') throw new Error('the AF_PACKET addon is not built (npm install builds it)');
if (!haveAddon) console.warn('[addon build test skipped] the AF_PACKET addon is not built here');

/** npm's own node-gyp (what npm hands install scripts as npm_config_node_gyp). */
function npmNodeGyp(): string {
  const npm = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  return join(dirname(realpathSync(npm)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}

describe.skipIf(!haveAddon)('building the AF_PACKET addon', () => {
  it('a failed build (no Node headers to be had) keeps the working addon', { timeout: 240_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-addon-test-'));
    try {
      const copy = join(dir, 'native');
      mkdirSync(join(copy, 'build', 'Release'), { recursive: true });
      for (const f of ['binding.gyp', 'af_packet.c', 'build-addon.mjs']) copyFileSync(join(native, f), join(copy, f));
      copyFileSync(addon, join(copy, 'build', 'Release', 'capflow_af_packet.node'));
      // Sources newer than the addon: a rebuild is due.
      const later = new Date(Date.now() + 60_000);
      utimesSync(join(copy, 'af_packet.c'), later, later);
      // An empty home and cache, headers nowhere: node-gyp cannot configure.
      const env = {
        ...process.env,
        HOME: dir,
        npm_config_cache: join(dir, 'cache'),
        npm_config_devdir: join(dir, 'gyp'),
        npm_config_nodedir: join(dir, 'no-headers'),
        npm_config_node_gyp: npmNodeGyp(),
      };
      const loads = (p: string) => spawnSync(process.execPath, ['-e', `require(${JSON.stringify(p)})`]).status === 0;

      // What `node-gyp rebuild` (the old install script) does to the addon in such a clone:
      const plain = join(dir, 'plain');
      mkdirSync(join(plain, 'build', 'Release'), { recursive: true });
      for (const f of ['binding.gyp', 'af_packet.c']) copyFileSync(join(native, f), join(plain, f));
      copyFileSync(addon, join(plain, 'build', 'Release', 'capflow_af_packet.node'));
      const old = spawnSync(process.execPath, [env.npm_config_node_gyp, 'rebuild', '-C', plain], { env, encoding: 'utf8' });
      expect(old.status).not.toBe(0);
      expect(existsSync(join(plain, 'build', 'Release', 'capflow_af_packet.node'))).toBe(false);

      const r = spawnSync(process.execPath, [join(copy, 'build-addon.mjs')], { env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain('capflow: native AF_PACKET addon not built: node-gyp exited with status');
      expect(r.stderr).toContain('(the existing capflow_af_packet.node is kept)');
      expect(loads(join(copy, 'build', 'Release', 'capflow_af_packet.node'))).toBe(true);

      // build:addon (--strict) says so with its exit status, and keeps it too.
      const strict = spawnSync(process.execPath, [join(copy, 'build-addon.mjs'), '--strict', '--force'], { env, encoding: 'utf8' });
      expect(strict.status).toBe(1);
      expect(loads(join(copy, 'build', 'Release', 'capflow_af_packet.node'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an addon newer than its sources that loads is left alone (no rebuild)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-addon-test-'));
    try {
      mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
      for (const f of ['binding.gyp', 'af_packet.c', 'build-addon.mjs']) copyFileSync(join(native, f), join(dir, f));
      const old = new Date(Date.now() - 3_600_000);
      for (const f of ['binding.gyp', 'af_packet.c']) utimesSync(join(dir, f), old, old);
      copyFileSync(addon, join(dir, 'build', 'Release', 'capflow_af_packet.node'));
      const r = spawnSync(process.execPath, [join(dir, 'build-addon.mjs')], { env: { ...process.env, npm_config_node_gyp: '/nonexistent/node-gyp.js' }, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
