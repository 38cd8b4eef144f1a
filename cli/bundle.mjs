#!/usr/bin/env node
/**
 * The last step of `npm run build`: the `capflow` binary (dist/cli/main.js, as tsc wrote it) is
 * bundled in place with esbuild, so that starting it reads a few files instead of some seventy
 * modules (each one a resolution, a read and a compile). Code splitting keeps what start-up does
 * not need out of the way: every command, the pipeline validator with its stages and the npm
 * packages load only when a command asks for them, as they do unbundled. zod is bundled too (into
 * the validator's chunks): loading it from its package resolved some 230 modules at the start of
 * every run with a stage and of every batch worker (capflow imports it as a namespace, `import * as z`,
 * so that only what it uses is bundled: `import { z }` kept every locale, 799 KB); yaml, loaded when a pipeline file or a --stage
 * value needs it, is one chunk instead of its sixty-odd CommonJS modules (over 100 ms). yargs
 * stays external: it reads its locale files from its own folder. The chunks sit next to main.js, so paths the code finds from its own place
 * (package.json, the Wireshark files) resolve as before. The batch worker (each worker thread's
 * start) is bundled the same way, in its own folder; the library (dist/pipeline) stays as tsc
 * wrote it.
 *
 * Without esbuild (a build from the sources with production dependencies only) the unbundled
 * binary is kept: it is the same program, slower to start.
 */
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Entry points bundled in place: the binary, and the batch worker each worker thread starts. */
const entries = [join(root, 'dist', 'cli', 'main.js'), join(root, 'dist', 'pipeline', 'batch', 'worker.js')];

/** yaml is bundled from its CommonJS build, which requires Node's own modules ('process'). */
const REQUIRE_BANNER = "import { createRequire as capflowCreateRequire } from 'node:module'; const require = capflowCreateRequire(import.meta.url);";

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('capflow build: esbuild is not installed: dist/cli/main.js stays unbundled (slower start-up)');
}
if (esbuild) {
  for (const entry of entries) {
    const outdir = dirname(entry);
    // The chunks of an earlier build (their names carry a hash of their contents; tsc's never do).
    for (const f of readdirSync(outdir)) if (/^[a-z-]+-[A-Z0-9]{8}\.js$/.test(f)) rmSync(join(outdir, f));
    const result = await esbuild.build({
      entryPoints: { [basename(entry, '.js')]: entry },
      outdir,
      allowOverwrite: true,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external: ['yargs'],
      banner: { js: REQUIRE_BANNER },
      chunkNames: '[name]-[hash]',
      logLevel: 'warning',
      metafile: true,
    });
    // esbuild puts the banner on every chunk; only the one with its CommonJS shim (`__require`)
    // uses it. Creating a require function costs each of the twenty-odd chunks a run loads.
    for (const out of Object.keys(result.metafile.outputs)) {
      if (!out.endsWith('.js')) continue;
      const file = join(root, out.startsWith('/') ? relative(root, out) : out);
      const text = readFileSync(file, 'utf8');
      if (!text.startsWith(REQUIRE_BANNER)) continue;
      const rest = text.slice(REQUIRE_BANNER.length);
      if (!/\brequire\b/.test(rest)) writeFileSync(file, rest.replace(/^\n/, ''));
    }
  }
}
chmodSync(entries[0], 0o755);
