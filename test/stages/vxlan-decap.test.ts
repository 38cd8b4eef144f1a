import { describe, expect, it } from 'vitest';
import { vxlanDecap } from '../../stages/vxlan-decap.js';
import { TUNNEL, TunnelInfo } from '../../pipeline/metadata.js';
import { CSUM, GSO, NO_OFFSET } from '../../pipeline/packet.js';
import { ETH_P_IP, eth, ipv4, udp, vxlanFrame, type VxlanFrameOpts } from '../kernel/frames.js';
import { arpFrame, hex, innerIcmp4, innerIcmp6, innerTcp4, innerUdp4, innerUdp6, make, pkt, run, withVlan, MAC_IN_SRC } from './vxlan-frames.js';

const V4: VxlanFrameOpts = { underlay: 'ipv4', srcMac: '02:00:00:00:0a:01', dstMac: '02:00:00:00:0b:01', src: '192.0.2.1', dst: '192.0.2.2', vni: 42, sport: 50000, ttl: 63, id: 0x4d00 };
const V6: VxlanFrameOpts = { underlay: 'ipv6', srcMac: '02:00:00:00:0a:01', dstMac: '02:00:00:00:0b:01', src: '2001:db8::1', dst: '2001:db8::2', vni: 42, sport: 50001, ttl: 62, udpCsum: 'valid' };

const decap = (o: Record<string, unknown> = {}) => make(vxlanDecap, o);

function one(frame: Uint8Array, o: Record<string, unknown> = {}, origLen?: number) {
  const p = pkt(frame, origLen);
  const r = run(decap(o), p);
  return { p, ...r };
}

