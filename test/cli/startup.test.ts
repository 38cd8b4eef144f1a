/**
 * Start-up loads only what the command needs: `capflow --version` answers without the argument
 * parser or the validation library, and `capflow run` loads no other command's module. Checked on
 * the built binary through a module-resolution hook (test/helpers/module-log.mjs), never by timing.
 * The binary is bundled (cli/bundle.mjs): a command's code is a chunk named after its module
 * (`run.<hash>.js`), the pipeline validator with the stages one named `config.<hash>.js`;
 * unbundled (no rollup) they are dist/cli/commands/run.js and dist/stages/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildPcap, frame } from '../helpers/pcap-build.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const built = join(root, 'dist', 'cli', 'main.js');
const hook = join(root, 'test', 'helpers', 'module-log.mjs');
const haveBuild = existsSync(built);
if (!haveBuild && process.env.CI === 'true') throw new Error('dist/ is missing: npm install builds it (prepare)');
if (!haveBuild) console.warn('[start-up tests skipped] dist/ is not built (npm run build)');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Run the built CLI with the module log on; returns the result and the modules resolved, each
 * once, as paths (the bundled binary is CommonJS: its chunks are required; yargs and the batch
 * worker are ES modules).
 */
function runLogged(dir: string, args: string[]): { status: number | null; stdout: string; stderr: string; modules: string[]; required: string[] } {
  const log = join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(log, '');
  const r = spawnSync(process.execPath, ['--import', hook, built, ...args], { encoding: 'utf8', env: { ...process.env, CAPFLOW_MODULE_LOG: log } });
  const logged = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const modules = logged.map((m) => (m.startsWith('file:') ? fileURLToPath(m) : m));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, modules: [...new Set(modules)], required: logged.filter((m) => !m.startsWith('file:')) };
}

/**
 * The modules of npm package `name` that were loaded: its own files, or a chunk of the bundle that
 * holds its code (the build bundles zod and yaml; cli/bundle.mjs heads a chunk with the path of
 * each package file in it).
 */
const fromPackage = (modules: string[], name: string): string[] =>
  modules.filter((m) => m.includes(`/node_modules/${name}/`) || (m.includes('/dist/') && new RegExp(`(^|\n)// node_modules/${name}/`).test(readFileSync(m, 'utf8'))));
const COMMANDS = ['run', 'diff', 'info', 'nic', 'replay', 'extcap', 'drops', 'merge-summaries', 'wireshark'];
/** The command modules loaded, as `run.js`: dist/cli/commands/run.js, or the bundle's run-<hash>.js chunk. */
const commandModules = (modules: string[]): string[] =>
  modules
    .map((m) => /\/dist\/cli\/commands\/([a-z-]+\.js)$/.exec(m)?.[1] ?? /\/dist\/cli\/([a-z-]+)\.[A-Za-z0-9_-]{8}\.js$/.exec(m)?.[1]?.concat('.js'))
    .filter((m): m is string => m !== undefined && COMMANDS.includes(m.slice(0, -3)));
/** Stage code loaded: dist/stages/, or the bundle's chunk of the pipeline validator (config.<hash>.js, which holds the stages). */
const stageCode = (modules: string[]): string[] => modules.filter((m) => m.includes('/dist/stages/') || /\/dist\/cli\/config\.[A-Za-z0-9_-]{8}\.js$/.test(m));


