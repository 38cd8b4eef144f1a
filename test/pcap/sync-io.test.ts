/**
 * syncIO (the default; false is the CLI's --async-io): input files are read and the output file
 * written with synchronous calls on the run's own thread instead of in libuv's thread pool. The bytes
 * written must be exactly those of the overlapped path, for every input and output kind; stdin,
 * FIFOs and gzip outputs keep their streams. Errors still name the file.
 */
import { readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { runCapture, type RunSummary } from '../../pipeline/run.js';
import { parseStageSpec, resolvePipeline } from '../../pipeline/config.js';
import { READ_CHUNK_SIZE } from '../../pipeline/pcap/reader.js';
import { generate } from '../bench/generate.js';
import { withTempDir } from '../helpers/pcap-collect.js';

// The synchronous calls, counted (behaviour unchanged): the sync path is the one taken.
const calls = vi.hoisted(() => ({ readSync: 0, writeSync: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readSync = ((...a: Parameters<typeof fs.readSync>) => (calls.readSync++, fs.readSync(...a))) as typeof fs.readSync;
  const writeSync = ((...a: Parameters<typeof fs.writeSync>) => (calls.writeSync++, (fs.writeSync as (...x: unknown[]) => number)(...a))) as typeof fs.writeSync;
  return { ...fs, default: { ...fs, readSync, writeSync }, readSync, writeSync };
});

const samples = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'samples');

const STAGES: Record<string, string[]> = {
  copy: [],
  // Outer IPv4 for IPv4 inner, outer IPv6 for IPv6 inner: frames grow in place (headroom lent).
  encap: [
    'tunnel-key:rules=[{match: {ipDst: 203.0.113.0/24}, set: {vni: 42, dst: 192.0.2.2}}, {match: {ipDst: 2001:db8::/32}, set: {vni: 7, src: 2001:db8::a, dst: 2001:db8::b, csum: true}}, {set: {vni: 9, dst: 192.0.2.9}}]',
    'vxlan-encap:src=192.0.2.1,outerEth.src=02:00:00:00:00:01,outerEth.dst=02:00:00:00:00:02',
    'gso:mtu=1500',
  ],
  decap: ['vxlan-decap'],
};

async function run(inputs: string[], output: string, stages: string[], syncIO: boolean): Promise<{ bytes: Buffer; summary: RunSummary; warnings: string[] }> {
  const config = resolvePipeline({}, '--stage', { extraStages: stages.map((s) => parseStageSpec(s)), extraSpecs: stages });
  const warnings: string[] = [];
  calls.readSync = calls.writeSync = 0;
  const summary = await runCapture({ inputs, output, config, syncIO, countBadChecksums: true, onWarning: (m) => warnings.push(m) });
  // Files only: a gzip input is read synchronously too (zlib then works in the pool), a gzip
  // output stays a stream.
  if (syncIO) expect(calls.readSync).toBeGreaterThan(0);
  if (syncIO && !output.endsWith('.gz')) expect(calls.writeSync).toBeGreaterThan(0);
  if (!syncIO) expect(calls).toEqual({ readSync: 0, writeSync: 0 });
  return { bytes: readFileSync(output), summary, warnings };
}

describe('syncIO writes the bytes of the overlapped path', () => {
  it('pcap, pcapng and gzip inputs into pcap, pcapng and gzip outputs, with and without stages', async () => {
    await withTempDir(async (dir) => {
      // Several read chunks of the bench's TCP frames (the pooled buffers are read into again),
      // and the same bytes cut inside a record (truncated: a warning), and gzip-compressed.
      const big = join(dir, 'big.pcap');
      generate('plain', big, 3.5 * READ_CHUNK_SIZE);
      const whole = readFileSync(big);
      const cut = join(dir, 'cut.pcap');
      writeFileSync(cut, whole.subarray(0, whole.length - 700));
      const gz = join(dir, 'big.pcap.gz');
      writeFileSync(gz, gzipSync(whole));
      const tso = join(samples, 'tso-host.pcap');
      const mixed = join(samples, 'vxlan-mixed.pcapng');
      const cases: [string[], string, string][] = [
        [[big], 'copy', 'pcap'],
        [[big], 'copy', 'pcapng'],
        [[big], 'copy', 'pcap.gz'],
        [[cut], 'copy', 'pcap'],
        [[gz], 'copy', 'pcap'],
        [[big], 'encap', 'pcap'],
        [[cut, gz], 'encap', 'pcapng'],
        [[tso], 'encap', 'pcap'],
        [[mixed], 'decap', 'pcapng'],
        [[mixed], 'decap', 'pcap.gz'],
        [[big, mixed, tso], 'copy', 'pcapng'],
      ];
      for (const [inputs, stages, ext] of cases) {
        const label = `${inputs.map((i) => i.split('/').pop()).join('+')} ${stages} -> ${ext}`;
        const overlapped = await run(inputs, join(dir, `a.${ext}`), STAGES[stages]!, false);
        const sync = await run(inputs, join(dir, `s.${ext}`), STAGES[stages]!, true);
        expect(sync.bytes.length, label).toBeGreaterThan(200);
        expect(Buffer.compare(sync.bytes, overlapped.bytes), label).toBe(0);
        expect({ ...sync.summary, output: '' }, label).toEqual({ ...overlapped.summary, output: '' });
        expect(sync.warnings, label).toEqual(overlapped.warnings);
      }
      // No temporaries left behind.
      expect(readdirSync(dir).filter((n) => n.includes('.capflow-'))).toEqual([]);
    });
  });

  it('a file that fails to read: the same error either way, no output left', async () => {
    await withTempDir(async (dir) => {
      // A regular file whose read fails: the process's memory at address 0 (EIO).
      const bad = join(dir, 'bad.pcap');
      symlinkSync('/proc/self/mem', bad);
      const errors: string[] = [];
      for (const syncIO of [false, true]) {
        const out = join(dir, `out-${syncIO}.pcap`);
        const e = await run([bad], out, [], syncIO).then(
          () => null,
          (err: Error) => err,
        );
        expect(e, `syncIO ${syncIO}`).toBeInstanceOf(Error);
        errors.push(e!.message);
      }
      expect(errors[1]).toBe(errors[0]);
      expect(errors[0]).toMatch(/EIO/);
      expect(readdirSync(dir).sort()).toEqual(['bad.pcap']);
    });
  });
});
