/**
 * Segments stream out under the writer's backpressure, packet by packet: the smallest `mss` (48,
 * the kernel's smallest TCP MSS) on 64 KB TSO super-packets, measured as the built CLI's peak RSS
 * (the process's own maxRSS, not timing); `mss: 1` is refused with the kernel's reason.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { craftFrame } from '../../pipeline/craft.js';
import { withPartialChecksum } from '../helpers/partial-checksum.js';
import { concat, pcapHeader, pcapRecord } from '../helpers/pcap-build.js';

const root = join(import.meta.dirname, '../..');
const CLI = join(root, 'dist/cli/main.js');
const RSS_HOOK = join(root, 'test/bench/rss-hook.mjs');
const dir = mkdtempSync(join(tmpdir(), 'capflow-segmem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `count` TCP super-packets of about 64 KB (a host capture with TSO on). */
function superPackets(count: number): Uint8Array {
  const recs: Uint8Array[] = [pcapHeader({ le: true, snapLen: 262144 })];
  for (let i = 0; i < count; i++) {
    const f = withPartialChecksum(craftFrame({
      ip: { src: '192.0.2.1', dst: '198.51.100.2', df: true },
      l4: { kind: 'tcp', srcPort: 43210, dstPort: 5001, seq: i * 65000, flags: 0x18 },
      payload: 64_000 + (i % 7),
    }));
    recs.push(pcapRecord(true, { sec: 1_700_000_000 + i, frac: 0, data: f }));
  }
  return concat(...recs);
}

/** Run the CLI with stdout into the void; resolves to its exit status, stderr and peak RSS. */
function capflow(args: string[]): Promise<{ status: number | null; stderr: string; peakRssMb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', RSS_HOOK, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let bytes = 0;
    child.stdout.on('data', (c: Buffer) => (bytes += c.length));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      const kb = Number(/capflow-peak-rss-kb=(\d+)/.exec(stderr)?.[1] ?? NaN);
      resolve({ status, stderr: `${stderr.replace(/capflow-(peak-rss-kb|cpu-us)=\d+\n/g, '')}stdout bytes: ${bytes}`, peakRssMb: kb / 1024 });
    });
  });
}

describe('segments stream out', () => {
  it('mss 48 on 64 KB super-packets (21,000 segments) stays under 200 MB peak RSS', { timeout: 600_000 }, async () => {
    const input = join(dir, 'tso.pcap');
    writeFileSync(input, superPackets(16));
    const r = await capflow(['run', input, '-o', '-', '--format', 'pcap', '--stage', 'gso:mss=48', '--view', 'wire']);
    expect(r.status, r.stderr).toBe(0);
    // 16 × ~1,334 segments of 48 payload bytes, 102-byte frames with a 16-byte record header each.
    expect(Number(/stdout bytes: (\d+)/.exec(r.stderr)?.[1])).toBeGreaterThan(16 * 1333 * 118);
    console.log(`mss 48 on 16 × 64 KB super-packets: peak RSS ${r.peakRssMb.toFixed(0)} MB`);
    expect(r.peakRssMb).toBeLessThan(200);
  });

  it('mss 1 is refused with exit 2 and the kernel\'s reason, before any output', async () => {
    const r = await capflow(['run', join(root, 'samples/tso-host.pcap'), '-o', '-', '--stage', 'gso:mss=1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("mss: expected a number 48..65535 or auto (48 is the kernel's smallest TCP MSS, tcp_min_snd_mss)");
    expect(r.stderr).toContain('stdout bytes: 0');
  });
});
