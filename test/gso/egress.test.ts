import { describe, expect, it } from 'vitest';
import { CSUM, GSO, HEADROOM, Packet } from '../../pipeline/packet.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { fold, pseudoV4, pseudoV6 } from '../../pipeline/wire/checksum.js';
import { formatGsoNote, parseGsoNote, formatGsoType } from '../../pipeline/gso/notes.js';
import { restoreMetadata } from '../../pipeline/comments.js';
import { fragmentIpv4 } from '../../pipeline/gso/fragment.js';
import { describeMssRule } from '../../pipeline/gso/classify.js';
import { checksumProblems, frame, pattern, pkt, TS_OPTS, vxlan, type IpSpec4 } from './build.js';

type FrameSpecIp4 = Omit<IpSpec4, 'v'>;
import { makeGso, runGso } from './run.js';

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const tcp4 = (n: number, v: 4 | 6 = 4) => frame({ ip: v === 4 ? { v: 4 } : { v: 6 }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(n) });

describe('checksum completion: driver vs wire view per profile', () => {
  // [profile, TCPv4 super-packet leaves whole in driver view, software segments keep partial checksums]
  const table: Array<[string, boolean]> = [
    ['none', false],
    ['veth', true],
    ['virtio-net', true],
    ['mlx5', true],
    ['ixgbe', true],
    ['ice', true],
    ['bnxt', true],
  ];
  for (const [nic, whole] of table) {
    it(`${nic}: driver view ${whole ? 'passes the super-packet whole with a note' : 'segments with final checksums'}; wire view segments with final checksums`, () => {
      const d = runGso([pkt(tcp4(6000))], {}, nic, 'driver').out;
      if (whole) {
        expect(d.length).toBe(1);
        expect(d[0]!.notes).toEqual(['gso type=tcpv4 size=1448 segs=5']);
        expect(d[0]!.csumMode).toBe(CSUM.PARTIAL);
        // The field shows the pseudo-header sum over the whole L4 length (what tcpdump shows on the host).
        const b = d[0]!.data;
        expect(u16(b, 34 + 16)).toBe(fold(pseudoV4(b, 26, 30, 6, b.length - 34)));
      } else {
        expect(d.length).toBe(5);
        for (const p of d) expect(checksumProblems(p.data)).toEqual([]);
      }
      const w = runGso([pkt(tcp4(6000))], {}, nic, 'wire').out;
      expect(w.length).toBe(5);
      for (const p of w) {
        expect(checksumProblems(p.data)).toEqual([]);
        expect(p.csumMode).toBe(CSUM.NONE);
      }
    });
  }

  it('UDP GSO: software on virtio-net and bnxt, partial on mlx5 (driver view); segments keep partial checksums when the device can checksum', () => {
    const u = () => pkt(frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(5000) }));
    const v = runGso([u()], {}, 'virtio-net', 'driver').out;
    expect(v.length).toBe(4);
    for (const p of v) {
      expect(p.csumMode).toBe(CSUM.PARTIAL);
      expect(u16(p.data, 40)).toBe(fold(pseudoV4(p.data, 26, 30, 17, p.length - 34)));
    }
    const m = runGso([u()], {}, 'mlx5', 'driver').out;
    expect(m.length).toBe(2);
    expect(m[0]!.notes![0]).toMatch(/^gso type=udp_l4\+partial size=1472 segs=3$/);
    // 6.1 writes the UDP length for the whole chunk, the IP length per segment.
    expect(u16(m[0]!.data, 38)).toBe(8 + 3 * 1472);
    expect(u16(m[0]!.data, 16)).toBe(20 + 8 + 1472);
    const n = runGso([u()], {}, 'none', 'driver').out;
    for (const p of n) expect(checksumProblems(p.data)).toEqual([]);
  });

  it('a non-GSO CHECKSUM_PARTIAL packet: completed in software on none (skb_checksum_help), left partial on veth, completed in wire view', () => {
    const mk = () => {
      const p = pkt(frame({ ip: { v: 6 }, l4: { kind: 'tcp' }, payload: pattern(100), csum: 'partial' }));
      p.csumMode = CSUM.PARTIAL;
      p.csumStart = p.head + 54;
      p.csumOffset = 16;
      return p;
    };
    expect(checksumProblems(runGso([mk()], {}, 'none', 'driver').out[0]!.data)).toEqual([]);
    const v = runGso([mk()], {}, 'veth', 'driver').out[0]!;
    expect(v.csumMode).toBe(CSUM.PARTIAL);
    expect(u16(v.data, 54 + 16)).toBe(fold(pseudoV6(v.data, 22, 38, 6, v.length - 54)));
    expect(checksumProblems(runGso([mk()], {}, 'veth', 'wire').out[0]!.data)).toEqual([]);
  });
});

