/**
 * A batch with a job on every core reads and writes its files synchronously on each job's thread
 * (test/cli/file-io.test.ts shows which calls): through the built binary, the outputs are byte for
 * byte those of one job overlapping its I/O in the thread pool (--jobs 1 --async-io), and a file
 * that cannot be read or written is still named.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capflow, haveBuild, makeInputs, repo } from './batch-helpers.js';
import { generate } from '../bench/generate.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-batch-sync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Jobs that make every core busy: the synchronous I/O of the batch. */
const allCores = String(Math.max(2, availableParallelism()));
const ENCAP = [
  '--stage',
  'tunnel-key:rules=[{match: {ipDst: 203.0.113.0/24}, set: {vni: 42, dst: 192.0.2.2}}, {set: {vni: 9, dst: 192.0.2.9}}]',
  '--stage',
  'vxlan-encap:src=192.0.2.1,outerEth.src=02:00:00:00:00:01,outerEth.dst=02:00:00:00:00:02',
];

/** Inputs of every kind a batch reads from files: large pcap (many read chunks), truncated, gzip, pcapng, VLAN/IPv6 mixes. */
function inputs(d: string): string[] {
  mkdirSync(d, { recursive: true });
  const big = join(d, 'big.pcap');
  generate('plain', big, 3_300_000);
  const bytes = readFileSync(big);
  const cut = join(d, 'cut.pcap');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 900));
  const gz = join(d, 'zipped.pcap.gz');
  writeFileSync(gz, gzipSync(bytes.subarray(0, 1_500_000)));
  const samples = ['tso-host.pcap', 'vxlan-mixed.pcapng', 'vxlan-decap-cases.pcap'].map((s) => join(repo, 'samples', s));
  return [big, cut, gz, ...samples, ...makeInputs(join(d, 'small'), 4)];
}

function outputs(d: string): Map<string, Buffer> {
  return new Map(readdirSync(d).sort().map((n) => [n, readFileSync(join(d, n))]));
}

describe.skipIf(!haveBuild)(`a batch with a job on every core (--jobs ${allCores})`, () => {
  const ins = haveBuild ? inputs(join(dir, 'in')) : [];

  for (const [label, extra] of [
    ['plain copy', []],
    ['tunnel re-origination', ENCAP],
    ['pcapng outputs', ['--format', 'pcapng', ...ENCAP]],
  ] as const) {
    it(`${label}: every output byte for byte that of --jobs 1 --async-io, the same summary`, () => {
      const one = join(dir, `one-${label}`);
      const all = join(dir, `all-${label}`);
      const a = capflow(['run', ...ins, '--out-dir', one, '--jobs', '1', '--async-io', '--json', ...extra]);
      const b = capflow(['run', ...ins, '--out-dir', all, '--jobs', allCores, '--json', ...extra]);
      expect(a.status, a.stderr).toBe(0);
      expect(b.status, b.stderr).toBe(0);
      // The truncated input's warning, once, either way.
      expect(b.stderr.split('\n').sort()).toEqual(a.stderr.split('\n').sort());
      const x = outputs(one);
      const y = outputs(all);
      expect([...y.keys()]).toEqual([...x.keys()]);
      expect(x.size).toBe(ins.length);
      for (const [name, bytes] of x) expect(Buffer.compare(y.get(name)!, bytes), name).toBe(0);
      const strip = (s: string, out: string) => JSON.parse(s.split(out).join('OUT'), (k, v) => (k === 'seconds' ? 0 : v));
      expect(strip(b.stdout, all)).toEqual(strip(a.stdout, one));
    });
  }

  it('a file that fails to read is named, the others are written', () => {
    const d = join(dir, 'bad');
    mkdirSync(d);
    // A regular file whose reads fail (EIO): the process's memory at address 0.
    const bad = join(d, 'bad.pcap');
    symlinkSync('/proc/self/mem', bad);
    const out = join(d, 'out');
    const r = capflow(['run', ins[0]!, bad, ins[3]!, '--out-dir', out, '--jobs', allCores]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`1 of 3 inputs failed:\n  ${bad}: `);
    expect(r.stderr).toMatch(/i\/o error|EIO/i);
    expect(readdirSync(out).sort()).toEqual([basename(ins[0]!), basename(ins[3]!)].sort());
  });
});

/** Root mounts the small tmpfs; outside CI its absence skips with a reason, under CI=true it fails. */
const isRoot = process.getuid?.() === 0;
const needRoot = !isRoot && process.env.CI !== 'true';
if (needRoot) console.warn('[batch disk-full test skipped] not running as root (mount)');

describe.skipIf(!haveBuild || needRoot)(`a batch with a job on every core, disk full${needRoot ? ' (skipped: needs root)' : ''}`, () => {
  let mnt = '';
  beforeAll(() => {
    if (!isRoot) throw new Error('the disk-full batch test needs root (CI=true forbids skipping)');
    mnt = join(dir, 'small');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`mount -t tmpfs: ${m.stderr}`);
    return () => void spawnSync('umount', [mnt]);
  });

  it('each output that does not fit is named with ENOSPC, no temporary is left', () => {
    const d = join(dir, 'full-in');
    const ins = [0, 1, 2].map((i) => {
      const f = join(d, `big-${i}.pcap`);
      mkdirSync(d, { recursive: true });
      generate('plain', f, 2_500_000);
      return f;
    });
    const out = join(mnt, 'out');
    const r = capflow(['run', ...ins, '--out-dir', out, '--jobs', allCores]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('3 of 3 inputs failed:');
    for (const f of ins) expect(r.stderr).toContain(`${join(out, basename(f))}: cannot write: no space left on device (ENOSPC)`);
    expect(readdirSync(out)).toEqual([]);
  });
});
