/**
 * Property tests: decap(encap(p)) gives back p and its metadata; encap(decap(q)) gives back q
 * (outer IPv4 ID and UDP source port masked: capflow's ID counter cannot know q's, and a
 * received source port is not reused on transmit).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { vxlanEncap } from '../../stages/vxlan-encap.js';
import { vxlanDecap } from '../../stages/vxlan-decap.js';
import { TUNNEL } from '../../pipeline/metadata.js';
import { ETH_P_IP, ETH_P_IPV6, eth, icmp6Echo, icmpEcho, ipv4, ipv6, tcp, udp, vxlanFrame, TCP_ACK } from '../kernel/frames.js';
import { completeChecksum, hex, make, pkt, run, txInfo, withVlan } from './vxlan-frames.js';

const OUTER_SRC_MAC = '02:00:00:00:0a:01';
const OUTER_DST_MAC = '02:00:00:00:0b:01';

const innerArb = fc
  .record({
    v6: fc.boolean(),
    l4: fc.constantFrom('tcp', 'udp', 'icmp'),
    tos: fc.integer({ min: 0, max: 255 }),
    sport: fc.integer({ min: 1, max: 65535 }),
    dport: fc.integer({ min: 1, max: 65535 }),
    payload: fc.uint8Array({ minLength: 0, maxLength: 300 }),
    vlan: fc.option(fc.integer({ min: 1, max: 4094 }), { nil: undefined }),
    hostA: fc.integer({ min: 1, max: 254 }),
    hostB: fc.integer({ min: 1, max: 254 }),
  })
  .map((o) => {
    const pay = Buffer.from(o.payload);
    const s = o.v6 ? `fd00::${o.hostA.toString(16)}` : `10.0.0.${o.hostA}`;
    const d = o.v6 ? `fd00::1:${o.hostB.toString(16)}` : `10.0.1.${o.hostB}`;
    const proto = o.l4 === 'tcp' ? 6 : o.l4 === 'udp' ? 17 : o.v6 ? 58 : 1;
    const l4 =
      o.l4 === 'tcp'
        ? tcp({ src: s, dst: d, sport: o.sport, dport: o.dport, flags: TCP_ACK }, pay)
        : o.l4 === 'udp'
          ? udp({ src: s, dst: d, sport: o.sport, dport: o.dport }, pay)
          : o.v6
            ? icmp6Echo(s, d, o.sport, o.dport, pay)
            : icmpEcho(o.sport, o.dport, pay);
    const ip = o.v6 ? ipv6({ src: s, dst: d, next: proto, tclass: o.tos }, l4) : ipv4({ src: s, dst: d, proto, tos: o.tos, id: o.sport }, l4);
    const f = eth('02:00:00:00:00:99', '02:00:00:00:00:11', o.v6 ? ETH_P_IPV6 : ETH_P_IP, ip);
    return o.vlan === undefined ? f : withVlan(f, o.vlan);
  });

/** The inner ECN as ip_tunnel_ecn_encap puts it in the outer header. */
function innerEcn(frame: Uint8Array): number {
  let off = 12;
  let type = (frame[off]! << 8) | frame[off + 1]!;
  while (type === 0x8100 || type === 0x88a8) {
    off += 4;
    type = (frame[off]! << 8) | frame[off + 1]!;
  }
  const ip = off + 2;
  if (type === 0x0800) return frame[ip + 1]! & 3;
  if (type === 0x86dd) return (frame[ip + 1]! >> 4) & 3;
  return 0;
}
const encEcn = (e: number) => (e === 3 ? 2 : e);

