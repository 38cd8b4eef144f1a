import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as checksum from '../../pipeline/wire/checksum.js';
import { SYN, IPV6_EXT_UDP, hex } from './golden-frames.js';

/** Reference RFC 1071 sum: one word at a time, folded as it goes. */
function naiveSum(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i += 2) {
    const w = (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
    s += w;
    s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}
function naiveFinish(b: Uint8Array, start: number, end: number): number {
  return ~naiveSum(b, start, end) & 0xffff;
}

describe('checksum', () => {
  it('IPv4 header of the RFC 1071 style example (Wikipedia: 0xb861)', () => {
    // 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7
    const h = hex('450000730000400040110000c0a80001c0a800c7');
    expect(checksum.finish(checksum.sum16(h, 0, 20))).toBe(0xb861);
  });

  it('golden TCP SYN verifies with the IPv4 pseudo-header', () => {
    const ip = 14;
    const t = 34;
    const len = SYN.length - t;
    const pseudo = checksum.pseudoV4(SYN, ip + 12, ip + 16, 6, len);
    expect(checksum.fold(checksum.sum16(SYN, t, SYN.length, pseudo))).toBe(0xffff);
    expect(checksum.fold(checksum.sum16(SYN, ip, ip + 20))).toBe(0xffff);
  });

  it('golden UDP over IPv6 verifies with the IPv6 pseudo-header', () => {
    const ip = 14;
    const u = IPV6_EXT_UDP.length - 12;
    const pseudo = checksum.pseudoV6(IPV6_EXT_UDP, ip + 8, ip + 24, 17, 12);
    expect(checksum.fold(checksum.sum16(IPV6_EXT_UDP, u, IPV6_EXT_UDP.length, pseudo))).toBe(0xffff);
  });

  it('odd trailing byte is padded with zero', () => {
    expect(checksum.fold(checksum.sum16(hex('0102 03'), 0, 3))).toBe(0x0102 + 0x0300);
    // Long enough for the word-wise path, at both parities of the start.
    const b = new Uint8Array(203).fill(0);
    b[202] = 0x03;
    expect(checksum.fold(checksum.sum16(b, 0, 203))).toBe(0x0300);
    expect(checksum.fold(checksum.sum16(b, 1, 203))).toBe(0x0003);
  });

  it('a short range past the end of the array sums the missing bytes as zeros (no RangeError)', () => {
    const b = hex('4500 0034 1234 4000 4006');
    for (let start = 0; start < b.length; start++) {
      for (let extra = 1; extra <= 9; extra++) {
        expect(checksum.sum16(b, start, b.length + extra, 7), `start ${start} +${extra}`).toBe(checksum.sum16(b, start, b.length, 7));
      }
    }
  });

  it('fold handles sums above 2^32', () => {
    const big = 0xffff * 0x20000 + 5; // > 2^32
    let s = big;
    let ref = 0;
    // Reference: fold by repeated end-around carry in BigInt.
    let bs = BigInt(s);
    while (bs >> 16n) bs = (bs & 0xffffn) + (bs >> 16n);
    ref = Number(bs);
    expect(checksum.fold(s)).toBe(ref);
    s = 0;
    expect(checksum.fold(s)).toBe(0);
  });

  it('udpFinal maps 0 to 0xffff only', () => {
    expect(checksum.udpFinal(0)).toBe(0xffff);
    expect(checksum.udpFinal(0x1234)).toBe(0x1234);
  });

  it('sum16 equals the naive sum at every alignment (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), fc.nat(300), (b, x, y) => {
        const start = Math.min(x, b.length);
        const end = Math.min(Math.max(y, start), b.length);
        expect(checksum.fold(checksum.sum16(b, start, end))).toBe(naiveSum(b, start, end));
        expect(checksum.finish(checksum.sum16(b, start, end))).toBe(naiveFinish(b, start, end));
      }),
    );
  });

  it('sum16 equals the naive sum at any byteOffset, start, length and acc (property)', () => {
    // Views into a larger ArrayBuffer at every byteOffset modulo 4, ranges long enough for the
    // word-wise middle, starting and ending at every alignment.
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000, size: 'max' }),
        fc.nat(7),
        fc.nat(3000),
        fc.nat(3000),
        fc.oneof(fc.constant(0), fc.nat(0xffff), fc.nat(2 ** 40)),
        (bytes, byteOffset, x, y, acc) => {
          const ab = new ArrayBuffer(bytes.length + byteOffset + 5);
          const b = new Uint8Array(ab, byteOffset, bytes.length);
          b.set(bytes);
          const start = Math.min(x, b.length);
          const end = Math.min(Math.max(y, start), b.length);
          const got = checksum.sum16(b, start, end, acc);
          expect(got).toBeGreaterThanOrEqual(0);
          expect(Number.isInteger(got)).toBe(true);
          const want = naiveSum(b, start, end) + acc;
          expect(checksum.fold(got)).toBe(checksum.fold(want));
          // 0 only when every byte (and acc) is 0: fold then tells 0x0000 from 0xffff.
          expect(got === 0).toBe(want === 0);
        },
      ),
    );
  });

  it('sum16 equals the naive sum for every length 0..300 at every byteOffset and start parity (the 8-word unrolled loop and its tail)', () => {
    const bytes = new Uint8Array(400);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 23;
    for (let off = 0; off < 4; off++) {
      const b = new Uint8Array(new ArrayBuffer(bytes.length + 8), off, bytes.length);
      b.set(bytes);
      for (let start = 0; start < 8; start++) {
        for (let len = 0; start + len <= 300; len++) {
          expect(checksum.fold(checksum.sum16(b, start, start + len, 0x1234))).toBe(checksum.fold(naiveSum(b, start, start + len) + 0x1234));
        }
      }
    }
  });

  it('sum16 over all-zero and all-0xff ranges at every alignment', () => {
    for (let off = 0; off < 8; off++) {
      for (const len of [63, 64, 65, 66, 67, 100, 1501]) {
        const zeros = new Uint8Array(new ArrayBuffer(len + 8), off, len);
        expect(checksum.sum16(zeros, 0, len)).toBe(0);
        expect(checksum.sum16(zeros, 1, len, 0)).toBe(0);
        const ones = new Uint8Array(new ArrayBuffer(len + 8), off, len).fill(0xff);
        expect(checksum.fold(checksum.sum16(ones, 0, len))).toBe(naiveSum(ones, 0, len));
        expect(checksum.fold(checksum.sum16(ones, 3, len))).toBe(naiveSum(ones, 3, len));
      }
    }
  });

  it('sum16 of several buffers in turn, a pooled Buffer and more than 4 MiB (word blocks)', () => {
    const big = new Uint8Array(5 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    const small = Buffer.from(big.subarray(0, 1000)); // from Node's pool: any byteOffset
    for (let r = 0; r < 3; r++) {
      expect(checksum.fold(checksum.sum16(small, 1, 999))).toBe(naiveSum(small, 1, 999));
      expect(checksum.fold(checksum.sum16(big, 3, 900))).toBe(naiveSum(big, 3, 900));
    }
    expect(checksum.fold(checksum.sum16(big, 0, big.length))).toBe(naiveSum(big, 0, big.length));
    expect(checksum.fold(checksum.sum16(big, 1, big.length))).toBe(naiveSum(big, 1, big.length));
    const ff = new Uint8Array(9 * 1024 * 1024).fill(0xff);
    expect(checksum.fold(checksum.sum16(ff, 0, ff.length))).toBe(0xffff);
  });

  it('sum16 over a resizable ArrayBuffer that grows and shrinks between sums', () => {
    // Resizable ArrayBuffer (ES2024, in Node 20): the lib target here predates its types.
    type Resizable = ArrayBuffer & { resize(n: number): void };
    const ab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(256, { maxByteLength: 4096 });
    const fill = (b: Uint8Array) => {
      for (let i = 0; i < b.length; i++) b[i] = (i * 37 + 11) & 0xff;
    };
    const other = new Uint8Array(512).fill(3); // takes turns with ab in the view cache
    for (const size of [256, 4096, 1000, 3000, 128]) {
      ab.resize(size);
      const b = new Uint8Array(ab);
      fill(b);
      for (const [s, e] of [[0, size], [1, size - 1], [size - 101, size]] as const) {
        expect(checksum.fold(checksum.sum16(b, s, e))).toBe(naiveSum(b, s, e));
        expect(checksum.fold(checksum.sum16(other, 1, 500))).toBe(naiveSum(other, 1, 500));
      }
    }
  });

  it('split sums combine with csumAdd / acc at even split points (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(100), (b, k) => {
        const mid = Math.min(k * 2, b.length - (b.length % 2));
        const whole = checksum.fold(checksum.sum16(b, 0, b.length));
        expect(checksum.fold(checksum.csumAdd(checksum.sum16(b, 0, mid), checksum.sum16(b, mid, b.length)))).toBe(whole);
        expect(checksum.fold(checksum.sum16(b, mid, b.length, checksum.sum16(b, 0, mid)))).toBe(whole);
      }),
    );
  });

  it('update16 / update32 agree with a full recomputation (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 64 }).filter((b) => b.length % 2 === 0),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (b, at, w16, w32) => {
          const csum = checksum.finish(checksum.sum16(b, 0, b.length));
          // 16-bit word at an even offset.
          const o = (at % (b.length / 2)) * 2;
          const old16 = (b[o]! << 8) | b[o + 1]!;
          const c = b.slice();
          c[o] = w16 >>> 8;
          c[o + 1] = w16 & 0xff;
          const want16 = checksum.finish(checksum.sum16(c, 0, c.length));
          const got16 = checksum.update16(csum, old16, w16);
          // 0x0000 and 0xffff are the same one's-complement value (RFC 1624 section 3).
          expect(got16 % 0xffff).toBe(want16 % 0xffff);
          // 32-bit value at an even offset with room for 4 bytes.
          const o4 = (at % (b.length / 2 - 1)) * 2;
          const old32 = ((b[o4]! << 24) | (b[o4 + 1]! << 16) | (b[o4 + 2]! << 8) | b[o4 + 3]!) >>> 0;
          const d = b.slice();
          d[o4] = w32 >>> 24;
          d[o4 + 1] = (w32 >>> 16) & 0xff;
          d[o4 + 2] = (w32 >>> 8) & 0xff;
          d[o4 + 3] = w32 & 0xff;
          const want32 = checksum.finish(checksum.sum16(d, 0, d.length));
          expect(checksum.update32(csum, old32, w32) % 0xffff).toBe(want32 % 0xffff);
        },
      ),
    );
  });

  it('update16 on a TTL decrement matches the stored header checksum', () => {
    // IPv4 header of the SYN; TTL 64 -> 63 changes the word at +8 (TTL, protocol).
    const h = SYN.slice(14, 34);
    const old = (h[8]! << 8) | h[9]!;
    h[8] = 63;
    const c = checksum.update16((h[10]! << 8) | h[11]!, old, (h[8]! << 8) | h[9]!);
    h[10] = c >>> 8;
    h[11] = c & 0xff;
    expect(checksum.fold(checksum.sum16(h, 0, 20))).toBe(0xffff);
  });
});
