import { describe, expect, it } from 'vitest';
import { CSUM, GSO, NO_OFFSET, Packet } from '../../pipeline/packet.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { fold, pseudoV4 } from '../../pipeline/wire/checksum.js';
import { checksumProblems, frame, pattern, pkt, TS_OPTS, vxlan, type FrameSpec } from './build.js';
import { runGso } from './run.js';

const FIN = 0x01, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40, CWR = 0x80;
const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

function layers(b: Uint8Array, off = 0): Layers {
  const L = new Layers();
  decodeFrame(b, off, b.length, L);
  return L;
}

function tcp4(payload: number, extra: Partial<FrameSpec> = {}, flags = PSH | ACK, seq = 1000): Uint8Array {
  return frame({ ip: { v: 4, id: 0x4000 }, l4: { kind: 'tcp', flags, seq, options: TS_OPTS }, payload: pattern(payload), ...extra });
}

/** Segment payloads concatenated, plus per-segment TCP fields. */
function tcpSegments(out: Packet[]) {
  return out.map((p) => {
    const L = layers(p.data);
    const t = L.transOff;
    return { seq: u32(p.data, t + 4), flags: p.data[t + 13]!, urg: u16(p.data, t + 18), payload: p.data.subarray(L.payloadOff, L.ipEnd), L, data: p.data };
  });
}

describe('TCP segmentation (software, wire view)', () => {
  it('IPv4: seq + k·M, IDs + k, lengths, FIN/PSH last only, checksums, remainder', () => {
    const f = tcp4(10000, {}, FIN | PSH | ACK);
    const r = runGso([pkt(f)], { mss: 1448 });
    expect(r.drops).toEqual([]);
    const segs = tcpSegments(r.out);
    expect(segs.length).toBe(7);
    segs.forEach((s, k) => {
      expect(s.seq).toBe(1000 + k * 1448);
      expect(u16(s.data, 14 + 4)).toBe(0x4000 + k);
      expect(u16(s.data, 14 + 2)).toBe(s.data.length - 14);
      const last = k === 6;
      expect(s.flags).toBe(last ? FIN | PSH | ACK : ACK);
      expect(s.payload.length).toBe(last ? 10000 - 6 * 1448 : 1448);
      expect(checksumProblems(s.data)).toEqual([]);
      expect(s.data.length).toBeLessThanOrEqual(1514);
    });
    expect(Buffer.concat(segs.map((s) => s.payload))).toEqual(Buffer.from(pattern(10000)));
  });

  it('CWR only on the first segment; ECE, URG and the urgent pointer copied to all', () => {
    const f = frame({ ip: { v: 4 }, l4: { kind: 'tcp', flags: CWR | ECE | URG | ACK, urg: 77, options: TS_OPTS }, payload: pattern(5000) });
    const segs = tcpSegments(runGso([pkt(f)], { mss: 1448 }).out);
    segs.forEach((s, k) => {
      expect(s.flags & CWR).toBe(k === 0 ? CWR : 0);
      expect(s.flags & (ECE | URG | ACK)).toBe(ECE | URG | ACK);
      expect(s.urg).toBe(77);
    });
  });

  it('sequence numbers wrap at 2^32', () => {
    const segs = tcpSegments(runGso([pkt(tcp4(6000, {}, ACK, 0xfffff000))], { mss: 1448 }).out);
    expect(segs.map((s) => s.seq)).toEqual([0xfffff000, 0xfffff5a8, 0xfffffb50, 0x000000f8, 0x000006a0]);
    segs.forEach((s) => expect(checksumProblems(s.data)).toEqual([]));
  });

  it('payload exactly k·M gives k full segments', () => {
    const segs = tcpSegments(runGso([pkt(tcp4(4 * 1448))], { mss: 1448 }).out);
    expect(segs.map((s) => s.payload.length)).toEqual([1448, 1448, 1448, 1448]);
  });

  it('payload ≤ M is not segmented (tcp_gso_segment is never asked): leaves as one packet with a complete checksum', () => {
    const p = pkt(tcp4(1000));
    p.gsoSize = 1448;
    p.gsoType = GSO.TCPV4;
    const r = runGso([p], {});
    expect(r.out.length).toBe(1);
    expect(r.out[0]!.gsoSize).toBe(0);
    expect(checksumProblems(r.out[0]!.data)).toEqual([]);
  });

  it('IPv4 options are carried into every segment', () => {
    const f = frame({ ip: { v: 4, options: [0x94, 4, 0, 0] }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(4000) });
    const out = runGso([pkt(f)], { mss: 1000 }).out;
    expect(out.length).toBe(4);
    for (const p of out) {
      expect(p.data[14]).toBe(0x46);
      expect(Array.from(p.data.subarray(34, 38))).toEqual([0x94, 4, 0, 0]);
      expect(checksumProblems(p.data)).toEqual([]);
    }
  });

  it('IPv6 with extension headers: payload length includes them, every segment repeats them', () => {
    const f = frame({ ip: { v: 6, ext: [[0, 8], [60, 16]] }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(5000) });
    const out = runGso([pkt(f)], { mss: 1400 }).out;
    expect(out.length).toBe(4);
    for (const p of out) {
      const L = layers(p.data);
      expect(L.ipHdrLen).toBe(64);
      expect(u16(p.data, 14 + 4)).toBe(p.data.length - 14 - 40);
      expect(checksumProblems(p.data)).toEqual([]);
    }
  });

  it('VLAN-tagged (and QinQ) super-packets: tags repeated in every segment', () => {
    for (const vlan of [[100], [100, 200]]) {
      const out = runGso([pkt(tcp4(5000, { vlan }))], { mss: 1448 }).out;
      expect(out.length).toBe(4);
      for (const p of out) {
        expect(u16(p.data, 12)).toBe(0x8100);
        expect(u16(p.data, 14)).toBe(100);
        expect(checksumProblems(p.data)).toEqual([]);
      }
    }
  });

  it('TCP_FIXEDID keeps the IPv4 ID on every segment', () => {
    const p = pkt(tcp4(5000));
    p.gsoSize = 1448;
    p.gsoType = GSO.TCPV4 | GSO.TCP_FIXEDID;
    const out = runGso([p], {}).out;
    for (const s of out) expect(u16(s.data, 18)).toBe(0x4000);
  });
});

