/**
 * `Pipeline.processInto(pkt, out, at)`: the packets that leave are written to out[at]... by index
 * (how the run loop reuses one list without emptying it) and the index after the last is returned;
 * `process` appends, as it always did. Both count and drop the same.
 */
import { describe, expect, it } from 'vitest';
import { Packet, HEADROOM } from '../../pipeline/packet.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { parseStageSpec, resolvePipeline, loadYaml } from '../../pipeline/config.js';
import { MAX_CAPLEN } from '../../pipeline/pcap/capture-interface.js';
import { frame, pattern } from '../gso/build.js';

function packetOf(f: Uint8Array): Packet {
  const buf = new Uint8Array(HEADROOM + f.length);
  buf.set(f, HEADROOM);
  const p = new Packet(buf, HEADROOM, HEADROOM + f.length, f.length);
  p.linkType = 1;
  return p;
}

async function pipelineOf(specs: string[]): Promise<Pipeline> {
  await loadYaml();
  return new Pipeline(resolvePipeline({}, '--stage', { extraStages: specs.map((s) => parseStageSpec(s)), extraSpecs: specs }));
}

describe('Pipeline.processInto', () => {
  it('writes over the list from `at`, leaves what is before it, returns the end', async () => {
    // MTU 1000: a 1500-byte IPv4 frame without DF that a stage grew leaves as two fragments.
    const pipeline = await pipelineOf(['mpls-push:labels=[{label: 100, ttl: 64}]', 'gso:mtu=1000']);
    const stale = packetOf(frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(10) }));
    const out: Packet[] = [stale, stale, stale, stale, stale];
    const small = packetOf(frame({ ip: { v: 4, id: 1 }, l4: { kind: 'udp' }, payload: pattern(100) }));
    let end = pipeline.processInto(small, out, 1);
    expect(end).toBe(2);
    expect(out[0]).toBe(stale);
    expect(out[1]).toBe(small);
    expect(out[2]).toBe(stale);
    expect(out.length).toBe(5);
    const big = packetOf(frame({ ip: { v: 4, id: 2, df: false }, l4: { kind: 'udp' }, payload: pattern(1400) }));
    end = pipeline.processInto(big, out, end);
    expect(end).toBe(4);
    expect(out[2]).not.toBe(stale);
    expect(out[3]).not.toBe(stale);
    expect(out[2]!.tail - out[2]!.head + out[3]!.tail - out[3]!.head).toBeGreaterThan(big.origLen);
    expect(out[4]).toBe(stale);
    // Past the list's end it grows, as push would.
    const again = packetOf(frame({ ip: { v: 4, id: 3 }, l4: { kind: 'udp' }, payload: pattern(100) }));
    expect(pipeline.processInto(again, out, 5)).toBe(6);
    expect(out.length).toBe(6);
    const c = pipeline.takeCounters();
    expect([c.packetsIn, c.packetsOut, c.forwarded]).toEqual([3, 4, 3]);
  });

  it('a frame grown past the record limit is dropped, and the end says so; process shortens the list', async () => {
    const pipeline = await pipelineOf(['mpls-push:labels=[{label: 100, ttl: 64}]', 'gso']);
    // Not IP (EtherType 0x88b5, local experimental): no segmentation, no fragment, only the limit.
    const huge = () => {
      const f = new Uint8Array(MAX_CAPLEN);
      f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]);
      return packetOf(f);
    };
    const out: Packet[] = [];
    const first = huge();
    out.push(first, first, first);
    expect(pipeline.processInto(huge(), out, 1)).toBe(1);
    expect(out.length).toBe(3);
    const list: Packet[] = [first];
    pipeline.process(huge(), list);
    expect(list).toEqual([first]);
    const c = pipeline.takeCounters();
    expect(c.drops['record-too-large']).toBe(2);
    expect([c.packetsIn, c.packetsOut, c.dropped]).toEqual([2, 0, 2]);
  });
});
