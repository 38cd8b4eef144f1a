/**
 * The instruction-count instrument (npm run bench:instructions, callgrind.ts) and the bench
 * scripts' strict options. Naming: V8's code map names callgrind's bare addresses, the last code
 * written at an address wins, names keep across tiers and builds. Counting: one more packet's
 * cost is the difference of two runs. End to end: the script under valgrind names capflow's own
 * functions. Options: a typo stops either script before it generates any input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { countsByFunction, PerfMap, perPacket, readableName } from './callgrind.js';
import { parseSize } from './args.js';
import { toolGate } from '../cli/cli-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'capflow-instr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run a bench script with `args`, its temporary files in a folder of its own; returns what it left there too. */
function script(name: string, args: string[], timeout = 30_000): { status: number | null; stdout: string; stderr: string; left: string[] } {
  const tmp = mkdtempSync(join(dir, 'tmp-'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, name), ...args], { encoding: 'utf8', timeout, env: { ...process.env, TMPDIR: tmp } });
  // tsx keeps its compile cache there (tsx-N): not the script's.
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, left: readdirSync(tmp).filter((f) => !f.startsWith('tsx-')) };
}

describe('callgrind counts by function', () => {
  it('names an address by the last map entry that covers it', () => {
    const map = new PerfMap(['1000 100 JS:^decode /a/dist/cli/run-core.abcdEF12.js:10:3', '2000 40 Builtin:RecordWriteSaveFP', '1000 80 JS:*decode /a/dist/cli/run-core.abcdEF12.js:10:3', 'not a map line'].join('\n'));
    expect(map.nameAt(0x1000)).toBe('JS:*decode /a/dist/cli/run-core.abcdEF12.js:10:3');
    // Past the later, shorter entry: only the first covers it.
    expect(map.nameAt(0x1090)).toBe('JS:^decode /a/dist/cli/run-core.abcdEF12.js:10:3');
    expect(map.nameAt(0x2027)).toBe('Builtin:RecordWriteSaveFP');
    expect(map.nameAt(0x2040)).toBeUndefined();
    expect(map.nameAt(0xfff)).toBeUndefined();
    // Code written later over a range that starts lower wins over the nearer, older start.
    const moved = new PerfMap('1000 100 JS:*old /a/x.js:1:1\n0f80 200 JS:*new /a/x.js:2:1\n');
    expect(moved.nameAt(0x1050)).toBe('JS:*new /a/x.js:2:1');
  });

  it('keeps a function one name across tiers and builds', () => {
    expect(readableName('JS:*processInto /x/dist/cli/run-core.tlrOGs2e.js:5871:16')).toBe('processInto (run-core.js:5871)');
    expect(readableName('JS:^processInto /y/dist/cli/run-core.Ab-_9zzz.js:5871:16')).toBe('processInto (run-core.js:5871)');
    expect(readableName('JS:~remember /x/dist/cli/main.js:205:18')).toBe('remember (main.js:205)');
    expect(readableName('JS:*get truncated /x/dist/cli/run-core.tlrOGs2e.js:493:18')).toBe('get truncated (run-core.js:493)');
    expect(readableName('JS:*Listener node:internal/event_target:449:14')).toBe('JS:*Listener node:internal/event_target:449:14');
    expect(readableName('JS:wasm-function[1]-1-turbofan')).toBe('WebAssembly wasm-function[1]');
    expect(readableName('Builtin:LoadIC')).toBe('Builtins_LoadIC');
  });

  it('reads callgrind_annotate output, addresses named through the map', () => {
    const map = new PerfMap('d076340 400 JS:*processInto /x/dist/cli/run-core.tlrOGs2e.js:5871:16\n');
    const text = [
      '--------------------------------------------------------------------------------',
      '1,406,016,380 (100.0%)  PROGRAM TOTALS',
      '--------------------------------------------------------------------------------',
      'Ir                   file:function',
      '35,380,240 ( 2.52%)  ./malloc/./malloc/malloc.c:_int_free [/usr/lib/x86_64-linux-gnu/libc.so.6]',
      '33,530,484 ( 2.38%)  ???:0x000000000d076340 [???]',
      '   100,000 ( 0.01%)  ???:0x000000000d076400\'2 [???]',
      '    12,345 ( 0.00%)  ???:0x0000000000000010 [???]',
      '29,386,369 ( 2.09%)  ???:Builtins_LoadIC [/usr/bin/node]',
      '    27,210 ( 0.00%)  ???:v8::internal::Scanner::Next() [/usr/bin/node]',
    ].join('\n');
    const { total, byFunction } = countsByFunction(text, map);
    expect(total).toBe(1_406_016_380);
    expect(byFunction.get('processInto (run-core.js:5871)')).toBe(33_630_484);
    expect(byFunction.get('(JIT code, unnamed)')).toBe(12_345);
    expect(byFunction.get('_int_free')).toBe(35_380_240);
    expect(byFunction.get('Builtins_LoadIC')).toBe(29_386_369);
    expect(byFunction.get('v8::internal::Scanner::Next()')).toBe(27_210);
  });

  it('costs one more packet as the difference of two runs', () => {
    const small = { total: 1000, packets: 10, byFunction: new Map([['start-up', 900], ['decode', 100]]) };
    const large = { total: 1600, packets: 30, byFunction: new Map([['start-up', 900], ['decode', 300], ['write', 400]]) };
    const p = perPacket(small, large);
    expect(p.total).toBe(30);
    expect(p.functions).toEqual([
      { name: 'write', perPacket: 20 },
      { name: 'decode', perPacket: 10 },
      { name: 'start-up', perPacket: 0 },
    ]);
    expect(() => perPacket(large, small)).toThrow(/more packets/);
  });

  it('reads sizes in decimal units', () => {
    expect(parseSize('100M')).toBe(100_000_000);
    expect(parseSize('1G')).toBe(1_000_000_000);
    expect(parseSize('1e6')).toBe(1_000_000);
    expect(() => parseSize('lots')).toThrow(/bad size/);
  });
});

