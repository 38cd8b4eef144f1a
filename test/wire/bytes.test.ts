/**
 * bufferOf, byteOffsetOf and dataViewOf: `a.buffer`, `a.byteOffset` and a DataView of `a`
 * remembered for the last two arrays (the getters are generic calls in V8's optimized code, a
 * DataView an object). Whatever order arrays come in, and whichever is asked, each array's own
 * buffer, offset and bytes.
 */
import { describe, expect, it } from 'vitest';
import { bufferOf, byteOffsetOf, dataViewOf, setBytes } from '../../pipeline/wire/bytes.js';

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

describe('dataViewOf', () => {
  it("reads each array's own bytes at its own offsets, in any order of arrays", () => {
    const shared = new ArrayBuffer(64);
    new Uint8Array(shared).forEach((_, i, a) => (a[i] = i));
    const arrays = [new Uint8Array(shared, 3, 20), new Uint8Array(shared, 17, 40), Uint8Array.from([9, 8, 7, 6, 5]), Buffer.from([1, 2, 3, 4])];
    const order = [0, 1, 0, 2, 2, 3, 1, 3, 0, 2, 1, 1, 3, 0];
    for (const k of order) {
      const a = arrays[k]!;
      const dv = dataViewOf(a);
      expect(dv.byteLength).toBe(a.length);
      for (let i = 0; i + 4 <= a.length; i++) expect(dv.getUint32(i)).toBe(((a[i]! << 24) | (a[i + 1]! << 16) | (a[i + 2]! << 8) | a[i + 3]!) >>> 0);
      // Nothing past the array: its last word is the last readable one.
      expect(() => dv.getUint8(a.length)).toThrow(RangeError);
    }
  });

  it('makes a view once per array while two arrays alternate, and again for one forgotten', () => {
    const a = new Uint8Array(16);
    const b = new Uint8Array(16);
    const c = new Uint8Array(16);
    const va = dataViewOf(a);
    const vb = dataViewOf(b);
    for (let i = 0; i < 5; i++) {
      expect(dataViewOf(a)).toBe(va);
      expect(bufferOf(b)).toBe(b.buffer);
      expect(dataViewOf(b)).toBe(vb);
    }
    // A third array pushes out the least recent (a): its view is made anew, and still reads a.
    dataViewOf(c);
    const va2 = dataViewOf(a);
    expect(va2).not.toBe(va);
    a[0] = 0xab;
    expect(va2.getUint8(0)).toBe(0xab);
  });
});
