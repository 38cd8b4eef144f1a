#!/usr/bin/env node
/**
 * The last step of `npm run build`: the `capflow` binary (dist/cli/main.js, as tsc wrote it) is
 * bundled in place with rollup, so that starting it reads a few files instead of some seventy
 * modules. Each file Node's ES module loader reads costs a resolution, an open, a read and a
 * close in its thread pool, and a compile: on a short run the hand-offs to the pool (some fifteen
 * context switches a file) weighed more than the code.
 *
 * The binary's folder is CommonJS (dist/cli/package.json says so; the bundle replaces what tsc
 * wrote there): a run's two files are read by require(), synchronously, and Node's ES module loader
 * (its own internals to load, and thread-pool reads) is started only for yargs, when yargs is
 * needed. The batch worker stays an ES module.
 *
 * The chunks:
 * - main.js: the entry with what every command needs (arguments, stdout, exit status);
 * - `run-core-<hash>.js`: everything else a run reaches through static imports from the run
 *   command (reader, writers, the pipeline with its egress, NIC profiles, the run loop), as one
 *   file; other commands that use part of it load it whole;
 * - the pipeline validator with its stages, the batch, every other command: chunks loaded on
 *   demand, as they are unbundled;
 * - `zod-<hash>.js` and `yaml-<hash>.js`: the npm packages, bundled, each one chunk, loaded when a
 *   pipeline is validated or a pipeline file or --stage value needs YAML (loading zod from its
 *   package resolved some 230 modules; requiring yaml's sixty-odd CommonJS modules took over
 *   100 ms). yargs stays external: it reads its locale files from its own folder.
 * Chunks sit next to main.js, so the paths the code finds from its own place (package.json, the
 * Wireshark files, the batch worker) resolve as before. The batch worker (each worker thread's
 * start) is bundled the same way, in its own folder; the library (dist/pipeline) stays as tsc
 * wrote it.
 *
 * CAPFLOW_BUNDLE_REPORT=1 npm run build prints each chunk with the modules it holds.
 *
 * Without rollup (a build from the sources with production dependencies only) the unbundled
 * binary is kept: it is the same program, slower to start.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
/**
 * Entry points bundled in place: the binary and the batch worker. `groups`: chunks made of the
 * code a dynamic import target reaches through static imports (less what an earlier group or the
 * entry has), each one file however many modules it holds.
 */
const builds = [
  { entry: join(dist, 'cli', 'main.js'), format: 'cjs', groups: [['run-core', join(dist, 'cli', 'run-action.js')], ['config', join(dist, 'pipeline', 'config.js')]] },
  { entry: join(dist, 'pipeline', 'batch', 'worker.js'), format: 'es', groups: [['config', join(dist, 'pipeline', 'config.js')]] },
];
/** What a chunk's code cache adds to its name (cli/code-cache.ts). */
const CODE_CACHE = '.v8cache';
/** Names of the chunks this script writes (`name.hash.js`: tsc's files never have two dots and a .js). */
const CHUNK = /^[a-z-]+\.[A-Za-z0-9_-]{8}\.js$/;

// What marks the bundle's folder CommonJS goes first: without rollup, tsc's files there are the program.
rmSync(join(dist, 'cli', 'package.json'), { force: true });

let rollup;
let nodeResolve;
let commonjs;
try {
  ({ rollup } = await import('rollup'));
  ({ nodeResolve } = await import('@rollup/plugin-node-resolve'));
  ({ default: commonjs } = await import('@rollup/plugin-commonjs'));
} catch {
  console.warn('capflow build: rollup is not installed: dist/cli/main.js stays unbundled (slower start-up)');
}

/** Node's own modules and yargs stay imports. */
const builtins = new Set(builtinModules);
const external = (id) => id.startsWith('node:') || builtins.has(id) || id === 'yargs' || id.startsWith('yargs/');

/** The modules `from` reaches through static imports (its static closure), as rollup sees them. */
function staticClosure(getModuleInfo, from) {
  const seen = new Set();
  const todo = [from];
  while (todo.length > 0) {
    const id = todo.pop();
    if (seen.has(id)) continue;
    seen.add(id);
    const info = getModuleInfo(id);
    if (info) todo.push(...info.importedIds.filter((i) => !external(i)));
  }
  return seen;
}

