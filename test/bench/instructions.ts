/**
 * npm run bench:instructions: what one packet costs capflow in instructions, per workload and per
 * function, counted by callgrind (valgrind). Seconds on a shared VM swing by 2x from run to run;
 * instruction counts of the same build on the same input do not, so two builds compare in one
 * short run. Each workload (workloads.ts, the bench's cases) runs on a generated input of --size
 * and of three times that; the difference divided by the packets between is the cost of one more
 * packet, start-up and warm-up cancelled out (callgrind.ts). Kernel work (the file reads and
 * writes) is not counted: an instruction ratio is not a time ratio.
 *
 *   npm run bench:instructions                              # the workloads below, 100M and 300M inputs
 *   npm run bench:instructions -- --only general,decap --top 20
 *   npm run bench:instructions -- --before OLD/dist/cli/main.js   # an older build beside this one
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchOptions, parseSize, usageError } from './args.js';
import { countsByFunction, PerfMap, perPacket, type PerPacket } from './callgrind.js';
import { generate, type InputKind } from './generate.js';
import { WORKLOADS, type Workload } from './workloads.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'dist', 'cli', 'main.js');
/** The workloads run when --only is not given: every one whose time a goal of the bench judges. */
const DEFAULT = ['copy', 'general', 'mpls', 'encap', 'fragment', 'copy-vxlan', 'copy-vxlan-ng', 'general-vxlan', 'decap', 'checksum', 'copy-tso', 'gso'];
/**
 * node's flags under callgrind: the map of its compiled code, and --predictable, under which V8
 * compiles and collects garbage on the main thread: the counts then repeat to the instruction
 * (with compilation on a helper thread, which functions got inlined varied with its timing, and
 * the same build's count per packet by ±10 % from run to run).
 */
const V8_FLAGS = ['--perf-basic-prof', '--predictable'];

const USAGE = `usage: npm run bench:instructions -- [options]
  --size N      the smaller input (decimal units: 100M, 1G); the larger is three times it (default 100M)
  --only W,W    workloads: ${WORKLOADS.map((w) => w.id).join(' ')}
                (default: ${DEFAULT.join(' ')})
  --before CLI  also count an older build's dist/cli/main.js
  --top N       functions listed per workload (default 12)
  --jobs N      callgrind runs at a time (default: the CPU count, at most 4)`;

const opts = benchOptions(process.argv.slice(2), { size: 'string', only: 'string', before: 'string', top: 'string', jobs: 'string' }, USAGE);
const whole = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : usageError(`bench:instructions: --${name} takes a whole number ≥ 1, not "${v}"`, USAGE);
};
let size: number;
try {
  size = parseSize((opts.size as string | undefined) ?? '100M');
} catch (e) {
  usageError(`bench:instructions: ${(e as Error).message}`, USAGE);
}
const top = whole('top', opts.top as string | undefined, 12);
const jobs = whole('jobs', opts.jobs as string | undefined, Math.min(4, cpus().length));
const ids = (opts.only as string | undefined)?.split(',') ?? DEFAULT;
for (const id of ids) if (!WORKLOADS.some((w) => w.id === id)) usageError(`bench:instructions: no workload "${id}"`, USAGE);
const before = opts.before as string | undefined;
if (before !== undefined && !existsSync(before)) usageError(`bench:instructions: --before ${before}: no such file (an older checkout's dist/cli/main.js)`, USAGE);
for (const tool of ['valgrind', 'callgrind_annotate']) {
  // callgrind_annotate --version exits 255 after printing it: only a missing program counts.
  if (spawnSync(tool, ['--version']).error !== undefined) usageError(`bench:instructions: needs ${tool} (Debian package valgrind)`, USAGE);
}
if (!existsSync(cli)) usageError('bench:instructions: no build: run `npm run build` first (npm run bench:instructions does)', USAGE);

interface Counted {
  total: number;
  byFunction: Map<string, number>;
  packets: number;
}

/** One run of `build` on `input` under callgrind, counted by function. */
async function count(build: string, w: Workload, input: string, packets: number, dir: string, tag: string): Promise<Counted> {
  const out = join(dir, `${tag}.callgrind`);
  const output = join(dir, `${tag}.${w.outExt}`);
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, ...V8_FLAGS, build, 'run', input, '-o', output, '--no-progress', ...w.args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  // V8 writes the map of its code here, named by the process id (valgrind runs node in its own process).
  const mapFile = `/tmp/perf-${child.pid}.map`;
  try {
    if (code !== 0) throw new Error(`${w.id}: capflow under callgrind exited with ${code}:\n${stderr.split('\n').filter((l) => !l.startsWith('==')).join('\n')}`);
    const map = existsSync(mapFile) ? new PerfMap(readFileSync(mapFile, 'utf8')) : null;
    const annotated = spawnSync('callgrind_annotate', ['--threshold=100', out], { encoding: 'utf8', maxBuffer: 256 << 20 });
    if (annotated.status !== 0) throw new Error(`callgrind_annotate failed: ${annotated.stderr}`);
    return { ...countsByFunction(annotated.stdout, map), packets };
  } finally {
    rmSync(mapFile, { force: true });
    rmSync(out, { force: true });
    rmSync(output, { force: true });
  }
}

