import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DECODE, Layers, decodeFrame, decodeIp, decodePacket, type DecodeLayer } from '../../pipeline/decode.js';
import { NO_OFFSET, Packet, HEADROOM } from '../../pipeline/packet.js';
import { ETHER_TYPE } from '../../pipeline/wire/ether-type.js';
import { IP_PROTO } from '../../pipeline/wire/ip-proto.js';
import * as ipv4 from '../../pipeline/wire/ipv4.js';
import * as tcp from '../../pipeline/wire/tcp.js';
import * as udp from '../../pipeline/wire/udp.js';
import { SYN, VLAN_TCP, QINQ_UDP, IPV6_EXT_UDP, IPV4_OPTS_UDP, MPLS_ICMP, VXLAN, hex } from './golden-frames.js';

const L = new Layers();

function decode(b: Uint8Array, end = b.length): Layers {
  decodeFrame(b, 0, end, L);
  return L;
}

/** Every offset set in L lies in [off, end]. */
function expectInRange(l: Layers, off: number, end: number): void {
  const offs = [l.stopOff, l.macOff, l.vlanOff0, l.vlanOff1, l.ethTypeOff, l.mplsOff, l.netOff, l.transOff, l.payloadOff, l.ipEnd];
  for (const o of offs) {
    if (o === NO_OFFSET) continue;
    expect(o).toBeGreaterThanOrEqual(off);
    expect(o).toBeLessThanOrEqual(end);
  }
  if (l.transOff !== NO_OFFSET) expect(l.transOff + l.l4HdrLen).toBeLessThanOrEqual(end);
  if (l.netOff !== NO_OFFSET && l.ipHdrLen > 0) expect(l.netOff + l.ipHdrLen).toBeLessThanOrEqual(end);
  expect(Number.isInteger(l.status)).toBe(true);
}

