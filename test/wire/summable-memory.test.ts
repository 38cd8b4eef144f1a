/**
 * The summable memory (WebAssembly SIMD sums, pipeline/wire/summable-memory.ts): the bytes shipped
 * are checksum.wat's, a sum over the memory equals the JavaScript sum over the same bytes anywhere
 * else, regions are handed out aligned and taken back, and frames copy between regions and from
 * ordinary memory alike.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sum16, fold } from '../../pipeline/wire/checksum.js';
import { copyRange, moveWithin } from '../../pipeline/wire/bytes.js';
import { giveSummable, summableBuffer, summableCarved, takeSummable } from '../../pipeline/wire/summable-memory.js';
import { PacketSlab } from '../../pipeline/packet-slab.js';
import { SLOT_SIZE, giveSlot, slotMemoryOf, takeSlot } from '../../pipeline/pcap/io-slots.js';
// @ts-expect-error: a plain ES module script, without declarations
import { assembled, embedded } from '../../pipeline/wire/build-checksum-wasm.mjs';

/** Reference RFC 1071 sum, folded as it goes (as in checksum.test.ts). */
function naiveSum(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i += 2) {
    s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}

/** The same bytes in the summable memory and in ordinary memory. */
function twin(bytes: Uint8Array): { summable: Uint8Array; plain: Uint8Array; give: () => void } {
  const region = takeSummable(bytes.length + 64);
  expect(region).not.toBeNull();
  region!.set(bytes, 0);
  return { summable: region!.subarray(0, bytes.length), plain: Uint8Array.from(bytes), give: () => giveSummable(region!) };
}