describe('notes', () => {
  it('format and parse round trip', () => {
    for (const t of [GSO.TCPV4, GSO.TCPV6 | GSO.TCP_ECN, GSO.UDP_L4 | GSO.PARTIAL, GSO.TCPV4 | GSO.UDP_TUNNEL_CSUM | GSO.PARTIAL, GSO.TCPV4 | GSO.UDP_TUNNEL]) {
      const n = formatGsoNote(t, 1448, 45);
      expect(parseGsoNote(n)).toEqual({ gsoType: t, gsoSize: 1448, gsoSegs: 45 });
    }
    expect(formatGsoType(GSO.TCPV4 | GSO.TCP_ECN)).toBe('tcpv4+ecn');
    expect(parseGsoNote('gso type=bogus size=1 segs=1')).toBeNull();
  });

  it('restoreMetadata reads a driver-view note back into gsoSize/gsoType; a wire run then segments it', () => {
    const d = runGso([pkt(tcp4(6000))], {}, 'veth', 'driver').out[0]!;
    const again = Packet.fromBytes(d.data);
    again.comments = ['user comment', ...d.notes!];
    restoreMetadata(again);
    expect(again.comments).toEqual(['user comment']);
    expect([again.gsoSize, again.gsoType, again.gsoSegs]).toEqual([1448, GSO.TCPV4, 5]);
    const w = runGso([again], {}, 'veth', 'wire').out;
    expect(w.length).toBe(5);
    for (const p of w) expect(checksumProblems(p.data)).toEqual([]);
  });
});