describe('decodeFrame', () => {
  it('Ethernet / IPv4 / TCP with options', () => {
    const l = decode(SYN);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({
      stopLayer: 'tcp',
      stopOff: 62,
      macOff: 0,
      vlanCount: 0,
      vlanOff0: NO_OFFSET,
      etherType: ETHER_TYPE.IPV4,
      ethTypeOff: 12,
      mplsOff: NO_OFFSET,
      mplsCount: 0,
      netOff: 14,
      netProto: ETHER_TYPE.IPV4,
      ipHdrLen: 20,
      l4Proto: IP_PROTO.TCP,
      transOff: 34,
      l4HdrLen: 28,
      payloadOff: 62,
      ipEnd: 62,
      ipLenMismatch: false,
      isFragment: false,
    });
  });

  it('802.1Q / IPv4 / TCP', () => {
    const l = decode(VLAN_TCP);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({ vlanCount: 1, vlanOff0: 12, vlanOff1: NO_OFFSET, ethTypeOff: 16, etherType: ETHER_TYPE.IPV4 });
    expect(l).toMatchObject({ netOff: 18, transOff: 38, l4HdrLen: 20, payloadOff: 58, ipEnd: 64, stopLayer: 'tcp' });
  });

  it('QinQ / IPv4 / UDP', () => {
    const l = decode(QINQ_UDP);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({ vlanCount: 2, vlanOff0: 12, vlanOff1: 16, ethTypeOff: 20, netOff: 22 });
    expect(l).toMatchObject({ l4Proto: IP_PROTO.UDP, transOff: 42, l4HdrLen: 8, payloadOff: 50, ipEnd: 54, stopLayer: 'udp' });
  });

  it('a third VLAN tag is UNSUPPORTED at the tag', () => {
    // 88a8 / 8100 / 8100 / IPv4
    const b = new Uint8Array(QINQ_UDP.length + 4);
    b.set(QINQ_UDP.subarray(0, 20));
    b.set(hex('81000001'), 20);
    b.set(QINQ_UDP.subarray(20), 24);
    const l = decode(b);
    expect(l.status).toBe(DECODE.UNSUPPORTED);
    expect(l).toMatchObject({ stopLayer: 'vlan', stopOff: 20, vlanCount: 2, netOff: NO_OFFSET });
  });

  it('IPv6 with hop-by-hop + routing + fragment headers / UDP', () => {
    const l = decode(IPV6_EXT_UDP);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({
      etherType: ETHER_TYPE.IPV6,
      netOff: 14,
      netProto: ETHER_TYPE.IPV6,
      ipHdrLen: 40 + 8 + 24 + 8,
      l4Proto: IP_PROTO.UDP,
      transOff: 94,
      l4HdrLen: 8,
      payloadOff: 102,
      ipEnd: 106,
      isFragment: true,
      stopLayer: 'udp',
    });
  });

  it('IPv6 non-first fragment: no L4 decode', () => {
    const b = IPV6_EXT_UDP.slice();
    b[86 + 2] = 0x00;
    b[86 + 3] = 0xb9; // offset 23 (184 bytes), M=1
    const l = decode(b);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({ isFragment: true, l4Proto: IP_PROTO.UDP, transOff: NO_OFFSET, payloadOff: 94, stopLayer: 'ipv6-ext' });
  });

  it('IPv6 AH and destination options are walked; ESP stops as opaque payload', () => {
    // IPv6 (next AH) / AH len 1 -> 12 bytes (next DSTOPTS) / DSTOPTS 8 bytes (next ESP) / ESP...
    const ah = hex('3c01 0000 00000001 00000001');
    const dst = hex('3201 0000 00000000 0000000000000000'); // len 1 -> 16 bytes
    const esp = hex('00000001 00000001 deadbeef');
    const payload = new Uint8Array([...ah, ...dst, ...esp]);
    const b = new Uint8Array(54 + payload.length);
    b.set(IPV6_EXT_UDP.subarray(0, 54));
    b[14 + 4] = 0;
    b[14 + 5] = payload.length;
    b[14 + 6] = IP_PROTO.AH;
    b.set(payload, 54);
    const l = decode(b);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({ ipHdrLen: 40 + 12 + 16, l4Proto: IP_PROTO.ESP, transOff: 82, l4HdrLen: 0, payloadOff: 82, stopLayer: 'ipv6-ext' });
  });

  it('IPv4 with options / UDP', () => {
    const l = decode(IPV4_OPTS_UDP);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({ netOff: 14, ipHdrLen: 24, transOff: 38, payloadOff: 46, ipEnd: 50, stopLayer: 'udp' });
  });

  it('MPLS 2-label stack / IPv4 / ICMP', () => {
    const l = decode(MPLS_ICMP);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({
      etherType: ETHER_TYPE.MPLS_UC,
      ethTypeOff: 12,
      mplsOff: 14,
      mplsCount: 2,
      netOff: 22,
      netProto: ETHER_TYPE.IPV4,
      l4Proto: IP_PROTO.ICMP,
      transOff: 42,
      l4HdrLen: 8,
      payloadOff: 50,
      stopLayer: 'icmp',
    });
  });

  it('MPLS with a payload that is neither IPv4 nor IPv6 is UNSUPPORTED after BoS', () => {
    const b = MPLS_ICMP.slice();
    b[22] = 0x00; // pseudowire control word
    const l = decode(b);
    expect(l.status).toBe(DECODE.UNSUPPORTED);
    expect(l).toMatchObject({ stopLayer: 'mpls', stopOff: 22, mplsCount: 2, netOff: NO_OFFSET });
  });

  it('MPLS stack without BoS runs into the end: TRUNCATED', () => {
    const b = MPLS_ICMP.slice(0, 22);
    b[20] &= 0xfe; // clear BoS of the 2nd label
    const l = decode(b);
    expect(l.status).toBe(DECODE.TRUNCATED);
    expect(l).toMatchObject({ stopLayer: 'mpls', stopOff: 22, mplsCount: 2 });
  });

  it('VXLAN in UDP: the outer decodes to UDP; the inner frame decodes from the VXLAN payload', () => {
    const l = decode(VXLAN);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({ netOff: 14, l4Proto: IP_PROTO.UDP, transOff: 34, payloadOff: 42, stopLayer: 'udp' });
    expect(udp.dstPort(VXLAN, l.transOff)).toBe(4789);
    const inner = new Layers();
    expect(decodeFrame(VXLAN, l.payloadOff + 8, VXLAN.length, inner)).toBe(DECODE.OK);
    expect(inner).toMatchObject({ macOff: 50, netOff: 64, transOff: 84, l4Proto: IP_PROTO.ICMP, stopLayer: 'icmp' });
  });

  it('unknown EtherType (ARP) is OK with the payload at netOff', () => {
    const b = new Uint8Array(42);
    b.set(SYN.subarray(0, 12));
    b[12] = 0x08;
    b[13] = 0x06;
    const l = decode(b);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({ etherType: ETHER_TYPE.ARP, netOff: 14, netProto: ETHER_TYPE.ARP, l4Proto: -1, transOff: NO_OFFSET, payloadOff: 14, stopLayer: 'ethernet' });
  });

  it('Ethernet padding past the IP total length is not part of the datagram', () => {
    const b = new Uint8Array(SYN.length + 10);
    b.set(SYN);
    const l = decode(b);
    expect(l.status).toBe(DECODE.OK);
    expect(l.ipEnd).toBe(62);
    expect(l.ipLenMismatch).toBe(false);
  });

  it('snaplen-truncated payload: OK, ipEnd clamped, ipLenMismatch set', () => {
    const l = decode(VLAN_TCP, 60);
    expect(l.status).toBe(DECODE.OK);
    expect(l).toMatchObject({ ipEnd: 60, ipLenMismatch: true, payloadOff: 58 });
  });

  it('IPv4 fragments: first decodes L4, later ones stop at the IP payload', () => {
    const b = IPV4_OPTS_UDP.slice();
    ipv4.setMf(b, 14, true);
    let l = decode(b);
    expect(l).toMatchObject({ status: DECODE.OK, isFragment: true, transOff: 38 });
    ipv4.setFragOffset(b, 14, 100);
    l = decode(b);
    expect(l).toMatchObject({ status: DECODE.OK, isFragment: true, transOff: NO_OFFSET, l4Proto: IP_PROTO.UDP, payloadOff: 38, stopLayer: 'ipv4' });
  });

  describe('MALFORMED', () => {
    const cases: Array<[string, Uint8Array, DecodeLayer, number]> = [];
    {
      const b = SYN.slice();
      b[14] = 0x44; // IHL 4
      cases.push(['IPv4 IHL < 5', b, 'ipv4', 14]);
    }
    {
      const b = SYN.slice();
      b[14] = 0x55; // version 5
      cases.push(['IPv4 version != 4', b, 'ipv4', 14]);
    }
    {
      const b = IPV4_OPTS_UDP.slice();
      ipv4.setTotalLength(b, 14, 20); // < IHL*4 = 24
      cases.push(['IPv4 total length < IHL*4', b, 'ipv4', 14]);
    }
    {
      const b = SYN.slice();
      tcp.setHeaderLen(b, 34, 16);
      cases.push(['TCP data offset < 5', b, 'tcp', 34]);
    }
    {
      const b = SYN.slice();
      ipv4.setTotalLength(b, 14, 20 + 24); // TCP header (28) ends past the datagram
      cases.push(['TCP header past the IP total length', b, 'tcp', 34]);
    }
    {
      const b = QINQ_UDP.slice();
      udp.setLength(b, 42, 7);
      cases.push(['UDP length < 8', b, 'udp', 42]);
    }
    {
      const b = QINQ_UDP.slice();
      udp.setLength(b, 42, 13);
      cases.push(['UDP length > IP payload', b, 'udp', 42]);
    }
    {
      const b = IPV6_EXT_UDP.slice();
      b[14 + 5] = 20; // payload length 20: the routing header (ends at +32) does not fit
      cases.push(['IPv6 extension header past the payload length', b, 'ipv6-ext', 62]);
    }
    {
      const b = IPV6_EXT_UDP.slice();
      b[14] = 0x45;
      cases.push(['IPv6 version != 6', b, 'ipv6', 14]);
    }
    for (const [name, b, layer, off] of cases) {
      it(name, () => {
        const l = decode(b);
        expect(l.status).toBe(DECODE.MALFORMED);
        expect(l.stopLayer).toBe(layer);
        expect(l.stopOff).toBe(off);
      });
    }
  });
});