describe('summable memory', () => {
  it('ships the bytes checksum.wat assembles to', async () => {
    expect(embedded()).toBe(await assembled());
  });

  it('exists on this runtime (WebAssembly SIMD): runs here take the SIMD sums', () => {
    expect(takeSummable(64)).not.toBeNull();
    expect(summableBuffer).not.toBeNull();
  });

  it('sums like JavaScript at every start, length 0..600, with and without acc', () => {
    const bytes = new Uint8Array(700);
    let x = 12345;
    for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) & 0x7fffffff) >>> 16;
    const { summable, plain, give } = twin(bytes);
    for (let start = 0; start < 16; start++) {
      for (let n = 0; n + start <= 616 && n <= 600; n++) {
        for (const acc of [0, 0x1234, 2 ** 40]) {
          const got = fold(sum16(summable, start, start + n, acc));
          expect(got).toBe(fold(sum16(plain, start, start + n, acc)));
          if (acc === 0) expect(got).toBe(naiveSum(plain, start, start + n));
        }
      }
    }
    give();
  });

  it('sums like JavaScript on random ranges, all-zero and all-0xff ones, and across the 256 KiB blocks of its loop', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 4000 }), fc.nat(63), fc.nat(4000), (b, s, n) => {
        const { summable, plain, give } = twin(b);
        const start = Math.min(s, b.length);
        const end = Math.min(start + n, b.length);
        expect(fold(sum16(summable, start, end))).toBe(fold(sum16(plain, start, end)));
        give();
      }),
    );
    for (const fillByte of [0, 0xff]) {
      for (const n of [64, 1500, 262144 - 2, 262144, 262144 + 18, 3 * 262144 + 7, 1 << 20]) {
        const { summable, plain, give } = twin(new Uint8Array(n + 3).fill(fillByte));
        for (const start of [0, 1, 3]) {
          const got = fold(sum16(summable, start, start + n));
          expect(got).toBe(fold(sum16(plain, start, start + n)));
          if (n % 2 === 0) expect(got).toBe(fillByte === 0 ? 0 : 0xffff);
        }
        give();
      }
    }
  });

  it('hands out regions at their alignment, takes them back, and says when it is full', () => {
    const a = takeSummable(1000)!;
    expect(a.byteOffset % 64).toBe(0);
    const big = takeSummable(SLOT_SIZE, SLOT_SIZE);
    if (big !== null) {
      expect(big.byteOffset % SLOT_SIZE).toBe(0);
      giveSummable(big);
    }
    giveSummable(a);
    // A region given back is taken again at its size before any new memory is carved.
    const carved = summableCarved();
    const again = takeSummable(1000)!;
    expect(again.byteOffset).toBe(a.byteOffset);
    expect(summableCarved()).toBe(carved);
    giveSummable(again);
    // Far more than it holds: null, and nothing carved.
    expect(takeSummable(1 << 30)).toBeNull();
    expect(summableCarved()).toBe(carved);
  });

  it('holds the I/O slots, aligned to their size, and copies frames between regions and from elsewhere', () => {
    const slot = takeSlot()!;
    expect(slot.buffer).toBe(summableBuffer);
    expect(slot.byteOffset % SLOT_SIZE).toBe(0);
    expect(slotMemoryOf(slot)).not.toBeNull();
    const other = takeSummable(4096)!;
    // A packet slab's region shares the ArrayBuffer but is no slot.
    expect(slotMemoryOf(other)).toBeNull();
    const frame = Uint8Array.from({ length: 1514 }, (_, i) => (i * 7) & 0xff);
    slot.set(frame, 100);
    copyRange(slot, 100, other, 3, 1514); // both in the summable memory: memory.copy
    expect(Buffer.compare(other.subarray(3, 3 + 1514), frame)).toBe(0);
    const plain = new Uint8Array(2000);
    copyRange(other, 3, plain, 1, 1514); // out of it
    expect(Buffer.compare(plain.subarray(1, 1515), frame)).toBe(0);
    copyRange(Buffer.from(frame), 0, other, 2000, 1514); // into it
    expect(Buffer.compare(other.subarray(2000, 3514), frame)).toBe(0);
    giveSummable(other);
    giveSlot(slot);
  });

  it('moves a range within a buffer as copyWithin does, overlapping either way, in it and outside it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.nat(3000), fc.nat(3000), fc.nat(3000), (bytes, t, f, e) => {
        const to = t % bytes.length;
        const from = f % bytes.length;
        // Ranges that fit (moveWithin's callers never clamp), empty ones among them; reversed ones below.
        const end = Math.min(from + (e % (bytes.length - Math.max(from, to) + 1)), bytes.length);
        const expected = Uint8Array.from(bytes).copyWithin(to, from, end);
        const region = takeSummable(bytes.length)!;
        region.set(bytes);
        moveWithin(region, to, from, end);
        expect(Buffer.compare(region, expected)).toBe(0);
        const plain = Uint8Array.from(bytes);
        moveWithin(plain, to, from, end);
        expect(Buffer.compare(plain, expected)).toBe(0);
        giveSummable(region);
      }),
    );
    // Reversed: nothing moves (a negative length must not reach memory.copy, which would trap).
    const region = takeSummable(64)!;
    region.fill(7, 0, 32).fill(9, 32);
    moveWithin(region, 0, 40, 30);
    expect(region[0]).toBe(7);
    giveSummable(region);
  });

  it("a recycling packet slab carves its slabs from it and gives back what it stops keeping", () => {
    const arena = new PacketSlab(true);
    arena.take(100, 0);
    expect(arena.buf.buffer).toBe(summableBuffer);
    // A shared (never recycled) slab stays in memory of its own: the GC frees it.
    const shared = new PacketSlab();
    shared.take(100, 0);
    expect(shared.buf.buffer).not.toBe(summableBuffer);
    // Fill 40 slabs, recycle (it keeps 32 spare, gives back the rest), again and again: what is
    // carved stops growing.
    const fill = () => {
      for (let i = 0; i < 40 * 4; i++) arena.take(60 * 1024, 0);
      arena.recycle();
    };
    fill();
    const carved = summableCarved();
    for (let round = 0; round < 5; round++) fill();
    expect(summableCarved()).toBe(carved);
  });
});
