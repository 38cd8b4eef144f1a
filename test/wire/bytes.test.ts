/**
 * bufferOf and byteOffsetOf: `a.buffer` and `a.byteOffset` remembered for the last two arrays (the
 * getters are generic calls in V8's optimized code). Whatever order arrays come in, and whichever
 * of the two is asked, each array's own buffer and offset.
 */
import { describe, expect, it } from 'vitest';
import { bufferOf, byteOffsetOf, setBytes } from '../../pipeline/wire/bytes.js';

describe('bufferOf', () => {
  it("gives every array's own buffer, in any order of arrays (views of one buffer, Buffers, plain arrays)", () => {
    const shared = new ArrayBuffer(64);
    const arrays: Uint8Array[] = [
      new Uint8Array(shared, 4, 12),
      new Uint8Array(shared, 16, 16),
      new Uint8Array(32),
      Buffer.alloc(8),
      new Uint8Array(shared, 48, 8),
      Buffer.allocUnsafeSlow(4096),
      new Uint8Array(new ArrayBuffer(8)),
    ];
    // A deterministic walk with repeats, alternations and returns to older arrays.
    let x = 7;
    for (let i = 0; i < 2000; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const a = arrays[i % 5 === 0 ? x % arrays.length : (x >> 8) % 2]!;
      if ((x >> 12) & 1) expect(byteOffsetOf(a)).toBe(a.byteOffset);
      else expect(bufferOf(a)).toBe(a.buffer);
    }
    for (const a of arrays) {
      expect(bufferOf(a)).toBe(a.buffer);
      expect(byteOffsetOf(a)).toBe(a.byteOffset);
    }
  });
});

describe('setBytes', () => {
  it('is dst.set(src, at): every offset, an empty source, and a RangeError past the end', () => {
    const src = Uint8Array.from({ length: 50 }, (_, i) => i + 1);
    for (let at = 0; at <= 14; at++) {
      const a = new Uint8Array(64).fill(0xee);
      const b = new Uint8Array(64).fill(0xee);
      setBytes(a, src, at);
      b.set(src, at);
      expect(a).toEqual(b);
    }
    const c = new Uint8Array(8).fill(1);
    setBytes(c, new Uint8Array(0), 8);
    expect([...c]).toEqual(new Array(8).fill(1));
    expect(() => setBytes(new Uint8Array(49), src, 0)).toThrow(RangeError);
  });
});