describe('truncation sweep', () => {
  function sweep(frame: Uint8Array, expected: (n: number) => [number, DecodeLayer, number]): void {
    for (let n = 0; n <= frame.length; n++) {
      const l = decode(frame, n);
      const [status, layer, off] = expected(n);
      expect([n, l.status, l.stopLayer, l.stopOff]).toEqual([n, status, layer, off]);
      expectInRange(l, 0, n);
    }
  }

  it('VLAN / IPv4 / TCP: every prefix length', () => {
    sweep(VLAN_TCP, (n) => {
      if (n < 14) return [DECODE.TRUNCATED, 'ethernet', 0];
      if (n < 18) return [DECODE.TRUNCATED, 'vlan', 12];
      if (n < 38) return [DECODE.TRUNCATED, 'ipv4', 18];
      if (n < 58) return [DECODE.TRUNCATED, 'tcp', 38];
      return [DECODE.OK, 'tcp', 58];
    });
    // Earlier layers are kept when a later one is cut.
    const l = decode(VLAN_TCP, 40);
    expect(l).toMatchObject({ vlanCount: 1, netOff: 18, ipEnd: 40, ipLenMismatch: true, transOff: NO_OFFSET });
    expect(decode(VLAN_TCP, 63).ipLenMismatch).toBe(true);
    expect(decode(VLAN_TCP, 64).ipLenMismatch).toBe(false);
  });

  it('IPv6 + extension headers / UDP: every prefix length', () => {
    sweep(IPV6_EXT_UDP, (n) => {
      if (n < 14) return [DECODE.TRUNCATED, 'ethernet', 0];
      if (n < 54) return [DECODE.TRUNCATED, 'ipv6', 14];
      if (n < 62) return [DECODE.TRUNCATED, 'ipv6-ext', 54];
      if (n < 86) return [DECODE.TRUNCATED, 'ipv6-ext', 62];
      if (n < 94) return [DECODE.TRUNCATED, 'ipv6-ext', 86];
      if (n < 102) return [DECODE.TRUNCATED, 'udp', 94];
      return [DECODE.OK, 'udp', 102];
    });
  });

  it('MPLS / IPv4 / ICMP: every prefix length', () => {
    sweep(MPLS_ICMP, (n) => {
      if (n < 14) return [DECODE.TRUNCATED, 'ethernet', 0];
      if (n < 18) return [DECODE.TRUNCATED, 'mpls', 14];
      if (n < 22) return [DECODE.TRUNCATED, 'mpls', 18];
      if (n === 22) return [DECODE.TRUNCATED, 'mpls', 22];
      if (n < 42) return [DECODE.TRUNCATED, 'ipv4', 22];
      if (n < 50) return [DECODE.TRUNCATED, 'icmp', 42];
      return [DECODE.OK, 'icmp', 50];
    });
  });
});