if (rollup) {
  for (const { entry, format, groups } of builds) {
    const outdir = dirname(entry);
    /** Module id → the chunk it goes into (computed on the first call: the module graph is complete by then). */
    let chunkOf = null;
    const bundle = await rollup({
      input: entry,
      external,
      // main.js may export what its chunks import from it: no second file in front of it.
      preserveEntrySignatures: 'allow-extension',
      plugins: [nodeResolve({ preferBuiltins: true, exportConditions: ['node'] }), commonjs()],
      onwarn(w, warn) {
        // capflow's modules import each other in cycles (types and values across stages); yaml's build has `this` at the top.
        if (w.code === 'CIRCULAR_DEPENDENCY' || w.code === 'THIS_IS_UNDEFINED') return;
        warn(w);
      },
    });
    // The chunks of an earlier build, and their code caches.
    for (const f of readdirSync(outdir)) if (CHUNK.test(f) || f.endsWith(CODE_CACHE)) rmSync(join(outdir, f));
    const { output } = await bundle.write({
      dir: outdir,
      format,
      entryFileNames: '[name].js',
      chunkFileNames: '[name].[hash].js',
      manualChunks(id, { getModuleInfo }) {
        if (id.includes('/node_modules/zod/')) return 'zod';
        if (id.includes('/node_modules/yaml/')) return 'yaml';
        if (!chunkOf) {
          chunkOf = new Map();
          // The entry's own closure stays with it (rollup would pull what a group imports into the group).
          for (const m of staticClosure(getModuleInfo, entry)) chunkOf.set(m, basename(entry, '.js'));
          for (const [name, from] of groups) for (const m of staticClosure(getModuleInfo, from)) if (!chunkOf.has(m)) chunkOf.set(m, name);
        }
        return chunkOf.get(id);
      },
      // Which package files a chunk holds, as a comment at its head (tests read it).
      banner: (chunk) =>
        Object.entries(chunk.modules)
          .filter(([m, info]) => m.includes('/node_modules/') && info.renderedLength > 0)
          .map(([m]) => `// ${m.slice(m.lastIndexOf('/node_modules/') + 1)}`)
          .join('\n'),
      // The rest as rollup splits it, tiny shared pieces merged into a neighbour.
      experimentalMinChunkSize: 20_000,
    });
    if (process.env.CAPFLOW_BUNDLE_REPORT) for (const c of output) if (c.type === 'chunk') console.log(c.fileName, Object.entries(c.modules).map(([m, i]) => `${m.replace(root, '')}:${i.renderedLength}`).join(' '));
    await bundle.close();
    if (format === 'cjs') {
      // The folder's .js files are CommonJS now: the bundle replaces what tsc wrote there.
      const written = new Set(output.map((o) => o.fileName));
      for (const f of readdirSync(outdir, { recursive: true })) {
        if (/\.js(\.map)?$/.test(f) && !written.has(f)) rmSync(join(outdir, f));
      }
      writeFileSync(join(outdir, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
    }
  }
}
chmodSync(builds[0].entry, 0o755);

/**
 * The binary's code caches (cli/code-cache.ts): a plain copy of a bundled sample, then a run with
 * the re-origination pipeline (YAML, validation, stages, the egress), with
 * CAPFLOW_BUILD_CODE_CACHE=1: each writes, for every chunk it loaded, the code V8 compiled for it,
 * the second starting from the first's. A failure only costs the caches (a slower start).
 */
if (rollup) {
  const tmp = mkdtempSync(join(tmpdir(), 'capflow-build-'));
  try {
    for (const args of [
      ['run', join(root, 'samples', 'tso-host.pcap'), '-o', join(tmp, 'copy.pcap')],
      ['run', join(root, 'samples', 'vxlan-mixed.pcapng'), '--pipeline', join(root, 'samples', 'reencap.yaml'), '-o', join(tmp, 'reencap.pcapng')],
    ]) {
      const r = spawnSync(process.execPath, [builds[0].entry, ...args], { env: { ...process.env, CAPFLOW_BUILD_CODE_CACHE: '1' }, encoding: 'utf8' });
      if (r.status !== 0) {
        console.warn(`capflow build: no code caches (the training run failed: ${r.stderr || r.error})`);
        for (const f of readdirSync(dirname(builds[0].entry))) if (f.endsWith(CODE_CACHE)) rmSync(join(dirname(builds[0].entry), f));
        break;
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