describe('vxlan-decap: delivery and metadata (udp_tun_rx_dst)', () => {
  it.each([
    ['UDP', innerUdp4()],
    ['TCP', innerTcp4()],
    ['ICMP', innerIcmp4()],
    ['UDPv6', innerUdp6()],
    ['ICMPv6', innerIcmp6()],
    ['ARP', arpFrame()],
  ])('IPv4 underlay, inner %s: inner frame delivered byte for byte', (_n, inner) => {
    const { p, out, drops } = one(vxlanFrame({ ...V4, tos: 0x28 }, inner));
    expect(drops).toEqual([]);
    expect(out).toEqual([p]);
    expect(hex(p.data)).toBe(hex(inner));
    expect(p.origLen).toBe(inner.length);
    expect(p.macOff).toBe(p.head);
    expect(p.encapsulation).toBe(false);
    const t = p.tunnel!;
    expect(t.vni).toBe(42);
    expect(t.ipv6).toBe(false);
    expect(t.srcString()).toBe('192.0.2.1');
    expect(t.dstString()).toBe('192.0.2.2');
    expect(t.tos).toBe(0x28);
    expect(t.ttl).toBe(63);
    expect(t.tpSrc).toBe(50000);
    expect(t.tpDst).toBe(4789);
    expect(t.flags).toBe(TUNNEL.KEY | TUNNEL.DONT_FRAGMENT);
    expect(t.tx).toBe(false);
    expect(t.toComment()).toBe('tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x28 ttl=63 tpSrc=50000 tpDst=4789 flags=key,df');
  });

  it('IPv6 underlay: label, hop limit, traffic class, csum flag (non-zero checksum)', () => {
    const inner = innerTcp4();
    const { p, drops } = one(vxlanFrame({ ...V6, tos: 0xb8, flowLabel: 0x12345 }, inner));
    expect(drops).toEqual([]);
    expect(hex(p.data)).toBe(hex(inner));
    const t = p.tunnel!;
    expect(t.ipv6).toBe(true);
    expect(t.srcString()).toBe('2001:db8::1');
    expect(t.label).toBe(0x12345);
    expect(t.ttl).toBe(62);
    expect(t.tos).toBe(0xb8);
    expect(t.flags).toBe(TUNNEL.KEY | TUNNEL.CSUM);
    expect(TunnelInfo.fromComment(t.toComment())!.toComment()).toBe(t.toComment());
  });

  it('df flag exactly when the outer IPv4 header has DF (ip_tun_rx_dst); csum flag iff the UDP checksum is non-zero', () => {
    expect(one(vxlanFrame({ ...V4, udpCsum: 'valid' }, innerUdp4())).p.tunnel!.flags).toBe(TUNNEL.KEY | TUNNEL.CSUM | TUNNEL.DONT_FRAGMENT);
    expect(one(vxlanFrame({ ...V4, udpCsum: 'zero', df: false }, innerUdp4())).p.tunnel!.flags).toBe(TUNNEL.KEY);
    const clear = one(vxlanFrame({ ...V4, udpCsum: 'valid', df: false }, innerUdp4())).p.tunnel!;
    expect(clear.flags).toBe(TUNNEL.KEY | TUNNEL.CSUM);
    expect(clear.toComment()).toMatch(/ flags=key,csum$/);
    // The inner header's DF plays no part.
    expect(one(vxlanFrame({ ...V4, df: false }, innerUdp4())).p.tunnel!.flags & TUNNEL.DONT_FRAGMENT).toBe(0);
  });

  it('never df for an IPv6 outer header', () => {
    expect(one(vxlanFrame(V6, innerUdp4())).p.tunnel!.flags).toBe(TUNNEL.KEY | TUNNEL.CSUM);
  });

  it.each([[0], [1], [0x123456], [0xffffff]])('every VNI is accepted without vnifilter (VNI %d)', (vni) => {
    expect(one(vxlanFrame({ ...V4, vni }, innerUdp4())).p.tunnel!.vni).toBe(vni);
  });

  it('outer VLAN tags (802.1Q and QinQ) are recognised', () => {
    const inner = innerUdp4();
    for (const f of [withVlan(vxlanFrame(V4, inner), 100), withVlan(withVlan(vxlanFrame(V4, inner), 100), 200, 0x88a8)]) {
      const { p, drops } = one(f);
      expect(drops).toEqual([]);
      expect(hex(p.data)).toBe(hex(inner));
    }
  });

  it('other ports, non-UDP and non-IP pass through untouched', () => {
    const f = vxlanFrame({ ...V4, dport: 4790 }, innerUdp4());
    const { p, out } = one(f);
    expect(out).toEqual([p]);
    expect(hex(p.data)).toBe(hex(f));
    expect(p.tunnel).toBeNull();
    // …but are VXLAN when the port is configured.
    expect(one(f, { ports: [4789, 4790] }).p.tunnel!.tpDst).toBe(4790);
    for (const g of [innerTcp4(), arpFrame(), innerUdp6()]) {
      const r = one(g);
      expect(hex(r.p.data)).toBe(hex(g));
    }
  });

  it('Ethernet padding after the UDP datagram is cut', () => {
    const f = Buffer.concat([vxlanFrame(V4, innerUdp4()), Buffer.alloc(6)]);
    const { p } = one(f);
    expect(hex(p.data)).toBe(hex(innerUdp4()));
    expect(p.origLen).toBe(innerUdp4().length);
  });

  it('collectMetadata: false only strips (no metadata)', () => {
    const { p } = one(vxlanFrame(V4, innerUdp4()), { collectMetadata: false });
    expect(p.tunnel).toBeNull();
    expect(hex(p.data)).toBe(hex(innerUdp4()));
  });

  it('inner offsets are decoded for the next stages; tunnel GSO bits are cleared', () => {
    const p = pkt(vxlanFrame(V4, withVlan(innerTcp4(), 5)));
    p.gsoSize = 1000;
    p.gsoType = GSO.TCPV4 | GSO.UDP_TUNNEL;
    p.encapsulation = true;
    run(decap(), p);
    expect(p.netOff).toBe(p.head + 18);
    expect(p.transOff).toBe(p.head + 38);
    expect(p.protocol).toBe(0x0800);
    expect(p.innerNetOff).toBe(NO_OFFSET);
    expect(p.gsoType).toBe(GSO.TCPV4);
    expect(p.encapsulation).toBe(false);
  });
});

