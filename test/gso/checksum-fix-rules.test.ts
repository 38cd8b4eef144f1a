/**
 * checksum.fix on tunnel output: the frame inside VXLAN is repaired even when the outer UDP
 * checksum is the packet's partial one, and a zero UDP checksum (IPv4 "none", IPv6 tunnel zero
 * checksum) stays zero. Found by the real-kernel VXLAN GSO comparison.
 */
import { describe, expect, it } from 'vitest';
import { Packet } from '../../pipeline/packet.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { resolvePipeline } from '../../pipeline/config.js';
import { craftFrame } from '../../pipeline/craft.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { fold, pseudoV4, pseudoV6, sum16 } from '../../pipeline/wire/checksum.js';
import { ChecksumFixer } from '../../pipeline/gso/checksum-fix.js';
import { vxlanFrame } from '../kernel/frames.js';
import fc from 'fast-check';
import { checksumProblems, frame, pattern, vxlan } from './build.js';

function l4Verifies(b: Uint8Array, L: Layers): boolean {
  const len = L.ipEnd - L.transOff;
  const ps = L.netProto === 0x0800 ? pseudoV4(b, L.netOff + 12, L.netOff + 16, L.l4Proto, len) : pseudoV6(b, L.netOff + 8, L.netOff + 24, L.l4Proto, len);
  return fold(sum16(b, L.transOff, L.ipEnd, ps)) === 0xffff;
}

function encap(frame: Uint8Array, dst: string, csum: boolean): Packet {
  const p = new Pipeline(
    resolvePipeline(
      {
        nic: 'none',
        view: 'wire',
        stages: [
          { stage: 'tunnel-key', rules: [{ set: { vni: 42, dst, csum } }] },
          { stage: 'vxlan-encap', src: dst.includes(':') ? '2001:db8::1' : '192.0.2.1' },
          { stage: 'gso', checksum: { fix: true } },
        ],
      },
      'test',
    ),
  );
  const out: Packet[] = [];
  p.process(Packet.fromBytes(frame), out);
  expect(out.length).toBe(1);
  return out[0]!;
}

// An inner TCP segment as a host with checksum offload captured it: the field holds junk.
function offloadedInner(): Uint8Array {
  const f = craftFrame({ ip: { src: '198.51.100.1', dst: '198.51.100.2' }, l4: { kind: 'tcp', srcPort: 1, dstPort: 2, flags: 0x10 }, payload: 100 });
  f[14 + 20 + 16] ^= 0x5a;
  return f;
}

describe('checksum.fix with vxlan-encap', () => {
  for (const [dst, csum] of [['192.0.2.2', true], ['192.0.2.2', false], ['2001:db8::2', true], ['2001:db8::2', false]] as const) {
    it(`outer ${dst.includes(':') ? 'IPv6' : 'IPv4'}, outer csum ${csum}: inner TCP repaired, outer UDP ${csum ? 'valid' : 'zero'}`, () => {
      const out = encap(offloadedInner(), dst, csum);
      const b = out.data;
      const O = new Layers();
      decodeFrame(b, 0, b.length, O);
      const I = new Layers();
      decodeFrame(b, O.transOff + 16, b.length, I);
      expect(l4Verifies(b, I)).toBe(true);
      const udpCsum = (b[O.transOff + 6]! << 8) | b[O.transOff + 7]!;
      if (csum) expect(l4Verifies(b, O)).toBe(true);
      else expect(udpCsum).toBe(0);
    });
  }
});

describe('checksum.fix: every layer by its own family rule', () => {
  const udpInner = (v6: boolean) =>
    craftFrame({ ip: v6 ? { src: '2001:db8:1::1', dst: '2001:db8:1::2' } : { src: '198.51.100.1', dst: '198.51.100.2' }, l4: { kind: 'udp', srcPort: 5000, dstPort: 6000 }, payload: 64 });
  const zeroUdp = (f: Uint8Array, l4: number) => {
    f[l4 + 6] = 0;
    f[l4 + 7] = 0;
    return f;
  };
  const outer = (v6: boolean, csum: boolean, inner: Uint8Array) =>
    Buffer.from(
      vxlanFrame(
        v6
          ? { underlay: 'ipv6', srcMac: '02:00:00:00:0a:01', dstMac: '02:00:00:00:0b:01', src: '2001:db8::1', dst: '2001:db8::2', vni: 5, udpCsum: csum ? 'valid' : 'zero' }
          : { underlay: 'ipv4', srcMac: '02:00:00:00:0a:01', dstMac: '02:00:00:00:0b:01', src: '192.0.2.1', dst: '192.0.2.2', vni: 5, udpCsum: csum ? 'valid' : 'zero' },
        Buffer.from(inner),
      ),
    );
  const fix = (b: Uint8Array) => {
    const p = Packet.fromBytes(b);
    expect(new ChecksumFixer().fix(p)).toBe('fixed');
    return p.data;
  };
  const layers = (b: Uint8Array) => {
    const O = new Layers();
    decodeFrame(b, 0, b.length, O);
    const I = new Layers();
    decodeFrame(b, O.transOff + 16, b.length, I);
    return { O, I, csum: (L: Layers) => (b[L.transOff + 6]! << 8) | b[L.transOff + 7]! };
  };

  for (const outerV6 of [false, true]) {
    for (const outerCsum of [false, true]) {
      it(`a zero UDP checksum of an IPv6 packet inside VXLAN (outer ${outerV6 ? 'IPv6' : 'IPv4'}, outer csum ${outerCsum}) is computed; the outer one keeps its state`, () => {
        const f = outer(outerV6, outerCsum, zeroUdp(udpInner(true), 14 + 40));
        const b = fix(f);
        const { O, I, csum } = layers(b);
        expect(csum(I)).not.toBe(0);
        expect(l4Verifies(b, I)).toBe(true);
        if (outerCsum) expect(l4Verifies(b, O)).toBe(true);
        else expect(csum(O)).toBe(0);
      });
    }
  }

  it('a zero UDP checksum over IPv4 stays zero, inside VXLAN and outside', () => {
    const b = fix(outer(true, true, zeroUdp(udpInner(false), 14 + 20)));
    const { O, I, csum } = layers(b);
    expect(csum(I)).toBe(0);
    expect(l4Verifies(b, O)).toBe(true);
    expect(Buffer.from(fix(zeroUdp(udpInner(false), 14 + 20)))).toEqual(Buffer.from(zeroUdp(udpInner(false), 14 + 20)));
  });

  it('a plain (not tunnelled) UDP-over-IPv6 zero checksum is computed', () => {
    const b = fix(zeroUdp(udpInner(true), 14 + 40));
    const L = new Layers();
    decodeFrame(b, 0, b.length, L);
    expect(l4Verifies(b, L)).toBe(true);
  });
});

