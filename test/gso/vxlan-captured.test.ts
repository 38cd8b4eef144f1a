/**
 * Captured VXLAN super-packets: a capture on the underlay of a host with tunnel TSO on shows
 * VXLAN frames larger than the MTU. The marker turns them into UDP-tunnel GSO packets exactly as
 * vxlan-encap marks its own, so the gso stage cuts them into valid inner frames.
 */
import { describe, expect, it } from 'vitest';
import { CSUM, GSO, Packet } from '../../pipeline/packet.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { fold, pseudoV4, pseudoV6 } from '../../pipeline/wire/checksum.js';
import { createSuperPacketMarker } from '../../pipeline/gso/classify.js';
import { loadProfile } from '../../pipeline/nic/profile.js';
import { Egress } from '../../pipeline/egress.js';
import { egressOptions, gsoStageOptions } from '../../pipeline/egress-options.js';
import * as vxlanWire from '../../pipeline/wire/vxlan.js';
import { vxlanEncap } from '../../stages/vxlan-encap.js';
import type { Stage, StageContext, StageEnv, View } from '../../stages/stage.js';
import { TunnelInfo, TUNNEL } from '../../pipeline/metadata.js';
import { checksumProblems, frame, pattern, pkt, TS_OPTS, vxlan } from './build.js';
import { makeGso, runGso } from './run.js';

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const FIN = 0x01, PSH = 0x08, ACK = 0x10;

function layers(b: Uint8Array, off = 0): Layers {
  const L = new Layers();
  decodeFrame(b, off, b.length, L);
  return L;
}

/** The inner super-packet a container's TCP socket handed down (checksum partial, as on the host). */
function innerTcp(payload: number, v: 4 | 6 = 4): Uint8Array {
  return frame({
    ip: v === 4 ? { v: 4, src: '10.0.0.1', dst: '10.0.0.2', id: 50 } : { v: 6, src: '2001:db8:9::1', dst: '2001:db8:9::2' },
    l4: { kind: 'tcp', sport: 40000, dport: 80, seq: 1000, options: TS_OPTS, flags: FIN | PSH | ACK },
    payload: pattern(payload),
    csum: 'partial',
  });
}

/**
 * A captured VXLAN super-packet as the underlay tap shows it: outer lengths for the whole frame,
 * outer UDP checksum 0, or (csum) the pseudo-header sum udp_set_csum leaves on a GSO skb.
 */
function captured(inner: Uint8Array, o: { v?: 4 | 6; csum?: boolean; dport?: number } = {}): Uint8Array {
  const f = vxlan(inner, { v: o.v ?? 4, csum: false, id: 0x100, dport: o.dport });
  if (o.csum) {
    const L = layers(f);
    const u = L.transOff;
    const ip = L.netOff;
    const len = L.ipEnd - u;
    const ps = fold(o.v === 6 ? pseudoV6(f, ip + 8, ip + 24, 17, len) : pseudoV4(f, ip + 12, ip + 16, 17, len));
    f[u + 6] = ps >>> 8;
    f[u + 7] = ps & 0xff;
  }
  return f;
}

const OUTER = { 4: 14 + 20 + 8 + 8, 6: 14 + 40 + 8 + 8 } as const;