describe('vxlan-decap: drops (each with its reason)', () => {
  const cases: [string, Uint8Array, Record<string, unknown>, string][] = [
    ['I flag clear', vxlanFrame({ ...V4, word0: 0 }, innerUdp4()), {}, 'vxlan-bad-flags'],
    ['reserved word0 bit', vxlanFrame({ ...V4, word0: 0x08000001 }, innerUdp4()), {}, 'vxlan-reserved-bits'],
    ['G bit without gbp', vxlanFrame({ ...V4, word0: 0x88000000 }, innerUdp4()), {}, 'vxlan-reserved-bits'],
    ['reserved word1 low byte', vxlanFrame({ ...V4, reservedLow: 1 }, innerUdp4()), {}, 'vxlan-reserved-bits'],
    ['reserved word1 low byte with gbp', vxlanFrame({ ...V4, reservedLow: 1 }, innerUdp4()), { gbp: true }, 'vxlan-reserved-bits'],
    ['reserved high flag with gbp', vxlanFrame({ ...V4, word0: 0x0c000000 }, innerUdp4()), { gbp: true }, 'vxlan-reserved-bits'],
    ['I flag clear with gbp', vxlanFrame({ ...V4, word0: 0x80000000 }, innerUdp4()), { gbp: true }, 'vxlan-bad-flags'],
    ['bad UDP checksum', vxlanFrame({ ...V4, udpCsum: 'bad' }, innerUdp4()), {}, 'udp-bad-checksum'],
    ['bad UDP checksum v6', vxlanFrame({ ...V6, udpCsum: 'bad' }, innerUdp4()), {}, 'udp-bad-checksum'],
    ['zero UDP checksum over IPv6', vxlanFrame({ ...V6, udpCsum: 'zero' }, innerUdp4()), {}, 'udp6-zero-checksum'],
    ['VNI filtered', vxlanFrame({ ...V4, vni: 7 }, innerUdp4()), { vnis: [1, 2] }, 'vxlan-vni-filtered'],
    ['inner frame < 14 bytes', vxlanFrame(V4, innerUdp4().subarray(0, 10)), {}, 'vxlan-inner-too-short'],
    ['inner IPv4 < 20 bytes', vxlanFrame(V4, innerUdp4().subarray(0, 26)), {}, 'vxlan-inner-ip-too-short'],
    ['inner IPv6 < 40 bytes', vxlanFrame(V4, innerUdp6().subarray(0, 50)), {}, 'vxlan-inner-ip-too-short'],
    ['inner src MAC is the device MAC', vxlanFrame(V4, innerUdp4()), { localMac: MAC_IN_SRC }, 'vxlan-local-mac'],
    ['outer CE over inner Not-ECT', vxlanFrame({ ...V4, tos: 0x03 }, innerUdp4({ tos: 0 })), {}, 'ecn-ce-on-not-ect'],
    ['outer CE over inner Not-ECT (IPv6 inner)', vxlanFrame({ ...V6, tos: 0x03 }, innerUdp6({ tc: 0 })), {}, 'ecn-ce-on-not-ect'],
  ];
  it.each(cases)('%s', (_n, frame, o, reason) => {
    const r = one(frame, o);
    expect(r.drops).toEqual([reason]);
    expect(r.out).toEqual([]);
  });

  it('zero UDP checksum over IPv6 is accepted with udp6ZeroCsumRx (OVS); csum flag stays clear', () => {
    const r = one(vxlanFrame({ ...V6, udpCsum: 'zero' }, innerUdp4()), { udp6ZeroCsumRx: true });
    expect(r.drops).toEqual([]);
    expect(r.p.tunnel!.flags).toBe(TUNNEL.KEY);
  });

  it('UDP payload shorter than the VXLAN header: vxlan-too-short', () => {
    const u = udp({ src: '192.0.2.1', dst: '192.0.2.2', sport: 1, dport: 4789, csum: 'zero' }, Buffer.alloc(4));
    const f = eth('02:00:00:00:0b:01', '02:00:00:00:0a:01', ETH_P_IP, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17 }, u));
    expect(one(f).drops).toEqual(['vxlan-too-short']);
  });

  it('bad outer IPv4 header checksum: ip-bad-checksum', () => {
    const f = Buffer.from(vxlanFrame(V4, innerUdp4()));
    f[14 + 10] ^= 0xff;
    expect(one(f).drops).toEqual(['ip-bad-checksum']);
  });

  it('UDP length beyond the datagram: udp-bad-length', () => {
    const f = Buffer.from(vxlanFrame(V4, innerUdp4()));
    f.writeUInt16BE(f.readUInt16BE(14 + 20 + 4) + 10, 14 + 20 + 4);
    expect(one(f).drops).toEqual(['udp-bad-length']);
  });

  it('vnis list accepts listed VNIs', () => {
    expect(one(vxlanFrame({ ...V4, vni: 2 }, innerUdp4()), { vnis: [1, 2] }).drops).toEqual([]);
  });
});

