import { describe, expect, it } from 'vitest';
import { vxlanEncap } from '../../stages/vxlan-encap.js';
import { vxlanDecap } from '../../stages/vxlan-decap.js';
import { TUNNEL } from '../../pipeline/metadata.js';
import { CSUM, GSO } from '../../pipeline/packet.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { flowHash, udpFlowSrcPort } from '../../pipeline/flow-hash.js';
import { fold, pseudoV4 } from '../../pipeline/wire/checksum.js';
import { arpFrame, completeChecksum, hex, innerIcmp4, innerTcp4, innerUdp4, innerUdp6, make, pkt, run, testEnv, txInfo, udpChecksumOk, withVlan } from './vxlan-frames.js';

const OPTS = { src: ['192.0.2.1', '2001:db8::1'], outerEth: { src: '02:00:00:00:0a:01', dst: '02:00:00:00:0b:01' } };
const encap = (o: Record<string, unknown> = {}, mtu = 1500) => make(vxlanEncap, { ...OPTS, ...o }, testEnv(mtu));

function enc(inner: Uint8Array, info = txInfo(), o: Record<string, unknown> = {}) {
  const p = pkt(inner);
  p.tunnel = info;
  const r = run(encap(o), p);
  return { p, ...r };
}

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;

describe('vxlan-encap: outer headers from metadata and device defaults', () => {
  it('IPv4 outer: every field, payload not moved', () => {
    const inner = innerUdp4({ tos: 0 });
    const p = pkt(inner);
    p.tunnel = txInfo({ vni: 0xabcdef, tos: 0x28, ttl: 0 });
    const buf = p.buf;
    const innerAt = p.head;
    const r = run(encap(), p);
    expect(r.drops).toEqual([]);
    expect(p.buf).toBe(buf);
    expect(p.head).toBe(innerAt - 50);
    const b = p.data;
    expect(hex(b.subarray(0, 6))).toBe('020000000b01');
    expect(hex(b.subarray(6, 12))).toBe('020000000a01');
    expect(u16(b, 12)).toBe(0x0800);
    expect(b[14]).toBe(0x45);
    expect(b[15]).toBe(0x28);
    expect(u16(b, 16)).toBe(20 + 8 + 8 + inner.length);
    expect(u16(b, 20)).toBe(0); // no DF
    expect(b[22]).toBe(64); // ttl 0 → 64
    expect(b[23]).toBe(17);
    expect(hex(b.subarray(26, 34))).toBe('c0000201c0000202');
    expect(fold(sumHeader(b, 14, 34))).toBe(0xffff);
    const sport = u16(b, 34);
    expect(sport).toBeGreaterThanOrEqual(32768);
    expect(sport).toBeLessThan(60999);
    expect(u16(b, 36)).toBe(4789);
    expect(u16(b, 38)).toBe(8 + 8 + inner.length);
    expect(u16(b, 40)).toBe(0); // csum flag off
    expect(hex(b.subarray(42, 50))).toBe('08000000abcdef00');
    expect(hex(b.subarray(50))).toBe(hex(inner));
    expect(p.encapsulation).toBe(true);
    expect(p.innerMacOff).toBe(innerAt);
    expect(p.innerNetOff).toBe(innerAt + 14);
    expect(p.innerTransOff).toBe(innerAt + 34);
    expect(p.macOff).toBe(p.head);
    expect(p.netOff).toBe(p.head + 14);
    expect(p.transOff).toBe(p.head + 34);
    expect(p.protocol).toBe(0x0800);
    expect(p.innerProtocol).toBe(0x6558);
    expect(p.csumMode).toBe(CSUM.NONE);
    expect(p.origLen).toBe(inner.length + 50);
  });

  it('IPv6 outer: traffic class, flow label, hop limit, zero checksum without the csum flag (metadata mode)', () => {
    const { p } = enc(innerTcp4(), txInfo({ dst: '2001:db8::2', tos: 0xb8, ttl: 9, label: 0xabcde }));
    const b = p.data;
    expect(u16(b, 12)).toBe(0x86dd);
    expect(((b[14]! & 0x0f) << 4) | (b[15]! >> 4)).toBe(0xb8);
    expect(((b[15]! & 0x0f) << 16) | u16(b, 16)).toBe(0xabcde);
    expect(u16(b, 18)).toBe(8 + 8 + innerTcp4().length);
    expect(b[20]).toBe(17);
    expect(b[21]).toBe(9);
    expect(hex(b.subarray(22, 38))).toBe('20010db8000000000000000000000001');
    expect(u16(b, 54 + 6)).toBe(0);
    expect(p.protocol).toBe(0x86dd);
  });

  it('ECN: outer = metadata DSCP + inner ECN (inner CE → ECT(0)); metadata ECN bits discarded', () => {
    const outerTos = (innerEcn: number, mdTos: number) => enc(innerUdp4({ tos: innerEcn }), txInfo({ tos: mdTos })).p.data[15];
    expect(outerTos(0, 0x2b)).toBe(0x28);
    expect(outerTos(2, 0x2b)).toBe(0x2a);
    expect(outerTos(1, 0x28)).toBe(0x29);
    expect(outerTos(3, 0x28)).toBe(0x2a);
    expect(enc(arpFrame(), txInfo({ tos: 0x2b })).p.data[15]).toBe(0x28);
    // IPv6 inner, IPv6 outer.
    const b = enc(innerUdp6({ tc: 3 }), txInfo({ dst: '2001:db8::2', tos: 0x20 })).p.data;
    expect(((b[14]! & 0x0f) << 4) | (b[15]! >> 4)).toBe(0x22);
  });

  it('DF only from the metadata df flag; TTL from metadata', () => {
    const b = enc(innerUdp4(), txInfo({ df: true, ttl: 7 })).p.data;
    expect(u16(b, 20)).toBe(0x4000);
    expect(b[22]).toBe(7);
  });

  it('tpDst / tpSrc from metadata override device port and hash', () => {
    const b = enc(innerUdp4(), txInfo({ tpSrc: 1234, tpDst: 8472 })).p.data;
    expect(u16(b, 34)).toBe(1234);
    expect(u16(b, 36)).toBe(8472);
    expect(u16(enc(innerUdp4(), txInfo(), { dstPort: 4790 }).p.data, 36)).toBe(4790);
  });

  it('outer destination MAC from neighbours, else outerEth.dst', () => {
    const o = { neighbours: { '192.0.2.2': '02:00:00:00:00:77', '2001:db8::2': '02:00:00:00:00:66' } };
    expect(hex(enc(innerUdp4(), txInfo(), o).p.data.subarray(0, 6))).toBe('020000000077');
    expect(hex(enc(innerUdp4(), txInfo({ dst: '2001:db8::2' }), o).p.data.subarray(0, 6))).toBe('020000000066');
    expect(hex(enc(innerUdp4(), txInfo({ dst: '192.0.2.9' }), o).p.data.subarray(0, 6))).toBe('020000000b01');
  });

  it('GBP bits only with gbp: true and a VXLAN_OPT value', () => {
    const t = txInfo();
    t.flags |= TUNNEL.VXLAN_OPT;
    t.gbp = 0x00481234;
    expect(hex(enc(innerUdp4(), t, { gbp: true }).p.data.subarray(42, 46))).toBe('88481234');
    expect(hex(enc(innerUdp4(), t).p.data.subarray(42, 46))).toBe('08000000');
    expect(hex(enc(innerUdp4(), txInfo(), { gbp: true }).p.data.subarray(42, 46))).toBe('08000000');
  });

  it('metadata src wins over the device src; no source at all → no-tunnel-source', () => {
    expect(hex(enc(innerUdp4(), txInfo({ src: '192.0.2.77' })).p.data.subarray(26, 30))).toBe('c000024d');
    const p = pkt(innerUdp4());
    p.tunnel = txInfo({ dst: '2001:db8::2' });
    expect(run(make(vxlanEncap, { src: '192.0.2.1' }), p).drops).toEqual(['no-tunnel-source']);
  });

  it('no destination → no-tunnel-destination', () => {
    const t = txInfo();
    t.dst.fill(0);
    expect(enc(innerUdp4(), t).drops).toEqual(['no-tunnel-destination']);
  });

  it('the metadata is released on transmit (vxlan_xmit): a second vxlan-encap leaves the packet as it is', () => {
    const { p, drops } = enc(innerUdp4(), txInfo({ csum: true, df: true }));
    expect(drops).toEqual([]);
    expect(p.tunnel).toBeNull();
    completeChecksum(p);
    const once = hex(p.data);
    const again = run(encap({ requireMetadata: false }), p);
    expect(again.out).toEqual([p]);
    expect(hex(p.data)).toBe(once);
    expect(run(encap({ requireMetadata: true }), p).drops).toEqual(['no-tunnel-metadata']);
  });

    it('packets without metadata pass (each counted for the per-file warning) or are dropped with requireMetadata', () => {
    const p = pkt(innerUdp4());
    const r = run(encap(), [p, pkt(innerUdp4())]);
    expect(r.out.length).toBe(2);
    expect(hex(p.data)).toBe(hex(innerUdp4()));
    expect(r.warnings).toEqual(Array(2).fill('without tunnel metadata passed through unencapsulated (vxlan-encap)'));
    expect(run(encap({ requireMetadata: true }), pkt(innerUdp4())).drops).toEqual(['no-tunnel-metadata']);
  });
});