describe('mtuPolicy and fragmentation', () => {
  const big4 = (df: boolean, options?: number[]) =>
    frame({ ip: { v: 4, df, id: 0x777, options }, l4: { kind: 'udp' }, payload: pattern(4000) });

  it('kernel: IPv4 without DF (non-GSO: mss larger than the payload) is fragmented per ip_fragment rules', () => {
    const r = runGso([pkt(big4(false, [0x07, 7, 4, 0, 0, 0, 0, 0x83, 3, 0]))], { mss: 9000 });
    expect(r.drops).toEqual([]);
    const hl = 32; // 20 + 10 option bytes padded to 12
    const maxData = (1500 - hl) & ~7;
    expect(r.out.length).toBe(Math.ceil((4008) / maxData));
    let off = 0;
    const data: Uint8Array[] = [];
    r.out.forEach((p, i) => {
      const b = p.data;
      const last = i === r.out.length - 1;
      expect(u16(b, 18)).toBe(0x777);
      expect(u16(b, 20) & 0x1fff).toBe(off / 8);
      expect((u16(b, 20) & 0x2000) !== 0).toBe(!last);
      expect(b[14]! & 0x0f).toBe(hl / 4);
      // Record route (0x07, not copied) becomes NOOPs after the first fragment; LSRR (0x83, copied) stays.
      if (i === 0) expect(b[34]).toBe(0x07);
      else expect(Array.from(b.subarray(34, 41))).toEqual([1, 1, 1, 1, 1, 1, 1]);
      expect(b[41]).toBe(0x83);
      expect(checksumProblems(b)).toEqual([]);
      const len = u16(b, 16) - hl;
      if (!last) expect(len % 8).toBe(0);
      expect(u16(b, 16)).toBeLessThanOrEqual(1500);
      data.push(b.subarray(14 + hl));
      off += len;
    });
    expect(off).toBe(4008);
    expect(Buffer.concat(data).subarray(8)).toEqual(Buffer.from(pattern(4000)));
  });

  it('kernel: DF set, or IPv6 → mtu-exceeded; drop: dropped; ignore: passed', () => {
    expect(runGso([pkt(big4(true))], { mss: 9000 }).drops).toEqual(['mtu-exceeded']);
    const v6 = frame({ ip: { v: 6 }, l4: { kind: 'udp' }, payload: pattern(4000) });
    expect(runGso([pkt(v6)], { mss: 9000 }).drops).toEqual(['mtu-exceeded']);
    expect(runGso([pkt(big4(false))], { mss: 9000, mtuPolicy: 'drop' }).drops).toEqual(['mtu-exceeded']);
    const ig = runGso([pkt(big4(true))], { mss: 9000, mtuPolicy: 'ignore' });
    expect(ig.out.length).toBe(1);
  });

  it('non-IP frames (an MPLS-labelled ARP) are never measured against the MTU', () => {
    const arp = new Uint8Array(14 + 4 + 28);
    arp.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0x47, 0x00, 0x06, 0x41, 0xff, 0x00, 0x01, 0x08, 0x00]);
    const r = runGso([pkt(arp)], {});
    expect(r.drops).toEqual([]);
    expect(r.out.length).toBe(1);
  });

  it('the MTU boundary: the IP length from the network header (top label) on decides, for every header shape, policy and size', () => {
    // [name, frame, length measured against the MTU, IPv4 without DF and without a label stack]
    const padded = (f: Uint8Array, n: number) => Uint8Array.from([...f, ...new Uint8Array(n).fill(0xab)]);
    const trailers = new Map<Uint8Array, number>();
    const withTrailer = (f: Uint8Array, n: number) => {
      const t = padded(f, n);
      trailers.set(t, n);
      return t;
    };
    const udp4 = (o: Partial<FrameSpecIp4> = {}) => frame({ ip: { v: 4, df: false, ...o }, l4: { kind: 'udp' }, payload: pattern(1501) });
    const cases: Array<[string, Uint8Array, number, boolean]> = [
      ['IPv4', udp4(), 20 + 8 + 1501, true],
      ['IPv4 with DF', udp4({ df: true }), 20 + 8 + 1501, false],
      ['IPv4 with options', udp4({ options: [0x83, 7, 4, 0, 0, 0, 0] }), 28 + 8 + 1501, true],
      ['IPv4, TCP, odd length', frame({ ip: { v: 4, df: false }, l4: { kind: 'tcp' }, payload: pattern(1777) }), 20 + 20 + 1777, true],
      ['IPv4 under VLAN', frame({ vlan: [5], ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(1600) }), 20 + 8 + 1600, true],
      ['IPv4 under QinQ', frame({ vlan: [7, 8], ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(1600) }), 20 + 8 + 1600, true],
      ['IPv4 with a trailer after the datagram', withTrailer(udp4(), 33), 20 + 8 + 1501, true],
      ['IPv4 under two MPLS labels', frame({ mpls: [100, 200], ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(1600) }), 8 + 20 + 8 + 1600, false],
      ['IPv6', frame({ ip: { v: 6 }, l4: { kind: 'udp' }, payload: pattern(1503) }), 40 + 8 + 1503, false],
      ['IPv6 with an extension header', frame({ ip: { v: 6, ext: [[0, 16]] }, l4: { kind: 'tcp' }, payload: pattern(1503) }), 40 + 16 + 20 + 1503, false],
      ['IPv6 under VLAN with a trailer', withTrailer(frame({ vlan: [9], ip: { v: 6 }, l4: { kind: 'udp' }, payload: pattern(1400) }), 7), 40 + 8 + 1400, false],
      ['IPv6 under an MPLS label', frame({ mpls: [300], ip: { v: 6 }, l4: { kind: 'udp' }, payload: pattern(1400) }), 4 + 40 + 8 + 1400, false],
    ];
    for (const [name, f, l3, fragmentable] of cases) {
      for (const mtu of [l3 - 1, l3, l3 + 1]) {
        for (const mtuPolicy of ['kernel', 'drop', 'ignore'] as const) {
          const p = pkt(f);
          const r = runGso([p], { mss: 9000, mtu, mtuPolicy });
          const what = `${name}, mtu ${mtu}, ${mtuPolicy}`;
          if (mtu >= l3 || mtuPolicy === 'ignore') {
            expect([r.drops, r.out.length, r.out[0] === p, hex(p.data)], what).toEqual([[], 1, true, hex(f)]);
          } else if (mtuPolicy === 'kernel' && fragmentable) {
            expect(r.drops, what).toEqual([]);
            expect(r.out.length, what).toBe(2);
            // The datagram's bytes after its IP header, in order; the trailer cut and counted.
            const ip = r.out[0]!.netOff - r.out[0]!.head;
            const hl = (f[ip]! & 0x0f) * 4;
            const data: number[] = [];
            for (const g of r.out) {
              expect(u16(g.data, ip + 2), what).toBeLessThanOrEqual(mtu);
              data.push(...g.data.subarray(ip + hl));
            }
            expect(hex(Uint8Array.from(data)), what).toBe(hex(f.subarray(ip + hl, ip + l3)));
            expect(r.trailerBytes, what).toBe(trailers.get(f) ?? 0);
          } else expect([r.drops, r.out.length], what).toEqual([['mtu-exceeded'], 0]);
        }
      }
    }
  });

  it('the mtu option overrides the profile', () => {
    const r = runGso([pkt(tcp4(3000))], { mtu: 9000 });
    expect(r.out.length).toBe(1);
    expect(r.out[0]!.gsoSize).toBe(0);
  });

  it('fragmentIpv4 refuses DF packets and packets that fit', () => {
    const out: Packet[] = [];
    expect(fragmentIpv4(pkt(big4(true)), 1500, (p) => out.push(p))).toBe(0);
    expect(fragmentIpv4(pkt(big4(false)), 9000, (p) => out.push(p))).toBe(0);
    expect(fragmentIpv4(pkt(big4(false)), 1000, (p) => out.push(p))).toBe(5);
  });

  it('fragments of a packet inside a shared read chunk at any offset equal those of a packet in its own buffer', () => {
    // Fragments are carved from shared slabs: each keeps its own bytes (a later fragment never
    // overwrites an earlier one), whatever the alignment of the source packet in its chunk.
    const options = [0x07, 7, 4, 0, 0, 0, 0, 0x83, 7, 4, 0, 0, 0, 0, 0, 0];
    const frames = [big4(false), big4(false, options), frame({ vlan: [5], ip: { v: 4, df: false, options: [0x94, 4, 0, 0] }, l4: { kind: 'tcp' }, payload: pattern(3333) })];
    const fragmentsOf = (p: Packet, mtu: number): Packet[] => {
      const out: Packet[] = [];
      expect(fragmentIpv4(p, mtu, (f) => out.push(f))).toBe(out.length);
      return out;
    };
    for (const f of frames) {
      for (const mtu of [576, 1000, 1500]) {
        const want = fragmentsOf(pkt(f), mtu).map((p) => hex(p.data));
        expect(want.length).toBeGreaterThan(1);
        const got: Packet[] = [];
        for (let at = 0; at < 4; at++) {
          const chunk = Buffer.alloc(f.length + 64 + at, 0xee);
          chunk.set(f, 32 + at);
          const p = new Packet(chunk, 32 + at, 32 + at + f.length, f.length, 16);
          const frags = fragmentsOf(p, mtu);
          // The first fragment is the packet itself, cut in place; the later ones have buffers of their own.
          expect(frags[0]).toBe(p);
          expect(chunk.subarray(0, 16).every((x) => x === 0xee)).toBe(true);
          for (const l of frags.slice(1)) expect(l.head - l.floor).toBeGreaterThanOrEqual(HEADROOM);
          got.push(...frags);
        }
        expect(got.map((p) => hex(p.data))).toEqual([...want, ...want, ...want, ...want]);
        for (const p of got) expect(checksumProblems(p.data)).toEqual([]);
      }
    }
  });
});