describe('vxlan-decap: GBP', () => {
  const word0 = 0x88000000 | 0x00400000 | 0x00080000 | 0x1234;
  it('gbp: true parses G/D/A/policy into the VXLAN_OPT option', () => {
    const { p, drops } = one(vxlanFrame({ ...V4, word0 }, innerUdp4()), { gbp: true });
    expect(drops).toEqual([]);
    expect(p.tunnel!.flags).toBe(TUNNEL.KEY | TUNNEL.DONT_FRAGMENT | TUNNEL.VXLAN_OPT);
    expect(p.tunnel!.gbp).toBe(0x00481234);
    expect(p.tunnel!.toComment()).toContain('gbp=0x481234');
  });
  it('gbp: true without G bit: no option (low bits tolerated)', () => {
    const { p, drops } = one(vxlanFrame({ ...V4, word0: 0x08001234, df: false }, innerUdp4()), { gbp: true });
    expect(drops).toEqual([]);
    expect(p.tunnel!.flags).toBe(TUNNEL.KEY);
  });
  it('gbp: false drops any GBP bit', () => {
    expect(one(vxlanFrame({ ...V4, word0 }, innerUdp4())).drops).toEqual(['vxlan-reserved-bits']);
  });
});

describe('vxlan-decap: ECN (INET_ECN_decapsulate)', () => {
  // [outer ECN, inner ECN, expected inner ECN or 'drop']
  const table: [number, number, number | 'drop'][] = [];
  const expectOut = (outer: number, inner: number): number | 'drop' => {
    if (inner === 0) return outer === 3 ? 'drop' : 0;
    if (outer === 3) return 3;
    if (outer === 1 && inner === 2) return 1;
    return inner;
  };
  for (let outer = 0; outer < 4; outer++) for (let inner = 0; inner < 4; inner++) table.push([outer, inner, expectOut(outer, inner)]);

  it.each(table)('outer %d inner %d → %s (IPv4 inner, header checksum stays valid)', (outer, inner, want) => {
    const frame = innerUdp4({ tos: 0x20 | inner });
    const r = one(vxlanFrame({ ...V4, tos: 0x48 | outer }, frame));
    if (want === 'drop') {
      expect(r.drops).toEqual(['ecn-ce-on-not-ect']);
      return;
    }
    const b = r.p.data;
    expect(b[15]).toBe(0x20 | want);
    // Rebuilding the inner header with that TOS gives the same bytes (checksum included).
    expect(hex(b)).toBe(hex(innerUdp4({ tos: 0x20 | want })));
    // Metadata TOS is the outer byte as received.
    expect(r.p.tunnel!.tos).toBe(0x48 | outer);
  });

  it.each(table)('outer %d inner %d → %s (IPv6 inner over IPv6 outer)', (outer, inner, want) => {
    const r = one(vxlanFrame({ ...V6, tos: 0x48 | outer }, innerUdp6({ tc: 0x20 | inner })));
    if (want === 'drop') {
      expect(r.drops).toEqual(['ecn-ce-on-not-ect']);
      return;
    }
    expect(hex(r.p.data)).toBe(hex(innerUdp6({ tc: 0x20 | want })));
  });

  it('no ECN action on non-IP inner frames (ARP under CE passes)', () => {
    expect(one(vxlanFrame({ ...V4, tos: 3 }, arpFrame())).drops).toEqual([]);
  });

  // vxlan_rcv on 6.18: a tagged inner frame is neither marked, nor copied ECT(1), nor dropped.
  it.each([
    ['802.1Q', 0x8100],
    ['802.1ad', 0x88a8],
  ])('no ECN action on %s-tagged inner frames, under any outer codepoint', (_n, tpid) => {
    for (let outer = 0; outer < 4; outer++) {
      for (let inner = 0; inner < 4; inner++) {
        for (const frame of [withVlan(innerUdp4({ tos: 0x20 | inner }), 10, tpid), withVlan(innerUdp6({ tc: 0x20 | inner }), 10, tpid)]) {
          const r = one(vxlanFrame({ ...V4, tos: 0x48 | outer }, frame));
          expect(r.drops, `outer ${outer} inner ${inner}`).toEqual([]);
          expect(hex(r.p.data)).toBe(hex(frame));
        }
      }
    }
    // QinQ inside, IPv6 outer.
    const qinq = withVlan(withVlan(innerUdp4({ tos: 0x22 }), 20), 30, 0x88a8);
    const r = one(vxlanFrame({ ...V6, tos: 0x03 }, qinq));
    expect(r.drops).toEqual([]);
    expect(hex(r.p.data)).toBe(hex(qinq));
  });

  it('no inner IP length check behind a tag (pskb_inet_may_pull sees the TPID)', () => {
    const short = withVlan(innerUdp4(), 10).subarray(0, 18 + 12);
    const r = one(vxlanFrame(V4, short));
    expect(r.drops).toEqual([]);
    expect(hex(r.p.data)).toBe(hex(short));
  });
});