describe.skipIf(!haveBuild)('start-up loads only what the command needs', () => {
  it('capflow --version prints the package version without loading yargs or zod', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-startup-'));
    try {
      const r = runLogged(dir, ['--version']);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
      expect(r.modules.some((m) => m.endsWith('/dist/cli/main.js'))).toBe(true);
      expect(fromPackage(r.modules, 'yargs')).toEqual([]);
      expect(fromPackage(r.modules, 'zod')).toEqual([]);
      expect(commandModules(r.modules)).toEqual([]);
      // Through yargs (another argument next to it) the same version.
      const viaYargs = runLogged(dir, ['run', '--version']);
      expect(viaYargs.status).toBe(0);
      expect(viaYargs.stdout.trim()).toBe(version);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a plain run (no pipeline to validate) loads neither yargs, zod, the stages nor a command module, and writes what the full path writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-startup-'));
    try {
      const input = join(dir, 'one.pcap');
      writeFileSync(input, buildPcap({ le: true, records: [{ sec: 1_700_000_000, frac: 0, data: frame(100, 1) }, { sec: 1_700_000_001, frac: 5, data: frame(60, 2) }] }));
      const plain = join(dir, 'plain.pcap');
      const r = runLogged(dir, ['run', input, '-o', plain, '--json', '--no-progress']);
      expect(r.status, r.stderr).toBe(0);
      for (const pkg of ['yargs', 'yargs-parser', 'zod', 'yaml']) expect(fromPackage(r.modules, pkg)).toEqual([]);
      expect(stageCode(r.modules)).toEqual([]);
      expect(commandModules(r.modules)).toEqual([]);
      // Node's modules for gzip, FIFOs, shards and the batch load when one of those is used.
      for (const builtin of ['node:zlib', 'node:crypto', 'node:net', 'node:worker_threads', 'node:timers/promises']) {
        expect(r.modules).not.toContain(builtin);
      }
      // Bundled (rollup is a devDependency: every build from the repository bundles): two of
      // capflow's files, the binary and the run's chunk, not the seventy-odd modules of the
      // unbundled program (each file the loader reads costs thread-pool round trips).
      const own = new Set(r.modules.filter((m) => m.includes('/dist/')));
      expect([...own].map((m) => m.replace(/^.*\/dist\//, '').replace(/\.[A-Za-z0-9_-]{8}\.js$/, '.<hash>.js')).sort()).toEqual(['cli/main.js', 'cli/run-core.<hash>.js']);
      // CommonJS, read by require(): Node's ES module loader (which reads each file through its
      // thread pool) is not started for them.
      expect(r.required.filter((m) => /\/dist\/cli\/run-core\.[A-Za-z0-9_-]{8}\.js$/.test(m))).toHaveLength(1);
      // The same run through yargs (--view=driver changes nothing here and is not the fast
      // path's form): the same output bytes and the same summary.
      const full = join(dir, 'full.pcap');
      const y = runLogged(dir, ['run', input, '-o', full, '--json', '--no-progress', '--view=driver']);
      expect(y.status, y.stderr).toBe(0);
      expect(fromPackage(y.modules, 'yargs')).not.toEqual([]);
      expect(readFileSync(plain)).toEqual(readFileSync(full));
      const summary = (out: string, file: string) => out.replaceAll(file, 'OUT');
      expect(summary(r.stdout, plain)).toBe(summary(y.stdout, full));
      // The batch's workers load no zod either: two files, two jobs.
      const second = join(dir, 'two.pcap');
      writeFileSync(second, readFileSync(input));
      const b = runLogged(dir, ['run', input, second, '--out-dir', join(dir, 'out'), '--jobs', '2', '--no-progress', '--skip-existing']);
      expect(b.status, b.stderr).toBe(0);
      expect(readFileSync(join(dir, 'out', 'two.pcap'))).toEqual(readFileSync(full));
      expect(b.modules.some((m) => m.endsWith('/dist/pipeline/batch/worker.js'))).toBe(true);
      expect(fromPackage(b.modules, 'zod')).toEqual([]);
      expect(stageCode(b.modules)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run into a file creates no stdio stream: its summary goes to fd 2 directly, a --json summary to stdout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-startup-'));
    try {
      const input = join(dir, 'one.pcap');
      writeFileSync(input, buildPcap({ le: true, records: [{ sec: 1_700_000_000, frac: 0, data: frame(100, 1) }] }));
      const hook = join(root, 'test', 'helpers', 'stdio-log.mjs');
      const streams = (args: string[]) => {
        const log = join(dir, `stdio-${Math.random().toString(36).slice(2)}.log`);
        writeFileSync(log, '');
        // stdout and stderr are pipes, as under a pipeline or a test runner: creating either stream loads net.
        const r = spawnSync(process.execPath, ['--import', hook, built, ...args], { encoding: 'utf8', env: { ...process.env, CAPFLOW_STDIO_LOG: log } });
        return { ...r, created: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
      };
      const out = join(dir, 'out.pcap');
      const text = streams(['run', input, '-o', out]);
      expect(text.status, text.stderr).toBe(0);
      expect(text.stderr).toBe(`${out}: 1 in, 1 forwarded, 0 dropped, 1 out\n`);
      expect(text.created).toEqual([]);
      // The same through yargs (its help width reads stdout's columns): the same summary.
      const viaYargs = streams(['run', input, '-o', out, '--view=driver']);
      expect(viaYargs.status, viaYargs.stderr).toBe(0);
      expect(viaYargs.stderr).toBe(text.stderr);
      const json = streams(['run', input, '-o', out, '--json']);
      expect(json.status, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ packetsIn: 1, packetsOut: 1 });
      expect(json.created).toEqual(['stdout']);
      // A capture on stdout: the summary still on fd 2, after the capture is out.
      const toStdout = streams(['run', input, '-o', '-']);
      expect(toStdout.status, toStdout.stderr).toBe(0);
      expect(toStdout.stderr).toBe('-: 1 in, 1 forwarded, 0 dropped, 1 out\n');
      expect(toStdout.created).not.toContain('stderr');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('plain runs that are not that simple still go through yargs, with its errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-startup-'));
    try {
      const input = join(dir, 'one.pcap');
      writeFileSync(input, buildPcap({ le: true, records: [{ sec: 1_700_000_000, frac: 0, data: frame(100, 1) }] }));
      const out = join(dir, 'o.pcap');
      // An unknown option, a repeated -o, a flag given a value: yargs decides (usage errors, exit 2).
      const unknown = runLogged(dir, ['run', input, '-o', out, '--jsno']);
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain('jsno');
      const twice = runLogged(dir, ['run', input, '-o', out, '-o', join(dir, 'p.pcap')]);
      expect(fromPackage(twice.modules, 'yargs')).not.toEqual([]);
      const valued = runLogged(dir, ['run', input, '--json', 'false', '-o', out]);
      expect(valued.status, valued.stderr).toBe(0);
      expect(valued.stdout).toBe('');
      expect(fromPackage(valued.modules, 'yargs')).not.toEqual([]);
      // A --jobs yargs reads as a number the fast path would not: yargs' own error.
      const jobs = runLogged(dir, ['run', input, '--out-dir', join(dir, 'd'), '--jobs', '0x2']);
      expect(fromPackage(jobs.modules, 'yargs')).not.toEqual([]);
      // No output: the usage error yargs' path gives, before anything is written.
      const none = runLogged(dir, ['run', input]);
      expect(none.status).toBe(2);
      expect(none.stderr).toContain('give -o OUT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run with --stage, --pipeline, --nic, --view and --async-io loads no yargs and writes what the yargs path writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-startup-'));
    try {
      const input = join(dir, 'one.pcap');
      writeFileSync(input, buildPcap({ le: true, records: [{ sec: 1_700_000_000, frac: 0, data: frame(100, 1) }, { sec: 1_700_000_001, frac: 7, data: frame(80, 2) }] }));
      const pipelineFile = join(dir, 'p.yaml');
      writeFileSync(pipelineFile, 'stages:\n  - stage: tunnel-key\n    rules: [{set: {vni: 9, dst: 192.0.2.7}}]\n');
      const stages = ['--stage', 'vxlan-encap:src=192.0.2.1,outerEth.src=02:00:00:00:00:01', '-s', 'mpls-pop'];
      const common = ['--pipeline', pipelineFile, ...stages, '--nic', 'none', '--view', 'wire', '--json', '--no-progress', '--async-io'];
      const fast = join(dir, 'fast.pcap');
      const r = runLogged(dir, ['run', input, '-o', fast, ...common]);
      expect(r.status, r.stderr).toBe(0);
      for (const pkg of ['yargs', 'yargs-parser', 'cliui', 'string-width']) expect(fromPackage(r.modules, pkg)).toEqual([]);
      expect(commandModules(r.modules)).toEqual([]);
      // The same through yargs (-p= is not the fast path's form): same bytes, same summary.
      const slow = join(dir, 'slow.pcap');
      const y = runLogged(dir, ['run', input, '-o', slow, ...common.slice(2), `-p=${pipelineFile}`]);
      expect(y.status, y.stderr).toBe(0);
      expect(fromPackage(y.modules, 'yargs')).not.toEqual([]);
      expect(readFileSync(fast)).toEqual(readFileSync(slow));
      const summary = (out: string, file: string) => out.replaceAll(file, 'OUT');
      expect(summary(r.stdout, fast)).toBe(summary(y.stdout, slow));
      expect(JSON.parse(r.stdout).stages.map((s: { name: string }) => s.name)).toEqual(['tunnel-key', 'vxlan-encap', 'mpls-pop', 'egress']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pipeline options the fast path would read differently from yargs go through yargs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-startup-'));
    try {
      const input = join(dir, 'one.pcap');
      writeFileSync(input, buildPcap({ le: true, records: [{ sec: 1_700_000_000, frac: 0, data: frame(100, 1) }] }));
      const out = join(dir, 'o.pcap');
      // yargs takes every word after a --stage value as one more stage: here the input too.
      const greedy = runLogged(dir, ['run', '--stage', 'mpls-pop', input, '-o', out]);
      expect(fromPackage(greedy.modules, 'yargs')).not.toEqual([]);
      expect(greedy.status).toBe(2);
      expect(existsSync(out)).toBe(false);
      // A --view yargs refuses: its choices error.
      const view = runLogged(dir, ['run', input, '-o', out, '--view', 'wir']);
      expect(view.status).toBe(2);
      expect(view.stderr).toContain('Choices');
      // --nic given twice: yargs makes it a list, which the run refuses.
      const twice = runLogged(dir, ['run', input, '-o', out, '--nic', 'none', '--nic', 'none']);
      expect(fromPackage(twice.modules, 'yargs')).not.toEqual([]);
      expect(twice.status).toBe(2);
      expect(existsSync(out)).toBe(false);
      // A stage without a value: yargs reads no stage (a plain copy).
      const bare = runLogged(dir, ['run', input, '-o', out, '--stage']);
      expect(fromPackage(bare.modules, 'yargs')).not.toEqual([]);
      expect(bare.status, bare.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('capflow run loads the run command only; help and typos still see every command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-startup-'));
    try {
      const input = join(dir, 'one.pcap');
      writeFileSync(input, buildPcap({ le: true, records: [{ sec: 1_700_000_000, frac: 0, data: frame(100, 1) }] }));
      const out = join(dir, 'out.pcap');
      // Through yargs (--stage=SPEC is not the fast path's form): the run command's module only.
      const r = runLogged(dir, ['run', input, '-o', out, '--stage=mpls-push:labels=[{label: 100, ttl: 64}]']);
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(out)).toBe(true);
      expect(fromPackage(r.modules, 'yargs')).not.toEqual([]);
      expect(commandModules(r.modules)).toEqual(['run.js']);
      expect(stageCode(r.modules)).not.toEqual([]);
      expect(fromPackage(r.modules, 'zod')).not.toEqual([]);

      const help = runLogged(dir, ['--help']);
      expect(help.status).toBe(0);
      for (const c of ['run', 'diff', 'info', 'nic', 'replay', 'extcap', 'merge-summaries']) expect(help.stdout).toContain(`capflow ${c} `);
      const typo = runLogged(dir, ['rnu', input]);
      expect(typo.status).toBe(2);
      expect(typo.stderr).toContain('Did you mean run?');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('zod and yaml come from the bundle: yaml only when a pipeline file or a --stage value needs it, no module of either package resolved', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-startup-'));
    try {
      const input = join(dir, 'one.pcap');
      writeFileSync(input, buildPcap({ le: true, records: [{ sec: 1_700_000_000, frac: 0, data: frame(100, 1) }] }));
      const ownFiles = (modules: string[], name: string) => modules.filter((m) => m.includes(`/node_modules/${name}/`));
      // Plain values (an integer, a bare stage): zod to validate, no YAML read.
      const plain = runLogged(dir, ['run', input, '-o', join(dir, 'a.pcap'), '--stage', 'vxlan-decap', '--stage', 'gso:mtu=9000']);
      expect(plain.status, plain.stderr).toBe(0);
      expect(fromPackage(plain.modules, 'zod')).not.toEqual([]);
      expect(ownFiles(plain.modules, 'zod')).toEqual([]);
      // Only what capflow uses of zod (a namespace import): not its forty-odd locales.
      const zodCode = fromPackage(plain.modules, 'zod').map((m) => readFileSync(m, 'utf8')).join('');
      expect(zodCode).toContain('// node_modules/zod/v4/locales/en.js');
      expect(zodCode).not.toContain('// node_modules/zod/v4/locales/fr.js');
      expect(fromPackage(plain.modules, 'yaml')).toEqual([]);
      // A flow-style value, and a pipeline file: yaml's code, from the bundle's chunk.
      const flow = join(dir, 'b.pcap');
      const spec = runLogged(dir, ['run', input, '-o', flow, '--stage', 'mpls-push:labels=[{label: 100, ttl: 64}]']);
      expect(spec.status, spec.stderr).toBe(0);
      expect(fromPackage(spec.modules, 'yaml')).not.toEqual([]);
      expect(ownFiles(spec.modules, 'yaml')).toEqual([]);
      expect(ownFiles(spec.modules, 'zod')).toEqual([]);
      const pipelineFile = join(dir, 'p.yaml');
      writeFileSync(pipelineFile, 'stages:\n  - stage: mpls-push\n    labels: [{label: 100, ttl: 64}]\n');
      const fromFile = join(dir, 'c.pcap');
      const file = runLogged(dir, ['run', input, '-o', fromFile, '--pipeline', pipelineFile]);
      expect(file.status, file.stderr).toBe(0);
      expect(fromPackage(file.modules, 'yaml')).not.toEqual([]);
      expect(ownFiles(file.modules, 'yaml')).toEqual([]);
      // The same label either way (YAML read right).
      expect(readFileSync(fromFile)).toEqual(readFileSync(flow));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
