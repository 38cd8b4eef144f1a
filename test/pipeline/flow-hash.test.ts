/**
 * The flow hash behind vxlan-encap's UDP source port is a deterministic rule: the same frame
 * gets the same port in every capflow version. These values were computed by the first
 * implementation (a byte-by-byte address comparison); any rewrite must keep every one of them,
 * over IPv4 and IPv6, each order of addresses and ports, equal addresses, VLAN tags, ICMP,
 * fragments (no ports hashed) and frames that are not IP.
 */
import { describe, expect, it } from 'vitest';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { flowHash, flowHashBits, udpFlowSrcPort } from '../../pipeline/flow-hash.js';
import { frame, pattern } from '../gso/build.js';
import { arpFrame, innerIcmp4, innerIcmp6, innerTcp4, innerUdp4, innerUdp6, withVlan } from '../stages/vxlan-frames.js';

const tcp4 = (src: string, dst: string, sport: number, dport: number) => frame({ ip: { v: 4, src, dst }, l4: { kind: 'tcp', sport, dport }, payload: pattern(20) });
const udp6 = (src: string, dst: string, sport: number, dport: number) => frame({ ip: { v: 6, src, dst }, l4: { kind: 'udp', sport, dport }, payload: pattern(9) });

const FRAMES: Array<[string, Uint8Array, number]> = [
  ['TCP over IPv4', innerTcp4(), 0xf49249b1],
  ['UDP over IPv4', innerUdp4(), 0x27a45e74],
  ['UDP over IPv4, the reverse direction', innerUdp4({ src: '10.0.0.2', dst: '10.0.0.1', sport: 4789, dport: 1234 }), 0x292abf14],
  ['IPv4, source above destination in the first byte', tcp4('203.0.113.9', '10.1.2.3', 80, 5555), 0x67ecfb03],
  ['IPv4, reversed', tcp4('10.1.2.3', '203.0.113.9', 5555, 80), 0x67ecfb03],
  ['IPv4, addresses differing in the last byte', tcp4('192.0.2.200', '192.0.2.7', 1, 2), 0xd8e21906],
  ['IPv4, addresses above 128.0.0.0 (sign bit)', tcp4('200.0.0.1', '150.0.0.1', 443, 50000), 0x122fc7aa],
  ['IPv4, equal addresses, source port above', tcp4('198.51.100.1', '198.51.100.1', 9000, 80), 0x89073fe3],
  ['IPv4, equal addresses, source port below', tcp4('198.51.100.1', '198.51.100.1', 80, 9000), 0x89073fe3],
  ['IPv4 first fragment (ports not hashed)', frame({ ip: { v: 4, frag: 0x2000 }, l4: { kind: 'udp', sport: 7, dport: 8 }, payload: pattern(40) }), 0x38440ada],
  ['IPv4 later fragment', frame({ ip: { v: 4, frag: 0x2000 | 5 }, l4: { kind: 'udp', sport: 7, dport: 8 }, payload: pattern(40) }), 0x38440ada],
  ['IPv4 with options', frame({ ip: { v: 4, options: [0x83, 7, 4, 0, 0, 0, 0] }, l4: { kind: 'tcp', sport: 3, dport: 4 }, payload: pattern(5) }), 0x43907780],
  ['ICMP over IPv4', innerIcmp4(), 0x5e315f2b],
  ['TCP over IPv4 under VLAN', withVlan(innerTcp4(), 5), 0xf49249b1],
  ['UDP over IPv4 under QinQ', withVlan(withVlan(innerUdp4(), 7), 9, 0x88a8), 0x27a45e74],
  ['UDP over IPv6', innerUdp6(), 0x4d8f2397],
  ['IPv6, addresses differing in the last word', udp6('2001:db8::2', '2001:db8::1', 10, 20), 0xb8dc8681],
  ['IPv6, reversed', udp6('2001:db8::1', '2001:db8::2', 20, 10), 0xb8dc8681],
  ['IPv6, addresses differing in the first word', udp6('2001:db9::1', '2001:db8::ffff:1', 10, 20), 0xf2fe8f78],
  ['IPv6, high bit set', udp6('ff02::1', '2001:db8::1', 5353, 5353), 0xc67c2a29],
  ['IPv6, equal addresses, source port above', udp6('2001:db8::5', '2001:db8::5', 600, 500), 0xa84bdae3],
  ['ICMPv6', innerIcmp6(), 0x11dc478b],
  ['ARP (MAC addresses and EtherType)', arpFrame(), 0x9ed1c206],
];

describe('flowHash: pinned values', () => {
  it.each(FRAMES)('%s', (_name, f, want) => {
    const L = new Layers();
    decodeFrame(f, 0, f.length, L);
    expect(flowHash(f, L)).toBe(want);
  });

  it('the same hash with the frame at any offset of a larger buffer', () => {
    for (const [, f, want] of FRAMES) {
      for (let at = 1; at < 5; at++) {
        const b = new Uint8Array(f.length + 9).fill(0xa5);
        b.set(f, at);
        const L = new Layers();
        decodeFrame(b, at, at + f.length, L);
        expect(flowHash(b, L)).toBe(want);
      }
    }
  });

  it('flowHashBits: the same 32 bits, signed, and the same source port from them', () => {
    for (const [, f, want] of FRAMES) {
      const L = new Layers();
      decodeFrame(f, 0, f.length, L);
      const bits = flowHashBits(f, L);
      expect(bits).toBe(want | 0);
      expect(udpFlowSrcPort(bits, 32768, 61000)).toBe(udpFlowSrcPort(want, 32768, 61000));
    }
    // Both signs among the pinned values: the test covers hashes of 2^31 and above.
    expect(FRAMES.some(([, , h]) => h >= 2 ** 31) && FRAMES.some(([, , h]) => h < 2 ** 31)).toBe(true);
  });

  it('udpFlowSrcPort of the pinned hashes', () => {
    expect(FRAMES.map(([, , h]) => udpFlowSrcPort(h, 32768, 61000))).toEqual([
      53626, 46201, 49337, 50075, 50075, 54150, 56315, 52937, 52937, 38350, 38350, 38509, 32889, 53626, 46201, 44909, 39645, 39645, 46611, 58831, 45412, 42289, 43006,
    ]);
  });
});
