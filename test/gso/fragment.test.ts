/**
 * ip_fragment cuts the packet itself in place into its first fragment and copies only the later
 * ones. These tests hold it against a plain reference written here, the textbook way (every
 * fragment a fresh copy of the L2 and IP headers and its slice of the data, from an untouched
 * copy of the packet), over VLAN / QinQ, IP options with and without the copied bit, odd
 * lengths and MTUs, a packet that was itself a fragment, a trailer, DF, truncated captures and
 * packets inside a shared read chunk at odd offsets.
 */
import { describe, expect, it } from 'vitest';
import { CSUM, GSO, HEADROOM, NO_OFFSET, Packet } from '../../pipeline/packet.js';
import { fragmentIpv4 } from '../../pipeline/gso/fragment.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { finish, sum16 } from '../../pipeline/wire/checksum.js';
import { checksumProblems, frame, pattern } from './build.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The reference: every fragment as a fresh byte array, from a copy of the frame taken before anything changes. */
function referenceFragments(f: Uint8Array, ip: number, mtu: number): Uint8Array[] {
  const src = f.slice();
  const hl = (src[ip]! & 0x0f) * 4;
  const total = (src[ip + 2]! << 8) | src[ip + 3]!;
  const ff = (src[ip + 6]! << 8) | src[ip + 7]!;
  const maxData = (mtu - hl) & ~7;
  const out: Uint8Array[] = [];
  for (let pos = 0; pos < total - hl; pos += maxData) {
    const len = Math.min(maxData, total - hl - pos);
    const last = pos + len >= total - hl;
    const g = new Uint8Array(ip + hl + len);
    g.set(src.subarray(0, ip + hl));
    g.set(src.subarray(ip + hl + pos, ip + hl + pos + len), ip + hl);
    if (pos > 0) {
      // Options without the copied bit become NOOPs (ip_options_fragment).
      let i = ip + 20;
      while (i < ip + hl) {
        const t = g[i]!;
        if (t === 0) break;
        if (t === 1) {
          i++;
          continue;
        }
        const l = g[i + 1]!;
        if (i + 1 >= ip + hl || l < 2 || i + l > ip + hl) break;
        if (!(t & 0x80)) g.fill(1, i, i + l);
        i += l;
      }
    }
    const off = (ff & 0x1fff) * 8 + pos;
    const flags = (ff & 0xc000) | (!last || ff & 0x2000 ? 0x2000 : 0) | (off >> 3);
    g[ip + 2] = (hl + len) >> 8;
    g[ip + 3] = hl + len;
    g[ip + 6] = flags >> 8;
    g[ip + 7] = flags;
    g[ip + 10] = g[ip + 11] = 0;
    const c = finish(sum16(g, ip, ip + hl));
    g[ip + 10] = c >> 8;
    g[ip + 11] = c;
    out.push(g);
  }
  return out;
}

/** Where the (outermost) IPv4 header of a frame is. */
function ipOf(f: Uint8Array): number {
  const L = new Layers();
  decodeFrame(f, 0, f.length, L);
  return L.netOff;
}

/**
 * A packet over a copy of `f` inside a larger shared chunk at offset `at`, with `room` bytes of
 * headroom (16: a record header; more: the bytes of records written before, lent by the run loop).
 */
function inChunk(f: Uint8Array, at: number, room = 16): { p: Packet; chunk: Buffer } {
  const chunk = Buffer.alloc(f.length + 48 + room + at, 0xee);
  const head = 16 + room + at;
  chunk.set(f, head);
  return { p: new Packet(chunk, head, head + f.length, f.length, head - room), chunk };
}

const COPIED_AND_NOT = [0x07, 7, 4, 0, 0, 0, 0, 0x83, 7, 4, 0, 0, 0, 0, 0, 0]; // record route (not copied), LSRR (copied)
const frames: Array<[string, Uint8Array]> = [
  ['plain TCP', frame({ ip: { v: 4, df: false }, l4: { kind: 'tcp' }, payload: pattern(1500 + 35) })],
  ['UDP, odd length', frame({ ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(4001) })],
  ['VLAN', frame({ vlan: [5], ip: { v: 4, df: false }, l4: { kind: 'tcp' }, payload: pattern(3333) })],
  ['QinQ', frame({ vlan: [7, 8], ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(2999) })],
  ['options, copied and not', frame({ ip: { v: 4, df: false, options: COPIED_AND_NOT }, l4: { kind: 'tcp' }, payload: pattern(2500) })],
  ['options ended by END', frame({ ip: { v: 4, df: false, options: [0x07, 3, 4, 0, 0x83, 3, 4] }, l4: { kind: 'udp' }, payload: pattern(1700) })],
  ['a middle fragment (MF, offset 185)', frame({ ip: { v: 4, df: false, frag: 0x2000 | 185 }, l4: { kind: 'udp' }, payload: pattern(2200) })],
  ['a last fragment (offset 370)', frame({ ip: { v: 4, df: false, frag: 370 }, l4: { kind: 'tcp' }, payload: pattern(1900) })],
];