describe('checksum fix', () => {
  it('repairs IPv4/TCP/UDP checksums inside VXLAN, keeps zero UDP-over-IPv4 checksums', () => {
    const inner = frame({ ip: { v: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'tcp' }, payload: pattern(300), csum: 'partial' });
    const outer = vxlan(inner, { csum: true });
    // Corrupt the outer IPv4 header checksum as well.
    outer[24] ^= 0xff;
    const r = runGso([pkt(outer)], { checksum: { fix: true } });
    expect(checksumProblems(r.out[0]!.data)).toEqual([]);
    const z = vxlan(frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(50), csum: 'partial' }), { csum: false });
    const rz = runGso([pkt(z)], { checksum: { fix: true } });
    expect(u16(rz.out[0]!.data, 40)).toBe(0);
    expect(checksumProblems(rz.out[0]!.data)).toEqual([]);
  });

  it('repairs checksums under an MPLS stack and VLAN tags; ICMP too', () => {
    const f = frame({ vlan: [5], mpls: [16, 17], ip: { v: 6 }, l4: { kind: 'udp' }, payload: pattern(99), csum: 'partial' });
    expect(checksumProblems(f)).not.toEqual([]);
    const r = runGso([pkt(f)], { checksum: { fix: true } });
    expect(checksumProblems(r.out[0]!.data)).toEqual([]);
  });

  it('skips truncated captures with one warning', () => {
    const f = frame({ ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(300), csum: 'partial' });
    const p = new Packet(Packet.fromBytes(f.subarray(0, 100)).buf, 128, 228, f.length);
    const g = makeGso({ checksum: { fix: true } });
    g.run(p);
    expect(g.res.stage.stats.fixSkippedTruncated).toBe(1);
    expect(g.res.warnings.length).toBe(1);
  });
});

