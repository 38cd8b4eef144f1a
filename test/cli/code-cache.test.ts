/**
 * The binary's V8 code caches (cli/code-cache.ts, written by the build): a run compiles its chunks
 * from them, and a cache that does not fit (cut short, another chunk's, other V8 flags, missing)
 * costs only the time: the run is the same, byte for byte. Observed through CAPFLOW_DEBUG's report, never by timing.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCli, haveBuild, repoRoot, samplesDir } from './built-cli.js';

const cliDir = join(repoRoot, 'dist', 'cli');
const bundled = haveBuild && existsSync(join(cliDir, 'package.json'));
const runChunk = bundled ? readdirSync(cliDir).find((f) => /^run-core\.[A-Za-z0-9_-]{8}\.js$/.test(f)) : undefined;
const STAGE = 'mpls-push:labels=[{label: 100, ttl: 64}]';

/** Run a binary (a main.js) with CAPFLOW_DEBUG on: exit status, output bytes and the cache report. */
function debugRun(main: string, out: string, stages: string[] = [], nodeFlags: string[] = []): { status: number | null; output: Buffer; report: Record<string, string>; stderr: string } {
  const args = ['run', join(samplesDir, 'tso-host.pcap'), '-o', out, ...stages.flatMap((s) => ['--stage', s])];
  const r = spawnSync(process.execPath, [...nodeFlags, main, ...args], { encoding: 'utf8', env: { ...process.env, CAPFLOW_DEBUG: '1' } });
  const report: Record<string, string> = {};
  for (const m of r.stderr.matchAll(/^capflow: code cache of ([^:]+): (\w+)$/gm)) report[m[1]!] = m[2]!;
  return { status: r.status, output: existsSync(out) ? readFileSync(out) : Buffer.alloc(0), report, stderr: r.stderr };
}

describe.skipIf(!bundled)('code caches of the bundled binary', () => {
  let work: string;
  /** A copy of dist/cli inside dist/ (so that yargs still resolves), caches and all. */
  let copy: string;
  beforeAll(() => {
    work = mkdtempSync(join(repoRoot, 'dist', '.code-cache-test-'));
    copy = join(work, 'cli');
    spawnSync('cp', ['-r', cliDir, copy]);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('the build wrote one for each chunk a run loads, and a run uses them', () => {
    expect(runChunk).toBeDefined();
    const plain = debugRun(builtCli, join(work, 'plain.pcap'));
    expect(plain.status).toBe(0);
    expect(plain.report).toEqual({ [runChunk!]: 'used' });
    const staged = debugRun(builtCli, join(work, 'staged.pcap'), [STAGE]);
    expect(staged.status).toBe(0);
    expect(staged.report[runChunk!]).toBe('used');
    // The validator with the stages, and the zod and yaml packages.
    const others = Object.entries(staged.report).filter(([f]) => f !== runChunk);
    expect(others.map(([f]) => f.split('.')[0]).sort()).toEqual(['config', 'yaml', 'zod']);
    for (const [, state] of others) expect(state).toBe('used');
  });

  it("a cache that does not fit (cut short, another chunk's, made under other V8 flags) is rejected and the run is the same byte for byte", () => {
    const reference = debugRun(builtCli, join(work, 'reference.pcap'), [STAGE]);
    expect(reference.status).toBe(0);
    const copied = join(copy, 'main.js');
    const cache = join(copy, `${runChunk!}.v8cache`);
    const good = readFileSync(cache);
    // Cut short (a write that never finished).
    writeFileSync(cache, good.subarray(0, good.length >>> 1));
    const a = debugRun(copied, join(work, 'short.pcap'), [STAGE]);
    expect(a.status).toBe(0);
    expect(a.report[runChunk!]).toBe('rejected');
    expect(a.output.equals(reference.output)).toBe(true);
    // Another chunk's cache under this chunk's name: a sound cache of other code.
    const config = readdirSync(copy).find((f) => /^config\.[A-Za-z0-9_-]{8}\.js\.v8cache$/.test(f))!;
    copyFileSync(join(copy, config), cache);
    const b = debugRun(copied, join(work, 'other.pcap'), [STAGE]);
    expect(b.status).toBe(0);
    expect(b.report[runChunk!]).toBe('rejected');
    expect(b.output.equals(reference.output)).toBe(true);
    // Its own cache, in a process whose V8 flags differ from the build's.
    writeFileSync(cache, good);
    const c = debugRun(copied, join(work, 'flags.pcap'), [STAGE], ['--no-lazy-feedback-allocation']);
    expect(c.status).toBe(0);
    expect(c.report[runChunk!]).toBe('rejected');
    expect(c.output.equals(reference.output)).toBe(true);
    expect(debugRun(copied, join(work, 'again.pcap'), [STAGE]).report[runChunk!]).toBe('used');
  });

  it('without caches the chunks load as Node loads them, with the same result', () => {
    const reference = debugRun(builtCli, join(work, 'reference2.pcap'), [STAGE]);
    for (const f of readdirSync(copy)) if (f.endsWith('.v8cache')) rmSync(join(copy, f));
    const r = debugRun(join(copy, 'main.js'), join(work, 'nocache.pcap'), [STAGE]);
    expect(r.status).toBe(0);
    expect(r.report).toEqual({});
    expect(r.output.equals(reference.output)).toBe(true);
  });
});
