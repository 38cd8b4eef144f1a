#!/usr/bin/env node
/**
 * Build the AF_PACKET addon without ever removing a working one (npm's `install` script and
 * `npm run build:addon`).
 *
 * `node-gyp rebuild` starts by deleting build/, so a rebuild that cannot fetch the Node headers
 * (no network, empty cache: what `npx capflow` in a fresh clone triggers) used to leave no addon
 * at all. Here: an addon that loads and is newer than its sources is kept as it is; otherwise
 * node-gyp builds in a temporary copy of this folder and only a successful build replaces
 * build/Release/capflow_af_packet.node (by rename). A failure prints why and exits 0 from
 * `install` (capflow works without the addon) or 1 with --strict (build:addon).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ADDON = 'capflow_af_packet.node';
const SOURCES = ['binding.gyp', 'af_packet.c'];
const strict = process.argv.includes('--strict');
const force = process.argv.includes('--force');
const target = join(here, 'build', 'Release', ADDON);

function loads(path) {
  try {
    createRequire(import.meta.url)(path);
    return true;
  } catch {
    return false;
  }
}

function upToDate() {
  if (!existsSync(target)) return false;
  const built = statSync(target).mtimeMs;
  return SOURCES.every((s) => statSync(join(here, s)).mtimeMs <= built) && loads(target);
}

/** Build in a temporary copy; the reason on failure, null on success (the addon then replaced). */
function build() {
  const work = mkdtempSync(join(tmpdir(), 'capflow-addon-'));
  try {
    for (const s of SOURCES) copyFileSync(join(here, s), join(work, s));
    // npm hands its own node-gyp to install scripts; elsewhere, the one on PATH.
    const gyp = process.env.npm_config_node_gyp;
    const r = gyp
      ? spawnSync(process.execPath, [gyp, 'rebuild', '-C', work], { stdio: ['ignore', 'inherit', 'inherit'] })
      : spawnSync('node-gyp', ['rebuild', '-C', work], { stdio: ['ignore', 'inherit', 'inherit'] });
    const built = join(work, 'build', 'Release', ADDON);
    if (r.error) return `node-gyp could not run (${r.error.message})`;
    if (r.status !== 0 || !existsSync(built)) return `node-gyp exited with status ${r.status}`;
    if (!loads(built)) return 'the built addon does not load';
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    copyFileSync(built, tmp);
    renameSync(tmp, target);
    return null;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (force || !upToDate()) {
  const why = build();
  if (why !== null) {
    const kept = existsSync(target) && loads(target) ? ` (the existing ${ADDON} is kept)` : '';
    console.warn(`capflow: native AF_PACKET addon not built: ${why}${kept}; replay --to iface: needs it (npm run build:addon to retry)`);
    process.exitCode = strict ? 1 : 0;
  }
}