describe('vxlan-decap: vlans (a VTEP on a VLAN subinterface)', () => {
  const f = vxlanFrame({ ...V4, df: false }, innerUdp4());
  it('takes listed VIDs, untagged and priority-tagged frames; drops other VIDs as vlan-not-local', () => {
    const o = { vlans: [100, 300] };
    for (const g of [withVlan(f, 100), withVlan(f, 300), f, withVlan(f, 0), withVlan(f, 0x2000 | 100), withVlan(f, 100, 0x88a8)]) {
      const r = one(g, o);
      expect(r.drops).toEqual([]);
      expect(hex(r.p.data)).toBe(hex(innerUdp4()));
      // The tag leaves no trace in the metadata.
      expect(r.p.tunnel!.toComment()).toBe(one(f).p.tunnel!.toComment());
    }
    for (const g of [withVlan(f, 200), withVlan(f, 4095), withVlan(withVlan(f, 5), 100), withVlan(f, 0x2000 | 200)]) {
      const r = one(g, o);
      expect(r.drops).toEqual(['vlan-not-local']);
      expect(r.out).toEqual([]);
    }
  });

  it('priority tags are skipped: VID 0 then a listed VID is taken, a listed VID then another is not', () => {
    const o = { vlans: [100] };
    expect(one(withVlan(withVlan(f, 100), 0, 0x88a8), o).drops).toEqual([]);
    expect(one(withVlan(withVlan(f, 0), 100, 0x88a8), o).drops).toEqual([]);
    expect(one(withVlan(withVlan(f, 100), 100, 0x88a8), o).drops).toEqual(['vlan-not-local']);
  });

  it('frames that are not VXLAN on a foreign VLAN are dropped too (before IP)', () => {
    expect(one(withVlan(innerTcp4(), 7), { vlans: [100] }).drops).toEqual(['vlan-not-local']);
    expect(one(withVlan(innerTcp4(), 100), { vlans: [100] }).drops).toEqual([]);
  });

  it('without the option every VID is taken', () => {
    expect(one(withVlan(f, 200)).drops).toEqual([]);
    expect(one(withVlan(withVlan(f, 5), 100)).drops).toEqual([]);
  });
});