describe('fragmentIpv4: the packet cut in place equals fragments copied from an untouched packet', () => {
  for (const [name, f] of frames) {
    it(name, () => {
      const ip = ipOf(f);
      for (const mtu of [68, 576, 1000, 1280, 1500, 1501]) {
        if ((f[ip + 2]! << 8 | f[ip + 3]!) <= mtu) continue;
        const want = referenceFragments(f, ip, mtu).map(hex);
        // Two ways to place the later fragments: a slab (16 bytes of headroom are too few) and
        // the packet's own headroom (room for all of them, or one byte short: the slab again).
        const laterBytes = referenceFragments(f, ip, mtu).slice(1).reduce((n, g) => n + g.length, 0);
        for (const room of [16, laterBytes - 1, laterBytes, laterBytes + 7]) {
          for (let at = 0; at < 4; at++) {
            const { p, chunk } = inChunk(f, at, room);
            const floor = p.floor;
            const head = p.head;
            const inHeadroom = room >= laterBytes;
            p.netOff = ip + p.head;
            p.transOff = ip + p.head + (f[ip]! & 0x0f) * 4;
            const got: Packet[] = [];
            expect(fragmentIpv4(p, mtu, (g) => got.push(g))).toBe(want.length);
            expect(got.map((g) => hex(g.data))).toEqual(want);
            // The first fragment is the packet; its bytes outside the frame are untouched.
            expect(got[0]).toBe(p);
            expect(p.head).toBe(head);
            expect(p.floor).toBe(inHeadroom ? head : floor);
            expect(chunk.subarray(0, floor).every((x) => x === 0xee)).toBe(true);
            expect(chunk.subarray(head + f.length).every((x) => x === 0xee)).toBe(true);
            for (const [i, g] of got.entries()) {
              expect(g.origLen).toBe(g.length);
              expect(g.netOff).toBe(g.head + ip);
              expect(g.transOff).toBe(i === 0 ? p.head + ip + (f[ip]! & 0x0f) * 4 : NO_OFFSET);
              expect([g.csumMode, g.gsoSize, g.gsoType, g.gsoSegs, g.encapsulation]).toEqual([CSUM.NONE, 0, 0, 0, false]);
              expect([g.innerMacOff, g.innerNetOff, g.innerTransOff]).toEqual([NO_OFFSET, NO_OFFSET, NO_OFFSET]);
              if (i > 0 && !inHeadroom) expect(g.head - g.floor).toBeGreaterThanOrEqual(HEADROOM);
              if (i > 0 && inHeadroom) {
                // In the packet's headroom, in order, each owning [floor, tail) and no byte of another's.
                expect(g.buf).toBe(chunk);
                expect(g.floor).toBe(i === 1 ? floor : got[i - 1]!.tail);
                expect(g.tail).toBe(i === got.length - 1 ? head : got[i + 1]!.head);
              }
              expect(checksumProblems(g.data)).toEqual([]);
            }
            // Each later fragment owns its bytes: writing over the first changes none of them.
            p.buf.fill(0x55, p.head, p.tail);
            expect(got.slice(1).map((g) => hex(g.data))).toEqual(want.slice(1));
          }
        }
      }
    });
  }

  it('a partial checksum is completed before the cut; the trailer after the datagram is left out', () => {
    const f = frame({ ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(3000), csum: 'partial' });
    const withTrailer = new Uint8Array(f.length + 6);
    withTrailer.set(f);
    withTrailer.fill(0xab, f.length);
    const complete = frame({ ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(3000) });
    const want = referenceFragments(complete, 14, 1500).map(hex);
    const p = Packet.fromBytes(withTrailer);
    p.csumMode = CSUM.PARTIAL;
    p.csumStart = p.head + 34;
    p.csumOffset = 6;
    p.gsoType = GSO.UDP_L4;
    const got: Packet[] = [];
    expect(fragmentIpv4(p, 1500, (g) => got.push(g))).toBe(want.length);
    expect(got.map((g) => hex(g.data))).toEqual(want);
  });

  it('refuses DF, a truncated capture, a packet that fits and an MTU without room for 8 data bytes, changing nothing', () => {
    const cases: Array<[Packet, number]> = [
      [Packet.fromBytes(frame({ ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(3000) })), 1500],
      [Packet.fromBytes(frame({ ip: { v: 4, df: false }, l4: { kind: 'tcp' }, payload: pattern(3000) }).subarray(0, 1600), 3054), 1500],
      [Packet.fromBytes(frame({ ip: { v: 4, df: false }, l4: { kind: 'tcp' }, payload: pattern(1000) })), 1500],
      [Packet.fromBytes(frame({ ip: { v: 4, df: false, options: COPIED_AND_NOT }, l4: { kind: 'tcp' }, payload: pattern(1000) })), 40],
    ];
    for (const [p, mtu] of cases) {
      const before = hex(p.data);
      const [head, tail] = [p.head, p.tail];
      const got: Packet[] = [];
      expect(fragmentIpv4(p, mtu, (g) => got.push(g))).toBe(0);
      expect(got).toEqual([]);
      expect([hex(p.data), p.head, p.tail]).toEqual([before, head, tail]);
    }
  });
});