/** Run `tasks` at most `n` at a time. */
async function pool<T>(tasks: (() => Promise<T>)[], n: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
  return results;
}

/** `name (chunk.js:123)` without its line, which moves from build to build. */
const withoutLine = (name: string): string => name.replace(/(\.m?js):\d+\)$/, '$1)');

/** A build's functions by name, and by name without line where that is unique in the build. */
function sameFunctions(functions: PerPacket['functions']): Map<string, number> {
  const byName = new Map(functions.map((f) => [f.name, f.perPacket]));
  const count = new Map<string, number>();
  for (const f of functions) count.set(withoutLine(f.name), (count.get(withoutLine(f.name)) ?? 0) + 1);
  for (const f of functions) if (count.get(withoutLine(f.name)) === 1) byName.set(withoutLine(f.name), f.perPacket);
  return byName;
}

const fmt = (v: number): string => Math.round(v).toLocaleString('en-US');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'capflow-instructions-'));
  try {
    const chosen = ids.map((id) => WORKLOADS.find((w) => w.id === id)!);
    const kinds = [...new Set(chosen.map((w) => w.input))];
    const inputs = new Map<InputKind, { small: string; large: string; smallPackets: number; largePackets: number }>();
    for (const k of kinds) {
      const small = join(dir, `${k}-small.pcap`);
      const large = join(dir, `${k}-large.pcap`);
      const s = generate(k, small, size);
      const l = generate(k, large, 3 * size);
      inputs.set(k, { small, large, smallPackets: s.packets, largePackets: l.packets });
    }
    const builds: [string, string][] = [['now', cli]];
    if (before !== undefined) builds.push(['before', before]);
    console.log(`capflow bench:instructions: ${(size / 1e6).toFixed(0)} MB and ${((3 * size) / 1e6).toFixed(0)} MB inputs, ${chosen.length} workloads, ${builds.length} build(s), ${jobs} at a time`);
    const tasks: (() => Promise<Counted>)[] = [];
    const slots: { w: Workload; build: string; large: boolean }[] = [];
    for (const w of chosen) {
      const inp = inputs.get(w.input)!;
      for (const [name, path] of builds) {
        for (const large of [false, true]) {
          const tag = `${w.id}-${name}-${large ? 'large' : 'small'}`;
          slots.push({ w, build: name, large });
          tasks.push(async () => {
            const c = await count(path, w, large ? inp.large : inp.small, large ? inp.largePackets : inp.smallPackets, dir, tag);
            process.stdout.write(`  ${tag}: ${fmt(c.total)} instructions\n`);
            return c;
          });
        }
      }
    }
    const counted = await pool(tasks, jobs);
    const result = new Map<string, PerPacket>();
    for (const w of chosen) {
      for (const [name] of builds) {
        const at = (large: boolean): Counted => counted[slots.findIndex((s) => s.w === w && s.build === name && s.large === large)]!;
        result.set(`${w.id}@${name}`, perPacket(at(false), at(true)));
      }
    }

    console.log('');
    console.log(`| workload | input | instructions per packet | × its reference (the bench's)${before ? ' | before | now/before' : ''} |`);
    console.log(`|---|---|---|---${before ? '|---|---' : ''}|`);
    for (const w of chosen) {
      const now = result.get(`${w.id}@now`)!;
      const ref = w.ref !== undefined ? result.get(`${w.ref}@now`) : undefined;
      const ratio = ref ? `${(now.total / ref.total).toFixed(2)}× ${w.ref}` : '';
      const b = result.get(`${w.id}@before`);
      console.log(`| ${w.label} | ${w.input} | ${fmt(now.total)} | ${ratio}${b ? ` | ${fmt(b.total)} | ${(now.total / b.total).toFixed(3)}` : ''} |`);
    }
    for (const w of chosen) {
      const now = result.get(`${w.id}@now`)!;
      const b = result.get(`${w.id}@before`);
      console.log('');
      console.log(`${w.label}: ${fmt(now.total)} instructions per packet${b ? ` (before: ${fmt(b.total)})` : ''}`);
      const beforeOf = b ? sameFunctions(b.functions) : new Map<string, number>();
      const nowOf = sameFunctions(now.functions);
      for (const f of now.functions.slice(0, top)) {
        // By name and line, else by name where the name is unique in both builds.
        const bf = beforeOf.get(f.name) ?? (nowOf.has(withoutLine(f.name)) ? beforeOf.get(withoutLine(f.name)) : undefined);
        console.log(`  ${fmt(f.perPacket).padStart(7)}${b ? `  ${bf !== undefined ? fmt(bf).padStart(7) : '      –'}` : ''}  ${f.name}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