describe('captured VXLAN super-packets are marked as UDP-tunnel GSO', () => {
  for (const v of [4, 6] as const) {
    for (const csum of [false, true]) {
      it(`IPv${v} underlay, outer csum ${csum ? 'on → UDP_TUNNEL_CSUM' : 'off → UDP_TUNNEL'}: type, size, offsets, partial checksums`, () => {
        const p = pkt(captured(innerTcp(6000), { v, csum }));
        const m = createSuperPacketMarker({ mss: 'auto', mtu: 1500 });
        expect(m.mark(p, p.head)).toBe(true);
        expect(p.gsoType).toBe(GSO.TCPV4 | (csum ? GSO.UDP_TUNNEL_CSUM : GSO.UDP_TUNNEL));
        // MTU − (outer IP + UDP + VXLAN + inner Ethernet) − inner IP − inner TCP with timestamps.
        const M = 1500 - OUTER[v] - 20 - 32;
        expect(p.gsoSize).toBe(M);
        expect(p.gsoSegs).toBe(Math.ceil(6000 / M));
        expect(p.encapsulation).toBe(true);
        expect(p.innerProtocol).toBe(0x6558);
        expect(p.protocol).toBe(v === 4 ? 0x0800 : 0x86dd);
        const b = p.buf;
        const u = p.head + OUTER[v] - 16;
        expect(p.transOff).toBe(u);
        expect(p.innerMacOff).toBe(u + 16);
        expect(p.innerNetOff).toBe(u + 30);
        expect(p.innerTransOff).toBe(u + 50);
        expect([p.csumMode, p.csumStart, p.csumOffset]).toEqual([CSUM.PARTIAL, p.innerTransOff, 16]);
        const ii = p.innerNetOff;
        expect(u16(b, p.innerTransOff + 16)).toBe(fold(pseudoV4(b, ii + 12, ii + 16, 6, p.tail - p.innerTransOff)));
        const ip = p.netOff;
        const ps = v === 4 ? pseudoV4(b, ip + 12, ip + 16, 17, p.tail - u) : pseudoV6(b, ip + 8, ip + 24, 17, p.tail - u);
        expect(u16(b, u + 6)).toBe(csum ? fold(ps) : 0);
        expect(m.stats).toMatchObject({ tcp: 1, vxlan: 1 });
      });

      it(`IPv${v} underlay, csum ${csum ? 'on' : 'off'}, wire view: valid inner frames, outer lengths/IDs/checksums per segment`, () => {
        const r = runGso([pkt(captured(innerTcp(6000), { v, csum }))], {}, 'none', 'wire');
        expect(r.drops).toEqual([]);
        const M = 1500 - OUTER[v] - 20 - 32;
        expect(r.out.length).toBe(Math.ceil(6000 / M));
        const payloads: Uint8Array[] = [];
        r.out.forEach((s, k) => {
          const d = s.data;
          const O = layers(d);
          const u = O.transOff;
          expect(O.ipEnd - O.netOff).toBeLessThanOrEqual(1500);
          expect(u16(d, u + 4)).toBe(d.length - u);
          if (v === 4) {
            expect(u16(d, 16)).toBe(d.length - 14);
            expect(u16(d, 18)).toBe(0x100 + k);
          } else expect(u16(d, 18)).toBe(d.length - 54);
          if (!csum) expect(u16(d, u + 6)).toBe(0);
          else expect(u16(d, u + 6)).not.toBe(0);
          expect(Array.from(d.subarray(u + 8, u + 16))).toEqual([8, 0, 0, 0, 0, 0, 42, 0]);
          const I = layers(d, u + 16);
          expect(u16(d, I.netOff + 4)).toBe(50 + k);
          expect(u32(d, I.transOff + 4)).toBe(1000 + k * M);
          const last = k === r.out.length - 1;
          expect(d[I.transOff + 13]).toBe(last ? FIN | PSH | ACK : ACK);
          payloads.push(d.subarray(I.payloadOff, I.ipEnd));
          expect(checksumProblems(d)).toEqual([]);
          expect(s.csumMode).toBe(CSUM.NONE);
        });
        expect(Buffer.concat(payloads)).toEqual(Buffer.from(pattern(6000)));
      });
    }
  }

  it('inner IPv6 TCP → TCPV6; inner UDP → UDP_L4 + UDP_TUNNEL, each segment a full inner datagram', () => {
    const p6 = pkt(captured(innerTcp(4000, 6)));
    const m = createSuperPacketMarker({ mss: 'auto', mtu: 1500 });
    expect(m.mark(p6, p6.head)).toBe(true);
    expect([p6.gsoType, p6.gsoSize]).toEqual([GSO.TCPV6 | GSO.UDP_TUNNEL, 1500 - 50 - 40 - 32]);
    const u = frame({ ip: { v: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', sport: 5000, dport: 6000 }, payload: pattern(4000), csum: 'partial' });
    const r = runGso([pkt(captured(u, { csum: true }))], {}, 'none', 'wire');
    const M = 1500 - 50 - 20 - 8;
    expect(r.out.length).toBe(Math.ceil(4000 / M));
    for (const s of r.out) {
      expect(checksumProblems(s.data)).toEqual([]);
      const I = layers(s.data, 14 + 20 + 16);
      expect(u16(s.data, I.transOff + 4)).toBe(I.ipEnd - I.transOff);
    }
  });

  it('the peer MSS is learned from SYNs inside VXLAN frames', () => {
    const synAck = frame({ ip: { v: 4, src: '10.0.0.2', dst: '10.0.0.1' }, l4: { kind: 'tcp', sport: 80, dport: 40000, flags: 0x12, options: [2, 4, 0x05, 0x14] }, payload: new Uint8Array(0) });
    const g = makeGso({}, 'veth', 'driver');
    g.run(pkt(vxlan(synAck)));
    g.run(pkt(captured(innerTcp(6000), { csum: true })));
    const sp = g.res.out[1]!;
    expect(sp.gsoSize).toBe(1300 - 12);
    expect(sp.notes).toEqual([`gso type=tcpv4+udp_tunnel_csum size=1288 segs=${Math.ceil(6000 / 1288)}`]);
    expect(g.superPackets.autoMss()).toEqual([
      expect.objectContaining({ flow: '10.0.0.1:40000 > 10.0.0.2:80', proto: 'tcp', vxlan: true, gsoSize: 1288, source: 'peer-syn', reason: 'peer SYN MSS 1300 − 12 option bytes' }),
    ]);
  });

  it('VXLAN ports: 4789 and 8472 by default, `vxlanPorts` replaces them; other ports keep the plain UDP rule', () => {
    const on8472 = runGso([pkt(captured(innerTcp(6000), { dport: 8472 }))], {}, 'none', 'driver').out;
    expect(checksumProblems(on8472[0]!.data)).toEqual([]);
    const other = () => pkt(captured(innerTcp(6000), { dport: 4790 }));
    const g = makeGso({}, 'veth', 'driver');
    g.run(other());
    expect(g.res.out[0]!.gsoType).toBe(GSO.UDP_L4);
    const g2 = makeGso({ vxlanPorts: [4790] }, 'veth', 'driver');
    g2.run(other());
    expect(g2.res.out[0]!.gsoType).toBe(GSO.TCPV4 | GSO.UDP_TUNNEL);
    expect(g2.superPackets.vxlanPorts).toEqual([4790]);
    g2.run(pkt(captured(innerTcp(6000))));
    expect(g2.res.out[1]!.gsoType).toBe(GSO.UDP_L4);
    expect(() => gsoStageOptions.parse({ vxlanPorts: [0] })).toThrow();
  });

  it('mlx5 driver view: 4789 offloaded whole (no outer csum), 8472 not in the NIC port table → software segments', () => {
    const a = runGso([pkt(captured(innerTcp(6000)))], {}, 'mlx5', 'driver').out;
    expect(a.length).toBe(1);
    expect(a[0]!.notes).toEqual(['gso type=tcpv4+udp_tunnel size=1398 segs=5']);
    const b = runGso([pkt(captured(innerTcp(6000), { dport: 8472 }))], {}, 'mlx5', 'driver').out;
    expect(b.length).toBe(5);
  });

  it('not marked: fits the MTU, outer length inconsistent, truncated, I flag clear, inner not TCP/UDP', () => {
    const m = createSuperPacketMarker({ mss: 'auto', mtu: 1500 });
    const small = pkt(captured(innerTcp(500)));
    expect(m.mark(small, small.head)).toBe(false);
    expect(small.encapsulation).toBe(false);
    const bad = captured(innerTcp(6000));
    bad[14 + 20 + 4] ^= 0x01; // outer UDP length
    const pb = pkt(bad);
    expect(m.mark(pb, pb.head)).toBe(false);
    const full = captured(innerTcp(6000));
    const tr = new Packet(Packet.fromBytes(full.subarray(0, 200)).buf, 128, 328, full.length);
    expect(m.mark(tr, tr.head)).toBe(false);
    // No I flag: not VXLAN; the plain UDP rule applies to the outer datagram.
    const noI = captured(innerTcp(6000));
    noI[14 + 20 + 8] = 0;
    const pn = pkt(noI);
    expect(m.mark(pn, pn.head)).toBe(true);
    expect(pn.gsoType).toBe(GSO.UDP_L4);
    // ICMP inside: not a super-packet; gso fragments the outer IPv4 datagram (DF clear).
    const icmp = frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(3000) });
    icmp[14 + 9] = 1;
    const r = runGso([pkt(vxlan(icmp))], {}, 'none', 'wire');
    expect(r.out.length).toBe(3);
    expect(r.stage.stats.fragmented).toBe(1);
  });

  it('checksum.fix first (full outer checksum) still gives UDP_TUNNEL_CSUM and valid segments', () => {
    const f = vxlan(innerTcp(6000), { csum: true });
    const r = runGso([pkt(f)], { checksum: { fix: true } }, 'none', 'wire');
    expect(r.out.length).toBe(5);
    for (const s of r.out) {
      expect(checksumProblems(s.data)).toEqual([]);
      expect(u16(s.data, 14 + 20 + 6)).not.toBe(0);
    }
  });
});

describe('captured VXLAN super-packet = vxlan-encap of the same inner super-packet', () => {
  /** An egress and the env its stages get (the egress's read-only view). */
  function env(view: View, nic: string, mss: 'auto' | number): StageEnv & { eg: Egress } {
    const profile = loadProfile(nic);
    const eg = new Egress(egressOptions.parse({ mss, mtu: 1500 }), { nic: profile, view, vxlanPorts: vxlanWire.DEFAULT_PORTS });
    return { nic: profile, view, egress: eg.view, vxlanPorts: vxlanWire.DEFAULT_PORTS, eg };
  }
  function drive(stages: Stage[], pkts: Packet[]): Packet[] {
    let cur = pkts;
    for (const s of stages) {
      const next: Packet[] = [];
      const ctx: StageContext = { emit: (p) => void next.push(p), drop: (_p, r) => expect.fail(`dropped ${r}`), warnOnce: () => {} };
      for (const p of cur) s.process(p, ctx);
      cur = next;
    }
    return cur;
  }
  function tunnel(v: 4 | 6, csum: boolean): TunnelInfo {
    const t = new TunnelInfo();
    t.ipv6 = v === 6;
    t.vni = 42;
    t.setAddress('src', v === 4 ? '198.51.100.1' : '2001:db8:1::1');
    t.setAddress('dst', v === 4 ? '198.51.100.2' : '2001:db8:1::2');
    t.tpSrc = 50000;
    t.flags = TUNNEL.KEY | (csum ? TUNNEL.CSUM : 0);
    t.tx = true;
    return t;
  }

  for (const v of [4, 6] as const) {
    for (const csum of [false, true]) {
      for (const [nic, view] of [['none', 'wire'], ['mlx5', 'driver'], ['ixgbe', 'driver']] as const) {
        it(`IPv${v} underlay, csum ${csum ? 'on' : 'off'}, ${nic} ${view} view: same packets, bytes and notes`, () => {
          // vxlan-encap + gso on the inner super-packet (mss fixed: vxlan-encap measures the inner frame alone).
          const M = 1500 - OUTER[v] - 20 - 32;
          const e1 = env(view, nic, M);
          const inner = pkt(innerTcp(6000));
          inner.tunnel = tunnel(v, csum);
          const encap = vxlanEncap.create(vxlanEncap.options.parse({}), e1);
          const [encapped] = drive([encap], [inner]);
          const capture = Packet.fromBytes(encapped!.data.slice());
          const viaEncap = drive([e1.eg], [encapped!]);
          // The same bytes as a capture: a fresh marker recognises the VXLAN super-packet.
          const e2 = env(view, nic, 'auto');
          const marker = e2.eg.superPackets;
          expect(marker.mark(capture, capture.head)).toBe(true);
          expect([capture.gsoType, capture.gsoSize, capture.gsoSegs]).toEqual([encapped!.gsoType, encapped!.gsoSize, encapped!.gsoSegs]);
          expect([capture.innerMacOff - capture.head, capture.innerNetOff - capture.head, capture.innerTransOff - capture.head]).toEqual([
            encapped!.innerMacOff - encapped!.head,
            encapped!.innerNetOff - encapped!.head,
            encapped!.innerTransOff - encapped!.head,
          ]);
          const viaCapture = drive([e2.eg], [capture]);
          expect(viaCapture.map((p) => hex(p.data))).toEqual(viaEncap.map((p) => hex(p.data)));
          expect(viaCapture.map((p) => p.notes)).toEqual(viaEncap.map((p) => p.notes));
          expect(viaCapture.map((p) => [p.csumMode, p.csumStart - p.head])).toEqual(viaEncap.map((p) => [p.csumMode, p.csumStart - p.head]));
        });
      }
    }
  }
});

describe('pipeline wiring of vxlanPorts', () => {
  it('a pipeline file\'s gso vxlanPorts reaches the shared marker', async () => {
    const { Pipeline } = await import('../../pipeline/pipeline.js');
    const { resolvePipeline } = await import('../../pipeline/config.js');
    const cfg = resolvePipeline({ nic: 'veth', view: 'driver', stages: [{ stage: 'gso', vxlanPorts: [4790] }] }, 'test');
    const out: Packet[] = [];
    new Pipeline(cfg).process(pkt(captured(innerTcp(6000), { dport: 4790 })), out);
    expect(out.map((p) => p.notes)).toEqual([['gso type=tcpv4+udp_tunnel size=1398 segs=5']]);
  });
});
