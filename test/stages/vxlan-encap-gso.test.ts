/**
 * vxlan-encap on host-captured TSO frames: a frame larger than the MTU is a super-packet whose
 * segments fit the MTU once encapsulated; an MTU-sized frame is not (it becomes an over-MTU outer
 * packet, as in the kernel).
 */
import { describe, expect, it } from 'vitest';
import { Packet, GSO } from '../../pipeline/packet.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { resolvePipeline } from '../../pipeline/config.js';
import { craftFrame } from '../../pipeline/craft.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import * as checksum from '../../pipeline/wire/checksum.js';

function encapPipeline(view: 'driver' | 'wire', extra: Record<string, unknown> = {}) {
  return new Pipeline(
    resolvePipeline(
      {
        nic: 'none',
        view,
        stages: [
          { stage: 'tunnel-key', rules: [{ set: { vni: 42, dst: '192.0.2.2', df: true } }] },
          { stage: 'vxlan-encap', src: '192.0.2.1', ...extra },
          { stage: 'gso', mss: 'auto' },
        ],
      },
      'test',
    ),
  );
}

const tcpFrame = (payload: number) =>
  Packet.fromBytes(craftFrame({ ip: { src: '198.51.100.1', dst: '198.51.100.2', df: true }, l4: { kind: 'tcp', srcPort: 1000, dstPort: 2000, seq: 1, flags: 0x18 }, payload }));

describe('vxlan-encap + gso on host-captured TSO frames', () => {
  it('a 20000-byte inner TCP frame: segments of MTU − outer headers, every outer frame within the MTU', () => {
    const p = encapPipeline('wire');
    const out: Packet[] = [];
    p.process(tcpFrame(20000), out);
    // 1500 − (20 IP + 8 UDP + 8 VXLAN + 14 inner Ethernet) − 20 inner IP − 20 TCP = 1410.
    expect(out.length).toBe(Math.ceil(20000 / 1410));
    const L = new Layers();
    const inner = new Layers();
    let payload = 0;
    for (const s of out) {
      decodeFrame(s.buf, s.head, s.tail, L);
      expect(s.length - 14).toBeLessThanOrEqual(1500);
      decodeFrame(s.buf, L.transOff + 16, s.tail, inner);
      payload += s.tail - inner.payloadOff;
      // Wire view: inner TCP checksum complete.
      const len = s.tail - inner.transOff;
      const sum = checksum.sum16(s.buf, inner.transOff, s.tail, checksum.pseudoV4(s.buf, inner.netOff + 12, inner.netOff + 16, 6, len));
      expect(checksum.fold(sum)).toBe(0xffff);
    }
    expect(payload).toBe(20000);
  });

  it('driver view with a tunnel-TSO NIC keeps one super-packet marked for UDP-tunnel GSO', () => {
    const p = new Pipeline(
      resolvePipeline(
        { nic: 'veth', view: 'driver', stages: [{ stage: 'tunnel-key', rules: [{ set: { vni: 42, dst: '192.0.2.2' } }] }, { stage: 'vxlan-encap', src: '192.0.2.1' }] },
        'test',
      ),
    );
    const out: Packet[] = [];
    p.process(tcpFrame(20000), out);
    expect(out.length).toBe(1);
    expect(out[0]!.gsoType & GSO.UDP_TUNNEL).toBe(GSO.UDP_TUNNEL);
    expect(out[0]!.gsoSize).toBe(1410);
    expect(out[0]!.notes).toEqual([`gso type=tcpv4+udp_tunnel size=1410 segs=${Math.ceil(20000 / 1410)}`]);
  });

  it('an MTU-sized inner frame is not a super-packet: the 1550-byte outer packet with DF is dropped', () => {
    const p = encapPipeline('wire');
    const out: Packet[] = [];
    p.process(tcpFrame(1460), out);
    expect(out.length).toBe(0);
    expect(p.counters.drops).toEqual({ 'mtu-exceeded': 1 });
  });
});
