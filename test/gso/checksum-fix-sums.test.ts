import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChecksumFixer } from '../../pipeline/gso/checksum-fix.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { checksumProblems, frame, pattern, pkt, vxlan, type FrameSpec } from './build.js';

/** Overwrite every checksum field of the frame (and of the frame inside VXLAN) with garbage. */
function corrupt(b: Uint8Array, seed: number, off = 0, end = b.length, depth = 0): void {
  const L = new Layers();
  decodeFrame(b, off, end, L);
  const put = (at: number, v: number) => {
    if (at + 2 > end) return;
    b[at] = (v >>> 8) & 0xff;
    b[at + 1] = v & 0xff;
  };
  let s = seed;
  const next = () => (s = (Math.imul(s, 0x9e3779b1) + 0x7f4a7c15) >>> 0) & 0xffff || 1;
  if (L.netProto === 0x0800 && L.netOff >= 0) put(L.netOff + 10, next());
  if (L.transOff < 0 || L.isFragment) return;
  const t = L.transOff;
  if (L.l4Proto === 6) put(t + 16, next());
  if (L.l4Proto === 17) {
    const dport = (b[t + 2]! << 8) | b[t + 3]!;
    // A zero UDP checksum means "none": keep it zero (kept over IPv4 and on a tunnel).
    if ((b[t + 6]! | b[t + 7]!) !== 0) put(t + 6, next());
    if (dport === 4789 && depth < 2) corrupt(b, s, t + 16, Math.min(L.ipEnd, t + ((b[t + 4]! << 8) | b[t + 5]!)), depth + 1);
  }
}

/** Fix a copy with the fixer that reuses the inner frame's sums and one with the general path. */
function bothWays(bytes: Uint8Array): { fast: Uint8Array; general: Uint8Array; fastResult: string; generalResult: string; rewritten: [number, number] } {
  const a = pkt(bytes.slice());
  const b = pkt(bytes.slice());
  const fast = new ChecksumFixer();
  const general = new ChecksumFixer(undefined, false);
  const fastResult = fast.fix(a);
  const generalResult = general.fix(b);
  return { fast: a.data, general: b.data, fastResult, generalResult, rewritten: [fast.rewritten, general.rewritten] };
}

const padded = (inner: Uint8Array, pad: number) => {
  const out = new Uint8Array(inner.length + pad);
  out.set(inner);
  for (let i = 0; i < pad; i++) out[inner.length + i] = 0xa5 ^ i;
  return out;
};

describe('checksum.fix: the outer UDP checksum of a VXLAN frame from the inner frame just repaired', () => {
  const inner = (spec: Partial<FrameSpec> & Pick<FrameSpec, 'ip' | 'l4'>, n: number) => frame({ payload: pattern(n, n), ...spec });
  const CASES: Array<[string, Uint8Array]> = [
    ['TCP/IPv4 in IPv4', vxlan(inner({ ip: { v: 4 }, l4: { kind: 'tcp' } }, 1400), { csum: true })],
    ['TCP/IPv6 in IPv6, odd payload', vxlan(inner({ ip: { v: 6 }, l4: { kind: 'tcp' } }, 1001), { v: 6, csum: true })],
    ['UDP/IPv4 with options, VLAN-tagged', vxlan(inner({ vlan: [100], ip: { v: 4, options: [7, 7, 4, 0, 0, 0, 0] }, l4: { kind: 'udp' } }, 333), { csum: true })],
    ['UDP/IPv4 zero checksum (kept: summed as it is)', vxlan(inner({ ip: { v: 4 }, l4: { kind: 'udp' }, csum: 'zero' }, 200), { csum: true })],
    ['UDP/IPv6 with extension headers, QinQ', vxlan(inner({ vlan: [10, 20], ip: { v: 6, ext: [[0, 8], [60, 16]] }, l4: { kind: 'udp' } }, 77), { v: 6, csum: true })],
    ['IPv4 fragment inside (its L4 left alone)', vxlan(inner({ ip: { v: 4, frag: 0x2000, df: false }, l4: { kind: 'tcp' } }, 500), { csum: true })],
    ['Ethernet padding after the inner datagram (odd)', vxlan(padded(inner({ ip: { v: 4 }, l4: { kind: 'tcp' } }, 11), 7), { csum: true })],
    ['MPLS inside', vxlan(inner({ mpls: [16, 17], ip: { v: 4 }, l4: { kind: 'tcp' } }, 300), { v: 6, csum: true })],
    ['VXLAN in VXLAN, both with checksums', vxlan(vxlan(inner({ ip: { v: 6 }, l4: { kind: 'udp' } }, 123), { csum: true }), { csum: true })],
    ['VXLAN in VXLAN, the middle one without', vxlan(vxlan(inner({ ip: { v: 4 }, l4: { kind: 'tcp' } }, 123), { csum: false }), { v: 6, csum: true })],
  ];
  for (const [name, bytes] of CASES) {
    it(`${name}: the same bytes as summing everything, and every checksum verifies`, () => {
      for (const seed of [1, 2, 3]) {
        const broken = bytes.slice();
        corrupt(broken, seed);
        expect(checksumProblems(broken).length).toBeGreaterThan(0);
        const r = bothWays(broken);
        expect(r.fastResult).toBe(r.generalResult);
        expect(Buffer.from(r.fast).equals(Buffer.from(r.general))).toBe(true);
        expect(r.rewritten[0]).toBe(r.rewritten[1]);
        expect(Buffer.from(r.fast).equals(Buffer.from(bytes))).toBe(true);
      }
    });
  }

  it('a frame inside that is not IP (summed as it is)', () => {
    const arp = new Uint8Array(60);
    arp.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    const bytes = vxlan(arp, { csum: true });
    const broken = bytes.slice();
    broken[14 + 20 + 6] ^= 0x5a;
    const r = bothWays(broken);
    expect(Buffer.from(r.fast).equals(Buffer.from(bytes))).toBe(true);
    expect(Buffer.from(r.general).equals(Buffer.from(bytes))).toBe(true);
  });

  it('random frames: the same bytes as the general path (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4, 6) as fc.Arbitrary<4 | 6>,
        fc.constantFrom(4, 6) as fc.Arbitrary<4 | 6>,
        fc.constantFrom('tcp', 'udp') as fc.Arbitrary<'tcp' | 'udp'>,
        fc.nat(1500),
        fc.nat(2),
        fc.nat(3),
        fc.nat(9),
        fc.boolean(),
        fc.integer({ min: 1, max: 0xffffffff }),
        (outerV, innerV, kind, n, tags, optWords, pad, nested, seed) => {
          const ip = innerV === 4 ? { v: 4 as const, options: Array.from({ length: optWords * 4 }, () => 1) } : { v: 6 as const, ext: optWords ? ([[0, 8 * optWords]] as Array<[number, number]>) : [] };
          let f: Uint8Array = padded(frame({ vlan: [5, 6].slice(0, tags), ip, l4: { kind }, payload: pattern(n, seed & 0xff) }), pad);
          if (nested) f = vxlan(f, { v: innerV, csum: (seed & 1) === 1 });
          const bytes = vxlan(f, { v: outerV, csum: true });
          const broken = bytes.slice();
          corrupt(broken, seed);
          const r = bothWays(broken);
          expect(r.fastResult).toBe(r.generalResult);
          expect(Buffer.from(r.fast).equals(Buffer.from(r.general))).toBe(true);
          expect(checksumProblems(r.fast)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