function sumHeader(b: Uint8Array, s: number, e: number): number {
  let x = 0;
  for (let i = s; i < e; i += 2) x += (b[i]! << 8) | b[i + 1]!;
  return x;
}

describe('vxlan-encap: outer UDP checksum (udp_set_csum / udp6_set_csum)', () => {
  it('csum flag, inner complete: the outer UDP checksum becomes the partial one; completing it verifies', () => {
    for (const dst of ['192.0.2.2', '2001:db8::2']) {
      const { p } = enc(innerUdp4(), txInfo({ csum: true, dst }));
      const v6 = dst.includes(':');
      const u = p.head + 14 + (v6 ? 40 : 20);
      expect(p.csumMode).toBe(CSUM.PARTIAL);
      expect(p.csumStart).toBe(u);
      expect(p.csumOffset).toBe(6);
      const b = completeChecksum(p);
      expect(udpChecksumOk(b, 14, 14 + (v6 ? 40 : 20), v6)).toBe(true);
    }
  });

  it('csum flag, inner checksum partial: outer computed now by LCO; after completing the inner one, the outer verifies', () => {
    for (const dst of ['192.0.2.2', '2001:db8::2']) {
      const inner = Buffer.from(innerTcp4({ len: 77 }));
      const p = pkt(inner);
      // Make the inner TCP checksum partial, as a local TCP socket would.
      const tcpOff = p.head + 34;
      const ps = pseudoV4(p.buf, p.head + 26, p.head + 30, 6, inner.length - 34);
      p.buf[tcpOff + 16] = fold(ps) >> 8;
      p.buf[tcpOff + 17] = fold(ps) & 0xff;
      p.csumMode = CSUM.PARTIAL;
      p.csumStart = tcpOff;
      p.csumOffset = 16;
      p.tunnel = txInfo({ csum: true, dst });
      run(encap(), p);
      const v6 = dst.includes(':');
      expect(p.csumMode).toBe(CSUM.PARTIAL);
      expect(p.csumStart).toBe(tcpOff);
      const b = completeChecksum(p);
      expect(hex(b.subarray(b.length - inner.length))).toBe(hex(innerTcp4({ len: 77 })));
      expect(udpChecksumOk(b, 14, 14 + (v6 ? 40 : 20), v6)).toBe(true);
    }
  });

  it('GSO super-packet: gso_type gains UDP_TUNNEL(_CSUM); outer field = pseudo-header sum; IPv4 IDs reserved for every segment', () => {
    const big = innerTcp4({ len: 4000 });
    const s = encap();
    const mk = (csum: boolean) => {
      const p = pkt(big);
      p.tunnel = txInfo({ csum });
      return p;
    };
    const a = mk(true);
    const b2 = mk(false);
    const c = mk(false);
    run(s, [a, b2, c]);
    expect(a.gsoSize).toBeGreaterThan(0);
    expect(a.gsoType & GSO.TCPV4).toBe(GSO.TCPV4);
    expect(a.gsoType & GSO.UDP_TUNNEL_CSUM).toBe(GSO.UDP_TUNNEL_CSUM);
    expect(b2.gsoType & (GSO.UDP_TUNNEL | GSO.UDP_TUNNEL_CSUM)).toBe(GSO.UDP_TUNNEL);
    const d = a.data;
    const ps = pseudoV4(d, 26, 30, 17, u16(d, 38));
    expect(u16(d, 40)).toBe(fold(ps));
    expect(u16(b2.data, 40)).toBe(0);
    // The inner TCP checksum is the partial one.
    expect(a.csumMode).toBe(CSUM.PARTIAL);
    expect(a.csumStart).toBe(a.innerTransOff);
    // Consecutive IDs: the next packet's ID follows this one's segments.
    expect((u16(b2.data, 18) - u16(d, 18)) & 0xffff).toBe(a.gsoSegs);
    expect((u16(c.data, 18) - u16(b2.data, 18)) & 0xffff).toBe(b2.gsoSegs);
  });

  it('IPv4 ID: per (src, dst) counter, +1 per packet, independent per pair, deterministic across runs', () => {
    const ids = (dst: string, n: number) => {
      const s = encap();
      return Array.from({ length: n }, () => {
        const p = pkt(innerUdp4());
        p.tunnel = txInfo({ dst });
        run(s, p);
        return u16(p.data, 18);
      });
    };
    const a = ids('192.0.2.2', 3);
    expect([(a[1]! - a[0]!) & 0xffff, (a[2]! - a[1]!) & 0xffff]).toEqual([1, 1]);
    expect(ids('192.0.2.2', 3)).toEqual(a);
    expect(ids('192.0.2.3', 1)[0]).not.toBe(a[0]);
  });

  it('IPv4 ID: pairs interleaved (and IPv6 packets between) each continue their own counter', () => {
    const s = encap();
    const idOf = (src: string, dst: string): number => {
      const p = pkt(innerUdp4());
      p.tunnel = txInfo({ src, dst });
      run(s, p);
      return u16(p.data, 18);
    };
    const v6 = (): void => {
      const p = pkt(innerUdp4());
      p.tunnel = txInfo({ src: '2001:db8::1', dst: '2001:db8::2' });
      run(s, p);
    };
    const order: [string, string][] = [
      ['192.0.2.1', '192.0.2.2'],
      ['192.0.2.1', '192.0.2.3'],
      ['192.0.2.1', '192.0.2.2'],
      ['192.0.2.9', '192.0.2.2'],
      ['192.0.2.1', '192.0.2.2'],
      ['192.0.2.1', '192.0.2.3'],
      ['192.0.2.9', '192.0.2.2'],
    ];
    const seen = new Map<string, number[]>();
    order.forEach(([src, dst], i) => {
      if (i % 2 === 1) v6();
      const key = `${src}>${dst}`;
      seen.set(key, [...(seen.get(key) ?? []), idOf(src, dst)]);
    });
    // Each pair's IDs go up by one per packet of that pair, whatever came between.
    for (const list of seen.values()) for (let k = 1; k < list.length; k++) expect((list[k]! - list[k - 1]!) & 0xffff).toBe(1);
    // And a pair starts where a fresh stage would start it (its hash), not where another left off.
    const fresh = (src: string, dst: string): number => {
      const p = pkt(innerUdp4());
      p.tunnel = txInfo({ src, dst });
      run(encap(), p);
      return u16(p.data, 18);
    };
    for (const [key, list] of seen) expect(list[0]).toBe(fresh(key.split('>')[0]!, key.split('>')[1]!));
  });
});