describe('super-packet marking (mss auto)', () => {
  const syn = (mss: number) =>
    frame({ ip: { v: 4, src: '192.0.2.2', dst: '192.0.2.1' }, l4: { kind: 'tcp', sport: 80, dport: 40000, flags: 0x12, options: [2, 4, mss >> 8, mss & 0xff] }, payload: new Uint8Array(0) });

  it('uses the MTU rule without a SYN, the peer MSS less option bytes with one', () => {
    const g = makeGso({}, 'veth', 'driver');
    g.run(pkt(tcp4(6000)));
    expect(g.res.out[0]!.gsoSize).toBe(1500 - 20 - 32);
    g.run(pkt(syn(1200)));
    g.run(pkt(tcp4(6000)));
    expect(g.res.out[2]!.gsoSize).toBe(1200 - 12);
    expect(g.superPackets.flowSummary()).toEqual([{ flow: '192.0.2.1:40000 > 192.0.2.2:80', peerMss: 1200 }]);
    expect(describeMssRule()).toMatch(/peer's SYN/);
  });

  it('CWR marks TCP_ECN; IPv6 TCPV6; UDP_L4 = MTU − IP − 8; MPLS stack counts against the MTU', () => {
    const g = makeGso({}, 'veth', 'driver');
    g.run(pkt(frame({ ip: { v: 4 }, l4: { kind: 'tcp', flags: 0x90 }, payload: pattern(3000) })));
    expect(g.res.out[0]!.gsoType).toBe(GSO.TCPV4 | GSO.TCP_ECN);
    g.run(pkt(tcp4(3000, 6)));
    expect(g.res.out[1]!.gsoType).toBe(GSO.TCPV6);
    expect(g.res.out[1]!.gsoSize).toBe(1500 - 40 - 32);
    g.run(pkt(frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(3000) })));
    expect([g.res.out[2]!.gsoType, g.res.out[2]!.gsoSize]).toEqual([GSO.UDP_L4, 1472]);
    g.run(pkt(frame({ mpls: [1, 2], ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(3000) })));
    expect(g.res.out[3]!.gsoSize).toBe(1500 - 8 - 20 - 20);
  });

  it('packets that fit, fragments and non-TCP/UDP are not marked', () => {
    const g = makeGso({}, 'veth', 'driver');
    g.run(pkt(tcp4(1000)));
    expect(g.res.out[0]!.gsoSize).toBe(0);
  });
});