describe('UDP GSO (UDP_L4)', () => {
  it('each segment a full datagram: UDP length, checksum, IP length, ID + k', () => {
    const f = frame({ ip: { v: 4, id: 7 }, l4: { kind: 'udp' }, payload: pattern(5000) });
    const out = runGso([pkt(f)], {}).out; // auto: 1500 − 20 − 8 = 1472
    expect(out.map((p) => p.length)).toEqual([1514, 1514, 1514, 14 + 28 + 5000 - 3 * 1472]);
    out.forEach((p, k) => {
      expect(u16(p.data, 14 + 20 + 4)).toBe(p.length - 34);
      expect(u16(p.data, 18)).toBe(7 + k);
      expect(checksumProblems(p.data)).toEqual([]);
    });
  });

  it('a computed UDP checksum of 0 is sent as 0xFFFF', () => {
    // Find a payload whose second segment sums to a zero checksum by adjusting two bytes.
    const payload = pattern(3000);
    const f0 = frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload });
    const seg = runGso([pkt(f0)], { mss: 1000 }).out[1]!.data;
    const c = u16(seg, 40);
    // Adding (c) to the segment's first payload word drives the checksum to 0 (one's complement).
    const w = ((payload[1000]! << 8) | payload[1001]!) + c;
    const nw = (w & 0xffff) + (w >>> 16);
    payload[1000] = nw >>> 8;
    payload[1001] = nw & 0xff;
    const f1 = frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload });
    const seg1 = runGso([pkt(f1)], { mss: 1000 }).out[1]!.data;
    expect(u16(seg1, 40)).toBe(0xffff);
    expect(checksumProblems(seg1)).toEqual([]);
  });
});