describe('vxlan-encap: UDP source port (udp_flow_src_port)', () => {
  const sportOf = (inner: Uint8Array, o: Record<string, unknown> = {}) => u16(enc(inner, txInfo(), o).p.data, 34);

  it('symmetric per flow: both directions of a TCP/UDP flow get the same port', () => {
    expect(sportOf(innerTcp4({ src: '10.1.1.1', dst: '10.2.2.2', sport: 1000, dport: 80 }))).toBe(sportOf(innerTcp4({ src: '10.2.2.2', dst: '10.1.1.1', sport: 80, dport: 1000 })));
    expect(sportOf(innerUdp4({ src: '10.1.1.1', dst: '10.1.1.1', sport: 5, dport: 6 }))).toBe(sportOf(innerUdp4({ src: '10.1.1.1', dst: '10.1.1.1', sport: 6, dport: 5 })));
  });

  it('different flows spread; VLAN-tagged and non-IP inner frames hash too', () => {
    const ports = new Set<number>();
    for (let i = 0; i < 50; i++) ports.add(sportOf(innerUdp4({ sport: 1000 + i })));
    expect(ports.size).toBeGreaterThan(40);
    expect(sportOf(withVlan(innerUdp4(), 9))).toBe(sportOf(innerUdp4()));
    const arp = sportOf(arpFrame());
    expect(arp).toBeGreaterThanOrEqual(32768);
  });

  it('scaled into srcPortRange, max exclusive', () => {
    for (let i = 0; i < 30; i++) {
      const p = sportOf(innerUdp4({ sport: i }), { srcPortRange: [1000, 1004] });
      expect(p).toBeGreaterThanOrEqual(1000);
      expect(p).toBeLessThan(1004);
    }
  });

  it('udpFlowSrcPort extremes: [32768, 61000] → 32768..60999; kernel default [32768, 60999] → 32768..60998', () => {
    // The largest folded hash is 0xffffffff (h ^ h<<16 can reach it, e.g. h = 0xffff0000 ^ ... ).
    const top = (min: number, max: number) => Math.floor((0xffffffff * (max - min)) / 2 ** 32) + min;
    expect(top(32768, 61000)).toBe(60999);
    expect(top(32768, 60999)).toBe(60998);
    // A hash whose fold is 0xffffffff: h = 0x0000ffff → h ^ (h << 16) = 0xffffffff.
    expect(udpFlowSrcPort(0x0000ffff, 32768, 61000)).toBe(60999);
    expect(udpFlowSrcPort(0x0000ffff, 32768, 60999)).toBe(60998);
    expect(udpFlowSrcPort(0, 32768, 61000)).toBe(32768);
  });

  it('flowHash is never 0 and stable', () => {
    const L = new Layers();
    const f = innerTcp4();
    decodeFrame(f, 0, f.length, L);
    expect(flowHash(f, L)).toBe(flowHash(f, L));
    expect(flowHash(f, L)).not.toBe(0);
  });
});