describe('vxlan-decap: checksum states and truncation', () => {
  it('a CHECKSUM_PARTIAL outer UDP checksum is treated as verified, and the partial state goes away with the outer header', () => {
    const f = vxlanFrame({ ...V4, udpCsum: 'partial' }, innerUdp4());
    const p = pkt(f);
    p.csumMode = CSUM.PARTIAL;
    p.csumStart = p.head + 34;
    p.csumOffset = 6;
    const r = run(decap(), p);
    expect(r.drops).toEqual([]);
    expect(p.csumMode).toBe(CSUM.NONE);
  });

  it('an inner partial checksum stays partial at the same bytes', () => {
    const inner = innerTcp4();
    const p = pkt(vxlanFrame(V4, inner));
    p.csumMode = CSUM.PARTIAL;
    p.csumStart = p.head + 50 + 34;
    p.csumOffset = 16;
    run(decap(), p);
    expect(p.csumMode).toBe(CSUM.PARTIAL);
    expect(p.csumStart).toBe(p.head + 34);
  });

  it('snaplen-truncated packet with complete headers is decapsulated; origLen = inner wire length; checksum not verified', () => {
    const inner = innerUdp4({ len: 200 });
    const full = vxlanFrame({ ...V4, udpCsum: 'valid' }, inner);
    const cut = full.subarray(0, 50 + 14 + 20 + 8 + 10);
    const { p, drops } = one(cut, {}, full.length);
    expect(drops).toEqual([]);
    expect(hex(p.data)).toBe(hex(inner.subarray(0, 14 + 20 + 8 + 10)));
    expect(p.origLen).toBe(inner.length);
    expect(p.truncated).toBe(true);
    expect(p.tunnel!.flags).toBe(TUNNEL.KEY | TUNNEL.CSUM | TUNNEL.DONT_FRAGMENT);
  });

  it('truncated before the inner Ethernet header: truncated', () => {
    const full = vxlanFrame(V4, innerUdp4());
    expect(one(full.subarray(0, 50 + 8), {}, full.length).drops).toEqual(['truncated']);
    expect(one(full.subarray(0, 14 + 20 + 6), {}, full.length).drops).toEqual(['truncated']);
  });

  it('truncated before the inner TOS byte when ECN would change it: truncated', () => {
    const full = vxlanFrame({ ...V4, tos: 3 }, innerUdp4({ tos: 2 }));
    expect(one(full.subarray(0, 50 + 14), {}, full.length).drops).toEqual(['truncated']);
  });
});

describe('vxlan-decap: options', () => {
  it('rejects bad options with helpful messages', () => {
    expect(() => vxlanDecap.options.parse({ ports: [] })).toThrow(/at least one UDP port/);
    expect(() => vxlanDecap.options.parse({ ports: [70000] })).toThrow(/1\.\.65535/);
    expect(() => vxlanDecap.options.parse({ localMac: 'zz' })).toThrow(/MAC address/);
    expect(() => vxlanDecap.options.parse({ vnis: [1 << 24] })).toThrow(/VNI/);
    expect(() => vxlanDecap.options.parse({ port: 4789 })).toThrow();
    expect(() => vxlanDecap.options.parse({ vlans: [4095] })).toThrow(/VLAN ID must be 0\.\.4094/);
    expect(() => vxlanDecap.options.parse({ vlans: ['10'] })).toThrow();
    // No `ports`: the pipeline's vxlanPorts (4789 and 8472 by default).
    expect(vxlanDecap.options.parse({})).toEqual({ gbp: false, collectMetadata: true, udp6ZeroCsumRx: false });
  });
});