describe('vxlan round trips (fast-check)', () => {
  it('decap(encap(p)) === p, and the metadata comes back (as RX metadata)', () => {
    fc.assert(
      fc.property(
        innerArb,
        fc.record({
          v6: fc.boolean(),
          vni: fc.integer({ min: 0, max: 0xffffff }),
          tos: fc.integer({ min: 0, max: 255 }),
          ttl: fc.integer({ min: 0, max: 255 }),
          csum: fc.boolean(),
          df: fc.boolean(),
          label: fc.integer({ min: 0, max: 0xfffff }),
          tpSrc: fc.integer({ min: 0, max: 65535 }),
          tpDst: fc.integer({ min: 0, max: 65535 }),
        }),
        (inner, m) => {
          const t = txInfo({ ...m, src: m.v6 ? '2001:db8::1' : '192.0.2.1', dst: m.v6 ? '2001:db8::2' : '192.0.2.2', label: m.v6 ? m.label : 0 });
          const p = pkt(inner);
          p.tunnel = t;
          const e = run(make(vxlanEncap, { outerEth: { src: OUTER_SRC_MAC, dst: OUTER_DST_MAC } }), p);
          expect(e.drops).toEqual([]);
          completeChecksum(p);
          const d = run(make(vxlanDecap, { ports: [m.tpDst || 4789], udp6ZeroCsumRx: true }), p);
          expect(d.drops).toEqual([]);
          expect(hex(p.data)).toBe(hex(inner));
          expect(p.origLen).toBe(inner.length);
          const r = p.tunnel!;
          expect(r.vni).toBe(m.vni);
          expect(r.ipv6).toBe(m.v6);
          expect(r.srcString()).toBe(t.srcString());
          expect(r.dstString()).toBe(t.dstString());
          expect(r.tos).toBe((m.tos & 0xfc) | encEcn(innerEcn(inner)));
          expect(r.ttl).toBe(m.ttl || 64);
          expect(r.label).toBe(m.v6 ? m.label : 0);
          expect(r.tpDst).toBe(m.tpDst || 4789);
          if (m.tpSrc) expect(r.tpSrc).toBe(m.tpSrc);
          // DF comes back from the outer IPv4 header (ip_tun_rx_dst); IPv6 has none.
          expect(r.flags).toBe(TUNNEL.KEY | (m.csum ? TUNNEL.CSUM : 0) | (m.df && !m.v6 ? TUNNEL.DONT_FRAGMENT : 0));
          expect(r.tx).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('encap(decap(q)) === q (outer IPv4 ID and UDP source port masked)', () => {
    fc.assert(
      fc.property(
        innerArb,
        fc.record({
          v6: fc.boolean(),
          vni: fc.integer({ min: 0, max: 0xffffff }),
          dscp: fc.integer({ min: 0, max: 63 }),
          ttl: fc.integer({ min: 1, max: 255 }),
          csum: fc.boolean(),
          label: fc.integer({ min: 0, max: 0xfffff }),
          sport: fc.integer({ min: 1, max: 65535 }),
          id: fc.integer({ min: 0, max: 65535 }),
          df: fc.boolean(),
        }),
        (inner, m) => {
          const q = vxlanFrame(
            {
              underlay: m.v6 ? 'ipv6' : 'ipv4',
              srcMac: OUTER_SRC_MAC,
              dstMac: OUTER_DST_MAC,
              src: m.v6 ? '2001:db8::1' : '192.0.2.1',
              dst: m.v6 ? '2001:db8::2' : '192.0.2.2',
              vni: m.vni,
              tos: (m.dscp << 2) | encEcn(innerEcn(inner)),
              ttl: m.ttl,
              id: m.id,
              flowLabel: m.v6 ? m.label : undefined,
              sport: m.sport,
              udpCsum: m.csum ? 'valid' : 'zero',
              df: m.df,
            },
            inner,
          );
          // The outer DF bit, set or clear, survives: it travels in the metadata.
          const qq = Buffer.from(q);
          const p = pkt(qq);
          const d = run(make(vxlanDecap, { udp6ZeroCsumRx: true }), p);
          expect(d.drops).toEqual([]);
          const e = run(make(vxlanEncap, { outerEth: { src: OUTER_SRC_MAC, dst: OUTER_DST_MAC } }), p);
          expect(e.drops).toEqual([]);
          const out = Buffer.from(completeChecksum(p));
          if (!m.v6) {
            // Mask the ID (and so the header checksum) on both sides.
            for (const b of [out, qq]) {
              b.writeUInt16BE(0, 18);
              b.writeUInt16BE(0, 24);
            }
          }
          // The received source port is not reused (transmit hashes the inner flow, as the
          // kernel does): mask it, and the outer UDP checksum that covers it.
          const udpOff = m.v6 ? 54 : 34;
          expect(out.readUInt16BE(udpOff)).toBeGreaterThanOrEqual(32768);
          expect(out.readUInt16BE(udpOff)).toBeLessThan(60999);
          expect(out.readUInt16BE(udpOff + 6) === 0).toBe(!m.csum);
          for (const b of [out, qq]) {
            b.writeUInt16BE(0, udpOff);
            b.writeUInt16BE(0, udpOff + 6);
          }
          expect(out.toString('hex')).toBe(qq.toString('hex'));
        },
      ),
      { numRuns: 300 },
    );
  });
});