describe('vxlan-encap: MTU policy', () => {
  const bigUdp = () => innerIcmp4();
  it('kernel: over-MTU IPv4 without DF is left for the gso stage (fragmentation); DF or IPv6 → mtu-exceeded', () => {
    const inner = bigUdp();
    const mtu = inner.length + 50 - 14 - 1; // outer IP packet one byte too long
    const s = (o: Record<string, unknown> = {}) => make(vxlanEncap, { ...OPTS, ...o }, testEnv(mtu));
    const go = (info = txInfo(), o: Record<string, unknown> = {}) => {
      const p = pkt(inner);
      p.tunnel = info;
      return run(s(o), p);
    };
    expect(go().drops).toEqual([]);
    expect(go(txInfo({ df: true })).drops).toEqual(['mtu-exceeded']);
    expect(go(txInfo({ dst: '2001:db8::2' })).drops).toEqual(['mtu-exceeded']);
    expect(go(txInfo(), { mtuPolicy: 'drop' }).drops).toEqual(['mtu-exceeded']);
    expect(go(txInfo({ df: true }), { mtuPolicy: 'ignore' }).drops).toEqual([]);
  });
});

describe('vxlan-encap: options', () => {
  it('validates with helpful messages and fills defaults', () => {
    expect(() => vxlanEncap.options.parse({ src: 'nope' })).toThrow(/IPv4 or IPv6/);
    expect(() => vxlanEncap.options.parse({ srcPortRange: [5000, 5000] })).toThrow(/min < max/);
    expect(() => vxlanEncap.options.parse({ outerEth: { src: 'x' } })).toThrow(/MAC/);
    expect(() => vxlanEncap.options.parse({ src: ['192.0.2.1', '192.0.2.2'] })).toThrow(/one source address per family/);
    expect(() => vxlanEncap.options.parse({ neighbours: { foo: '02:00:00:00:00:01' } })).toThrow(/neighbour keys/);
    expect(() => vxlanEncap.options.parse({ mtuPolicy: 'x' })).toThrow();
    expect(() => vxlanEncap.options.parse({ bogus: 1 })).toThrow();
    const d = vxlanEncap.options.parse({});
    expect(d.dstPort).toBe(4789);
    expect(d.srcPortRange).toEqual([32768, 60999]);
    expect(d.ttl).toBe(64);
  });
});

describe('vxlan-encap then vxlan-decap', () => {
  it('truncated inner frame: outer lengths follow the wire length', () => {
    const inner = innerUdp4({ len: 300 });
    const p = pkt(inner.subarray(0, 60), inner.length);
    p.tunnel = txInfo({ csum: true });
    run(encap(), p);
    expect(u16(p.data, 16)).toBe(20 + 16 + inner.length);
    expect(p.origLen).toBe(inner.length + 50);
    expect(p.csumMode).toBe(CSUM.NONE);
    const r = run(make(vxlanDecap, {}), p);
    expect(r.drops).toEqual([]);
    expect(hex(p.data)).toBe(hex(inner.subarray(0, 60)));
    expect(p.origLen).toBe(inner.length);
  });
});