describe('decodeIp / decodePacket', () => {
  it('decodeIp starts at the network header', () => {
    expect(decodeIp(SYN, 14, SYN.length, ETHER_TYPE.IPV4, L)).toBe(DECODE.OK);
    expect(L).toMatchObject({ macOff: NO_OFFSET, netOff: 14, transOff: 34, etherType: ETHER_TYPE.IPV4, stopLayer: 'tcp' });
    expect(decodeIp(IPV6_EXT_UDP, 14, IPV6_EXT_UDP.length, ETHER_TYPE.IPV6, L)).toBe(DECODE.OK);
    expect(L.transOff).toBe(94);
    expect(decodeIp(SYN, 14, 20, ETHER_TYPE.IPV4, L)).toBe(DECODE.TRUNCATED);
    expect(L).toMatchObject({ stopLayer: 'ipv4', stopOff: 14 });
  });

  it('decodePacket fills the packet offsets (absolute, after the headroom)', () => {
    const pkt = Packet.fromBytes(VLAN_TCP);
    expect(decodePacket(pkt, L)).toBe(DECODE.OK);
    expect(pkt.macOff).toBe(HEADROOM);
    expect(pkt.netOff).toBe(HEADROOM + 18);
    expect(pkt.transOff).toBe(HEADROOM + 38);
    expect(pkt.protocol).toBe(ETHER_TYPE.IPV4);
    expect(L.payloadOff).toBe(HEADROOM + 58);
  });

  it('Layers is reused: a second decode leaves nothing from the first', () => {
    const l = new Layers();
    decodeFrame(QINQ_UDP, 0, QINQ_UDP.length, l);
    decodeFrame(SYN, 0, 10, l);
    const fresh = new Layers();
    decodeFrame(SYN, 0, 10, fresh);
    expect({ ...l }).toEqual({ ...fresh });
  });
});

describe('robustness (property)', () => {
  const goldens = [SYN, VLAN_TCP, QINQ_UDP, IPV6_EXT_UDP, IPV4_OPTS_UDP, MPLS_ICMP, VXLAN];

  it('random bytes never throw and offsets stay in [off, end]', () => {
    const l = new Layers();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(40), fc.nat(250), (b, off, len) => {
        const end = Math.min(off + len, b.length + 5); // sometimes past the buffer: clamped
        decodeFrame(b, off, end, l);
        const e = Math.min(end, b.length);
        if (off > e) expect(l.status).toBe(DECODE.TRUNCATED);
        else expectInRange(l, off, e);
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated golden frames never throw and offsets stay in range', () => {
    const l = new Layers();
    fc.assert(
      fc.property(
        fc.constantFrom(...goldens),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(8),
        fc.nat(),
        (g, edits, off, cut) => {
          const b = new Uint8Array(off + g.length);
          b.set(g, off);
          for (const [at, v] of edits) b[off + (at % g.length)] = v;
          const end = off + (cut % (g.length + 1));
          decodeFrame(b, off, end, l);
          expectInRange(l, off, end);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