describe('bench scripts: strict options', () => {
  for (const [name, args, message] of [
    ['bench.ts', ['--onyl', 'copy'], /Unknown option '--onyl'/],
    ['bench.ts', ['--only', 'copy,gsoo'], /no case group "gsoo"/],
    ['bench.ts', ['--reps', 'five'], /--reps takes a whole number/],
    ['bench.ts', ['--size', 'big'], /bad size "big"/],
    ['bench.ts', ['--before', join(dir, 'none', 'main.js')], /--before .*no such file/],
    ['instructions.ts', ['--only', 'general,nope'], /no workload "nope"/],
    ['instructions.ts', ['--top'], /argument missing/],
    ['instructions.ts', ['stray'], /Unexpected argument 'stray'/],
  ] as const) {
    it(`${name} ${args.join(' ')}: exit 2, usage, nothing generated`, () => {
      const r = script(name, [...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^usage: npm run bench/m);
      expect(r.stdout).toBe('');
      expect(r.left).toEqual([]);
    });
  }

  it('--help prints the usage and exits 0', () => {
    for (const name of ['bench.ts', 'instructions.ts']) {
      const r = script(name, ['--help']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^usage: npm run bench/);
      expect(r.left).toEqual([]);
    }
  });
});

const valgrind = toolGate('valgrind');

describe(`npm run bench:instructions under valgrind${valgrind.label}`, () => {
  it.skipIf(valgrind.skip)(
    'counts the general path per packet and names capflow functions in it',
    () => {
      const r = script('instructions.ts', ['--size', '3M', '--only', 'general', '--top', '40'], 170_000);
      expect(r.status, r.stderr).toBe(0);
      const row = /\| general path, no stage \(gso:mtu=9000\) \| plain \| ([\d,]+) \|/.exec(r.stdout);
      expect(row, r.stdout).not.toBeNull();
      const perPkt = Number(row![1]!.replace(/,/g, ''));
      // Decoding, classifying and writing a packet: hundreds of instructions at least, and far
      // from the millions a run's start-up takes.
      expect(perPkt).toBeGreaterThan(300);
      expect(perPkt).toBeLessThan(100_000);
      // JavaScript functions named through V8's map: the pipeline's own.
      expect(r.stdout).toMatch(/^\s+[\d,]+ {2}processInto \(run-core\.js:\d+\)$/m);
      // Its temporary files (inputs, callgrind output, V8's maps) are gone.
      expect(r.left).toEqual([]);
    },
    180_000,
  );
});