describe('checksum.fix: a tunnel outer UDP checksum adds the repaired inner segment sum (property)', () => {
  /** Outer UDP checksum by the book, one byte pair at a time, over the repaired frame. */
  function outerUdpByTheBook(b: Uint8Array, L: Layers): number {
    const t = L.transOff;
    const len = L.ipEnd - t;
    const v4 = L.netProto === 0x0800;
    const words: number[] = [];
    for (let i = t; i < L.ipEnd; i += 2) words.push(i === t + 6 ? 0 : (b[i]! << 8) | (i + 1 < L.ipEnd ? b[i + 1]! : 0));
    const addr = (o: number, n: number) => {
      for (let i = 0; i < n; i += 2) words.push((b[o + i]! << 8) | b[o + i + 1]!);
    };
    if (v4) addr(L.netOff + 12, 8);
    else addr(L.netOff + 8, 32);
    words.push(17, len >>> 16, len & 0xffff);
    let s = 0;
    for (const w of words) {
      s += w;
      s = (s & 0xffff) + (s >>> 16);
    }
    const c = ~s & 0xffff;
    return c === 0 ? 0xffff : c;
  }

  it('every checksum verifies, the outer one equals the by-the-book value (lengths, padding inside VXLAN, VLAN, families)', () => {
    fc.assert(
      fc.property(
        fc.record({
          outerV6: fc.boolean(),
          innerV6: fc.boolean(),
          vlan: fc.boolean(),
          l4: fc.constantFrom('tcp' as const, 'udp' as const),
          len: fc.nat(1600),
          pad: fc.nat(5),
          seed: fc.nat(255),
          junkInner: fc.integer({ min: 1, max: 0xffff }),
          junkOuter: fc.integer({ min: 1, max: 0xffff }),
        }),
        (r) => {
          const inner = frame({ vlan: r.vlan ? [9] : undefined, ip: r.innerV6 ? { v: 6 } : { v: 4 }, l4: { kind: r.l4 }, payload: pattern(r.len, r.seed), csum: 'partial' });
          const padded = new Uint8Array(inner.length + r.pad).fill(0xa5);
          padded.set(inner);
          const f = vxlan(padded, { v: r.outerV6 ? 6 : 4, csum: true });
          const O = new Layers();
          decodeFrame(f, 0, f.length, O);
          const innerL4 = O.transOff + 16 + 14 + (r.vlan ? 4 : 0) + (r.innerV6 ? 40 : 20);
          const innerField = innerL4 + (r.l4 === 'tcp' ? 16 : 6);
          f[innerField] = r.junkInner >>> 8;
          f[innerField + 1] = r.junkInner & 0xff;
          f[O.transOff + 6] = r.junkOuter >>> 8;
          f[O.transOff + 7] = r.junkOuter & 0xff;
          const p = Packet.fromBytes(f);
          new ChecksumFixer().fix(p);
          const out = p.data;
          expect(checksumProblems(out)).toEqual([]);
          decodeFrame(out, 0, out.length, O);
          expect((out[O.transOff + 6]! << 8) | out[O.transOff + 7]!).toBe(outerUdpByTheBook(out, O));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('checksum.fix and the VXLAN ports', () => {
  it('repairs the frame inside VXLAN on a configured port, and leaves a datagram to another port opaque', () => {
    // The inner TCP checksum broken, the outer UDP checksum zero (IPv4: none, kept).
    const inner = offloadedInner();
    const innerTcp = (b: Uint8Array) => {
      const at = 14 + 20 + 8 + 8 + 14 + 20 + 16;
      return (b[at]! << 8) | b[at + 1]!;
    };
    const good = Packet.fromBytes(vxlan(inner, { dport: 8472 }));
    expect(new ChecksumFixer([8472]).fix(good)).toBe('fixed');
    expect(checksumProblems(good.data)).toEqual([]);
    expect(checksumProblems(good.data, 14 + 20 + 8 + 8)).toEqual([]);

    // The same datagram where 8472 is not a VXLAN port: its payload is not a frame to repair.
    const opaque = Packet.fromBytes(vxlan(inner, { dport: 8472 }));
    new ChecksumFixer([4789]).fix(opaque);
    expect(innerTcp(opaque.data)).toBe(innerTcp(vxlan(inner, { dport: 8472 })));
    expect(innerTcp(good.data)).not.toBe(innerTcp(opaque.data));
  });
});