describe('pipeline wiring', () => {
  const hostTcp4 = (n: number) => frame({ ip: { v: 4 }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(n), csum: 'partial' });

  it('Pipeline runs the egress after the last stage, configured by egress: or the older gso stage', async () => {
    const { Pipeline } = await import('../../pipeline/pipeline.js');
    const { resolvePipeline } = await import('../../pipeline/config.js');
    for (const doc of [{ nic: 'veth', view: 'driver', egress: { mss: 1000 } }, { nic: 'veth', view: 'driver', stages: [{ stage: 'gso', mss: 1000 }] }]) {
      const pl = new Pipeline(resolvePipeline(doc, 'test'));
      const out: Packet[] = [];
      pl.process(pkt(hostTcp4(5000)), out);
      expect(out.length).toBe(1);
      expect(out[0]!.notes).toEqual(['gso type=tcpv4 size=1000 segs=5']);
    }
    const cfg2 = resolvePipeline({ nic: 'none', view: 'wire' }, 'test');
    const out2: Packet[] = [];
    new Pipeline(cfg2).process(pkt(hostTcp4(5000)), out2);
    expect(out2.length).toBe(4);
    const L = new Layers();
    decodeFrame(out2[0]!.buf, out2[0]!.head, out2[0]!.tail, L);
    expect(L.ipEnd - L.netOff).toBe(1500);
  });

  it('a packet at its captured size: a super-packet only with a partial checksum, or against an MTU the user gave', async () => {
    const { Pipeline } = await import('../../pipeline/pipeline.js');
    const { resolvePipeline } = await import('../../pipeline/config.js');
    const through = (doc: Record<string, unknown>, f: Uint8Array) => {
      const out: Packet[] = [];
      new Pipeline(resolvePipeline(doc, 'test')).process(pkt(f), out);
      return out;
    };
    const complete = tcp4(5000);
    // Complete checksum, over the profile's MTU: it crossed a larger MTU as it is; left alone.
    expect(through({ nic: 'none', view: 'wire' }, complete).map((p) => hex(p.data))).toEqual([hex(complete)]);
    // An over-MTU IPv4 datagram without DF is not fragmented for the profile's MTU either.
    const udpNoDf = frame({ ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(3000) });
    expect(through({ nic: 'none', view: 'wire' }, udpNoDf).length).toBe(1);
    // An MTU the user gave applies to every packet.
    expect(through({ nic: 'none', view: 'wire', egress: { mtu: 1500 } }, complete).length).toBe(4);
    expect(through({ nic: 'none', view: 'wire', egress: { mtu: 1500 } }, udpNoDf).length).toBeGreaterThan(1);
    // The partial checksum of a host capture with TSO marks the super-packet.
    expect(through({ nic: 'none', view: 'wire' }, hostTcp4(5000)).length).toBe(4);
  });

  it('faithful by default: no stage, no egress setting, no nic, driver view → no egress at all', async () => {
    const { Pipeline } = await import('../../pipeline/pipeline.js');
    const { resolvePipeline } = await import('../../pipeline/config.js');
    expect(resolvePipeline({}, 'test').faithful).toBe(true);
    expect(resolvePipeline({ view: 'driver' }, 'test').faithful).toBe(true);
    for (const doc of [{ nic: 'none' }, { view: 'wire' }, { egress: {} }, { stages: [{ stage: 'gso' }] }, { stages: [{ stage: 'mpls-pop' }] }]) {
      expect(resolvePipeline(doc, 'test').faithful, JSON.stringify(doc)).toBe(false);
    }
    const f = hostTcp4(5000);
    const out: Packet[] = [];
    const pl = new Pipeline(resolvePipeline({}, 'test'));
    expect(pl.egress).toBeNull();
    pl.process(pkt(f), out);
    expect(out.map((p) => hex(p.data))).toEqual([hex(f)]);
  });
});