describe('VXLAN tunnel GSO', () => {
  function tunnelPkt(csum: boolean, v: 4 | 6 = 4, innerV: 4 | 6 = 4): Packet {
    const inner = frame({ ip: innerV === 4 ? { v: 4, src: '10.0.0.1', dst: '10.0.0.2', id: 50 } : { v: 6, src: '2001:db8:9::1', dst: '2001:db8:9::2' }, l4: { kind: 'tcp', options: TS_OPTS, flags: FIN | PSH | ACK }, payload: pattern(6000) });
    const p = pkt(vxlan(inner, { csum, v, id: 0x100 }));
    const L = layers(p.data);
    p.encapsulation = true;
    p.innerMacOff = p.head + L.transOff + 16;
    p.innerProtocol = 0x6558;
    p.gsoSize = 1398;
    p.gsoType = (innerV === 4 ? GSO.TCPV4 : GSO.TCPV6) | (csum ? GSO.UDP_TUNNEL_CSUM : GSO.UDP_TUNNEL);
    return p;
  }

  for (const csum of [false, true]) {
    for (const v of [4, 6] as const) {
      it(`outer IPv${v}, ${csum ? 'UDP_TUNNEL_CSUM' : 'UDP_TUNNEL'}: outer lengths/IDs per segment, VXLAN identical, inner segmented`, () => {
        const out = runGso([tunnelPkt(csum, v)], {}, 'none', 'wire').out;
        expect(out.length).toBe(Math.ceil(6000 / 1398));
        const payloads: Uint8Array[] = [];
        out.forEach((p, k) => {
          const O = layers(p.data);
          const u = O.transOff;
          expect(u16(p.data, u + 4)).toBe(p.length - u);
          if (v === 4) {
            expect(u16(p.data, 14 + 2)).toBe(p.length - 14);
            expect(u16(p.data, 18)).toBe(0x100 + k);
          } else expect(u16(p.data, 14 + 4)).toBe(p.length - 54);
          if (!csum) expect(u16(p.data, u + 6)).toBe(0);
          expect(Array.from(p.data.subarray(u + 8, u + 16))).toEqual([8, 0, 0, 0, 0, 0, 42, 0]);
          const I = layers(p.data, u + 16);
          expect(u16(p.data, I.netOff + 4)).toBe(50 + k);
          expect(u32(p.data, I.transOff + 4)).toBe(1000 + k * 1398);
          payloads.push(p.data.subarray(I.payloadOff, I.ipEnd));
          expect(checksumProblems(p.data)).toEqual([]);
        });
        expect(Buffer.concat(payloads)).toEqual(Buffer.from(pattern(6000)));
      });
    }
  }

  it('driver view, mlx5 with outer csum → GSO partial: chunk of ⌊P/M⌋·M with one-segment lengths, remainder', () => {
    const out = runGso([tunnelPkt(true)], {}, 'mlx5', 'driver').out;
    expect(out.length).toBe(2);
    const [chunk, rem] = out as [Packet, Packet];
    const P = 6000, M = 1398, k = Math.floor(P / M);
    expect(chunk.gsoSegs).toBe(k);
    expect(chunk.gsoType & GSO.PARTIAL).toBeTruthy();
    expect(chunk.notes).toEqual([`gso type=tcpv4+udp_tunnel_csum+partial size=${M} segs=${k}`]);
    const O = layers(chunk.data);
    // Outer IPv4 total length and outer UDP length describe one M-sized segment.
    const innerHdr = 14 + 20 + 32;
    expect(u16(chunk.data, 16)).toBe(20 + 8 + 8 + innerHdr + M);
    expect(u16(chunk.data, O.transOff + 4)).toBe(8 + 8 + innerHdr + M);
    expect(chunk.length).toBe(14 + 20 + 8 + 8 + innerHdr + k * M);
    const innerIp = O.transOff + 16 + 14;
    expect(u16(chunk.data, innerIp + 2)).toBe(20 + 32 + M);
    // Inner TCP: checksum partial over the whole chunk.
    expect(chunk.csumMode).toBe(CSUM.PARTIAL);
    const t = innerIp + 20;
    expect(u16(chunk.data, t + 16)).toBe(fold(pseudoV4(chunk.data, innerIp + 12, innerIp + 16, 6, 32 + k * M)));
    expect(rem.gsoSize).toBe(0);
    expect(u32(rem.data, layers(rem.data, O.transOff + 16).transOff + 4)).toBe(1000 + k * M);
    expect(u16(rem.data, 18)).toBe(0x100 + k);
  });

  it('ixgbe: VXLAN+TCPv4 segmented in software (driver view), inner checksum left partial, outer UDP by LCO', () => {
    const out = runGso([tunnelPkt(true)], {}, 'ixgbe', 'driver').out;
    expect(out.length).toBe(5);
    for (const p of out) {
      expect(p.csumMode).toBe(CSUM.PARTIAL);
      expect(p.notes).toBeNull();
      // Completing the inner checksum gives the wire frame, whose outer checksum already verifies.
      const c = p.clone();
      const s = c.csumStart;
      const start = s;
      let acc = 0;
      for (let i = start; i < c.tail; i += 2) acc += (c.buf[i]! << 8) | (i + 1 < c.tail ? c.buf[i + 1]! : 0);
      const v = ~fold(acc) & 0xffff;
      c.buf[s + c.csumOffset] = v >>> 8;
      c.buf[s + c.csumOffset + 1] = v & 0xff;
      expect(checksumProblems(c.data)).toEqual([]);
    }
  });
});

