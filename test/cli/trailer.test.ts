/**
 * Bytes after the IP datagram (Ethernet padding, a trailer) are not payload: they are cut before
 * segmenting or fragmenting (as ip_rcv trimmed the skb before tcp_gso_segment /
 * __udp_gso_segment saw it) and counted as `trailerBytes`. Frames crafted here, run through the
 * built CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { craftFrame, type CraftSpec } from '../../pipeline/craft.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { readPackets } from '../../pipeline/pcap/reader.js';
import { withPartialChecksum } from '../helpers/partial-checksum.js';
import { concat, pcapHeader, pcapRecord } from '../helpers/pcap-build.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'capflow-trailer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function withTrailer(spec: CraftSpec, trailer: number, partial = false): Uint8Array {
  const t = new Uint8Array(trailer).fill(0xee);
  const f = craftFrame(spec);
  return concat(partial ? withPartialChecksum(f) : f, t);
}

async function run(frames: Uint8Array[], stage: string) {
  const input = join(dir, `in-${stage.replace(/\W/g, '_')}.pcap`);
  const output = join(dir, `out-${stage.replace(/\W/g, '_')}.pcap`);
  writeFileSync(input, concat(pcapHeader({ le: true, snapLen: 262144 }), ...frames.map((data, i) => pcapRecord(true, { sec: i, frac: 0, data }))));
  const r = spawnSync(process.execPath, [CLI, 'run', input, '-o', output, '--stage', stage, '--view', 'wire', '--json'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const L = new Layers();
  const payload: number[] = [];
  const lengths: number[] = [];
  for await (const p of readPackets(output, { name: output })) {
    decodeFrame(p.buf, p.head, p.tail, L);
    payload.push(L.ipEnd - L.payloadOff);
    lengths.push(p.length);
  }
  return { summary: JSON.parse(r.stdout), payload, lengths };
}

describe('bytes after the IP datagram', () => {
  it('a 4,000-byte UDP datagram with 2,000 bytes of trailer: segments carry the 3,992 payload bytes, trailerBytes 2000', async () => {
    const f = withTrailer({ ip: { src: '192.0.2.1', dst: '198.51.100.2', df: true }, l4: { kind: 'udp', srcPort: 5000, dstPort: 5001 }, payload: 3992 }, 2000, true);
    const r = await run([f], 'gso:mss=1000');
    expect(r.payload).toEqual([1000, 1000, 1000, 992]);
    expect(r.summary.trailerBytes).toBe(2000);
    expect(r.summary.packetsIn).toBe(r.summary.forwarded + r.summary.dropped);
  });

  it('TCP over IPv6 with padding after the datagram: no segment carries it', async () => {
    const f = withTrailer({ ip: { src: '2001:db8::1', dst: '2001:db8::2' }, l4: { kind: 'tcp', srcPort: 40000, dstPort: 80, seq: 1, flags: 0x18 }, payload: 3000 }, 6, true);
    const r = await run([f], 'gso:mss=1400');
    expect(r.payload).toEqual([1400, 1400, 200]);
    expect(r.summary.trailerBytes).toBe(6);
  });

  it('IPv4 fragmentation leaves the trailer out and counts it', async () => {
    const f = withTrailer({ ip: { src: '192.0.2.1', dst: '198.51.100.2', df: false }, l4: { kind: 'icmp' }, payload: 3000 }, 100);
    const r = await run([f], 'gso:mtu=1500');
    expect(r.lengths).toEqual([1514, 1514, 14 + 20 + 3008 - 2 * 1480]);
    expect(r.summary.trailerBytes).toBe(100);
  });

  it('a packet that is not segmented keeps its padding (a faithful copy)', async () => {
    const f = withTrailer({ ip: { src: '192.0.2.1', dst: '198.51.100.2' }, l4: { kind: 'udp', srcPort: 1, dstPort: 2 }, payload: 4 }, 14);
    const r = await run([f], 'gso');
    expect(r.lengths).toEqual([f.length]);
    expect(r.summary.trailerBytes).toBe(0);
  });
});
