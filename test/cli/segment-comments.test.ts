/**
 * Packet comments are not multiplied by segmentation: the user's comments stay on the first
 * segment (or fragment), with capflow's note of which segment of how many. Built CLI, peak RSS
 * measured on a capture with 2,000 comments per super-packet.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { craftFrame } from '../../pipeline/craft.js';
import { withPartialChecksum } from '../helpers/partial-checksum.js';
import { readPackets } from '../../pipeline/pcap/reader.js';
import { concat, epb, idb, shb } from '../helpers/pcap-build.js';

const root = join(import.meta.dirname, '../..');
const CLI = join(root, 'dist/cli/main.js');
const RSS_HOOK = join(root, 'test/bench/rss-hook.mjs');
const dir = mkdtempSync(join(tmpdir(), 'capflow-segcomments-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(packets: number, payload: number, comments: string[], df = true): Uint8Array {
  const blocks = [shb(true), idb(true, { tsresol: 9 })];
  for (let i = 0; i < packets; i++) {
    const frame = craftFrame({
      ip: { src: '192.0.2.1', dst: '198.51.100.2', df },
      l4: df ? { kind: 'tcp', srcPort: 43210, dstPort: 5001, seq: i * payload, flags: 0x18 } : { kind: 'icmp' },
      payload,
    });
    const data = df ? withPartialChecksum(frame) : frame;
    blocks.push(epb(true, { iface: 0, ts: BigInt(1_700_000_000 + i) * 1_000_000_000n, data, comments }));
  }
  return concat(...blocks);
}

function capflow(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', RSS_HOOK, CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const kb = Number(/capflow-peak-rss-kb=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace(/capflow-(peak-rss-kb|cpu-us)=\d+\n/g, ''), peakRssMb: kb / 1024 };
}

async function commentsOf(path: string): Promise<Array<string[] | null>> {
  const out: Array<string[] | null> = [];
  for await (const p of readPackets(path, { name: path })) out.push(p.comments);
  return out;
}

describe('comments and segmentation', () => {
  it('the user comments stay on the first segment, with a note of which of how many', async () => {
    const input = join(dir, 'one.pcapng');
    writeFileSync(input, capture(1, 3000, ['first', 'second']));
    const output = join(dir, 'one-out.pcapng');
    const r = capflow(['run', input, '-o', output, '--stage', 'gso:mss=300', '--view', 'wire']);
    expect(r.status, r.stderr).toBe(0);
    const c = await commentsOf(output);
    expect(c).toHaveLength(10);
    expect(c[0]).toEqual(['first', 'second', "segment 1 of 10: the packet's comments are on the first segment only"]);
    expect(c.slice(1)).toEqual(Array(9).fill(null));
  });

  it('fragments too', async () => {
    const input = join(dir, 'frag.pcapng');
    writeFileSync(input, capture(1, 4000, ['note'], false));
    const output = join(dir, 'frag-out.pcapng');
    const r = capflow(['run', input, '-o', output, '--stage', 'gso:mtu=1500']);
    expect(r.status, r.stderr).toBe(0);
    const c = await commentsOf(output);
    expect(c).toEqual([['note', "fragment 1: the packet's comments are on the first fragment only"], null, null]);
  });

  it('2,000 comments on each of four 40 KB super-packets, mss 48: a small output and under 200 MB peak RSS', () => {
    const comments = Array.from({ length: 2000 }, (_, i) => `comment ${i} of the user`);
    const input = join(dir, 'many.pcapng');
    writeFileSync(input, capture(4, 40_000, comments));
    const output = join(dir, 'many-out.pcapng');
    const r = capflow(['run', input, '-o', output, '--stage', 'gso:mss=48', '--view', 'wire', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).packetsOut).toBe(4 * Math.ceil(40_000 / 48));
    console.log(`2,000 comments × 4 packets, mss 48: output ${statSync(output).size} bytes, peak RSS ${r.peakRssMb.toFixed(0)} MB`);
    // 3,336 segments of 102 bytes plus the comments once per packet (about 4 × 48 KB).
    expect(statSync(output).size).toBeLessThan(1_000_000);
    expect(r.peakRssMb).toBeLessThan(200);
  });
});