describe('MPLS GSO', () => {
  it('segments the inner packet and repeats the identical label stack', () => {
    const f = tcp4(5000, { mpls: [100, 200] });
    const out = runGso([pkt(f)], { mss: 1400 }).out;
    expect(out.length).toBe(4);
    out.forEach((p, k) => {
      expect(Array.from(p.data.subarray(12, 22))).toEqual(Array.from(f.subarray(12, 22)));
      expect(u32(p.data, 22 + 20 + 4)).toBe(1000 + k * 1400);
      expect(checksumProblems(p.data)).toEqual([]);
    });
  });

  it('a stack length that is not a positive multiple of 4 drops mpls-gso-bad-stack', () => {
    const p = pkt(tcp4(5000, { mpls: [100] }));
    p.gsoSize = 1400;
    p.gsoType = GSO.TCPV4;
    p.netOff = p.head + 14;
    p.innerNetOff = p.head + 14 + 3;
    const r = runGso([p], {});
    expect(r.drops).toEqual(['mpls-gso-bad-stack']);
  });
});

describe('bad super-packets', () => {
  it('gso_type that does not match the headers → gso-bad-header', () => {
    const p = pkt(tcp4(5000));
    p.gsoSize = 1000;
    p.gsoType = GSO.UDP_L4;
    expect(runGso([p], {}).drops).toEqual(['gso-bad-header']);
    const q = pkt(tcp4(5000));
    q.gsoSize = 1000;
    q.gsoType = GSO.TCPV6;
    expect(runGso([q], {}).drops).toEqual(['gso-bad-header']);
  });

  it('a snaplen-truncated super-packet passes unchanged with a warning and a note', () => {
    const f = tcp4(5000);
    const p = new Packet(Packet.fromBytes(f.subarray(0, 200)).buf, 128, 328, f.length);
    const r = runGso([p], {});
    expect(r.drops).toEqual([]);
    expect(r.out.length).toBe(1);
    expect(r.out[0]!.notes).toEqual(['gso not applied: capture truncated']);
    expect(r.warnings.length).toBe(1);
  });
});

describe('gsoMaxSegs fallback', () => {
  it('a profile whose gsoMaxSegs is below the segment count gets software segmentation', async () => {
    const { parseProfile, profileToJson, loadProfile } = await import('../../pipeline/nic/profile.js');
    const { Egress } = await import('../../pipeline/egress.js');
    const { egressOptions } = await import('../../pipeline/egress-options.js');
    const nic = parseProfile({ ...profileToJson(loadProfile('veth')), name: 'veth-4segs', gsoMaxSegs: 4 }, 'test');
    const out: Packet[] = [];
    const st = new Egress(egressOptions.parse({}), { nic, view: 'driver', vxlanPorts: [4789, 8472] });
    const ctx = { emit: (p: Packet) => void out.push(p), drop: () => {}, warnOnce: () => {} };
    st.process(pkt(tcp4(5 * 1448)), ctx);
    expect(out.length).toBe(5);
    st.process(pkt(tcp4(4 * 1448)), ctx);
    expect(out.length).toBe(6);
    expect(out[5]!.notes).toEqual(['gso type=tcpv4 size=1448 segs=4']);
    expect(NO_OFFSET).toBe(-1);
  });
});
