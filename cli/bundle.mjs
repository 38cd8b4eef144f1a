#!/usr/bin/env node
/**
 * The last step of `npm run build`: the `capflow` binary (dist/cli/main.js, as tsc wrote it) is
 * bundled in place with esbuild, so that starting it reads a few files instead of some seventy
 * modules (each one a resolution, a read and a compile). Code splitting keeps what start-up does
 * not need out of the way: every command, the pipeline validator with its stages and the npm
 * packages (yargs, zod, yaml; left external) load only when a command asks for them, as they do
 * unbundled. The chunks sit next to main.js, so paths the code finds from its own place
 * (package.json, the Wireshark files) resolve as before. The library (dist/pipeline) and the
 * batch worker stay as tsc wrote them.
 *
 * Without esbuild (a build from the sources with production dependencies only) the unbundled
 * binary is kept: it is the same program, slower to start.
 */
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli');
const entry = join(outdir, 'main.js');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('capflow build: esbuild is not installed: dist/cli/main.js stays unbundled (slower start-up)');
}
if (esbuild) {
  // The chunks of an earlier build (their names carry a hash of their contents).
  for (const f of readdirSync(outdir)) if (/^[a-z-]+-[A-Z0-9]{8}\.js$/.test(f)) rmSync(join(outdir, f));
  await esbuild.build({
    entryPoints: { main: entry },
    outdir,
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: '[name]-[hash]',
    logLevel: 'warning',
  });
}
chmodSync(entry, 0o755);
