/**
 * V8 code caches for the binary's chunks (Node 20 has no `module.enableCompileCache`): a chunk
 * such as the run chunk is compiled from its cache, `<chunk>.v8cache` beside it, instead of from
 * its source. The build writes the caches (cli/bundle.mjs: two short runs, a plain copy and one
 * with a pipeline, so that the caches hold the functions a run compiles, not only the chunks' top
 * level). On a run of one packet this saved about 11 ms of some 150 (the run chunk's compilation:
 * 11 ms without its cache, 6 with it, and the functions compiled during the run).
 *
 * V8 checks a cache before it uses it (its version, the flags of this process, the source's
 * length, the cache's own length) and rejects one that does not fit: the chunk is then compiled
 * from its source as if there were no cache. It does not check every byte (a cache damaged inside
 * can crash the process, as a damaged chunk would break it): caches are written whole, by rename.
 * A chunk's name carries the hash of its contents, so a rebuilt chunk never meets an older chunk's
 * cache. Only the bundle's own chunks are concerned; everything else (and a chunk without a
 * cache) loads as Node loads it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';
import { Script } from 'node:vm';

/** The bundle's chunk files (cli/bundle.mjs: `name.hash.js`). */
const CHUNK = /^[a-z-]+\.[A-Za-z0-9_-]{8}\.js$/;
/** What a chunk's cache adds to its name (cli/bundle.mjs removes them with old chunks). */
const CACHE_SUFFIX = '.v8cache';

type Loader = (module: NodeJS.Module, filename: string) => void;

/**
 * Load the chunks of `dir` through their code caches from now on. With `record` (the build), every
 * chunk is loaded that way, cache or not, and its cache is written when the process exits. With
 * CAPFLOW_DEBUG set, each chunk's cache is reported on stderr at exit: used, rejected, or (when
 * recording) none.
 */
export function useCodeCaches(dir: string, record = false): void {
  const require = createRequire(`${dir}/`);
  const extensions = (require('node:module') as { _extensions: Record<string, Loader> })._extensions;
  const plain = extensions['.js']!;
  const loaded: [filename: string, script: Script][] = [];
  const debug = Boolean(process.env['CAPFLOW_DEBUG']);
  extensions['.js'] = (module, filename) => {
    if (dirname(filename) !== dir || !CHUNK.test(basename(filename))) return plain(module, filename);
    let cachedData: Buffer | undefined;
    try {
      cachedData = readFileSync(filename + CACHE_SUFFIX);
    } catch {
      if (!record) return plain(module, filename);
    }
    const source = readFileSync(filename, 'utf8');
    // A script compiled here has no loader for import() (Node 20): such a chunk loads as usual.
    if (source.includes('import(')) return plain(module, filename);
    // Node's own module wrapper.
    const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n});`, { filename, cachedData });
    if (record || debug) loaded.push([filename, script]);
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    wrapper.call(module.exports, module.exports, createRequire(filename), module, filename, dir);
  };
  if (record || debug) {
    process.on('exit', () => {
      for (const [filename, script] of loaded) {
        if (debug) process.stderr.write(`capflow: code cache of ${basename(filename)}: ${script.cachedDataRejected === false ? 'used' : script.cachedDataRejected ? 'rejected' : 'none'}\n`);
        if (record) {
          // Whole or not at all: V8 checks a cache's header, not every byte of it.
          writeFileSync(filename + CACHE_SUFFIX + '.tmp', script.createCachedData());
          renameSync(filename + CACHE_SUFFIX + '.tmp', filename + CACHE_SUFFIX);
        }
      }
    });
  }
}
