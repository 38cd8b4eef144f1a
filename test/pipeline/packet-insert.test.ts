/**
 * Packet.insertAt moves the bytes in front of the gap toward the front: four at a time through a
 * DataView for an L2 prefix, with moveWithin above 64 bytes. Both must give what a plain memmove
 * gives, for every prefix length around the switch and around a word, gaps smaller and larger
 * than the prefix and than a word (overlapping or not), in an array at any offset of its buffer.
 */
import { describe, expect, it } from 'vitest';
import { Packet } from '../../pipeline/packet.js';

function filled(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 17 + 1) & 0xff;
  return b;
}

describe('Packet.insertAt', () => {
  it('equals a memmove of the prefix for prefixes of 0..100 bytes and gaps of 1..70', () => {
    for (let prefix = 0; prefix <= 100; prefix++) {
      for (const gap of [1, 2, 3, 4, 5, 8, 13, 14, 22, 50, 70]) {
        const head = 80;
        // An array at an odd offset of a larger buffer for half the cases (the DataView's offsets are the array's).
        const buf = gap % 2 === 0 ? filled(400, prefix + gap) : new Uint8Array(filled(407, prefix + gap).buffer, 7, 400);
        const pkt = new Packet(buf, head, 300, 220, 0);
        const want = buf.slice();
        want.copyWithin(head - gap, head, head + prefix);
        const at = pkt.insertAt(head + prefix, gap);
        expect(pkt.head).toBe(head - gap);
        expect(at).toBe(head - gap + prefix);
        // The gap itself holds whatever was there: the caller writes it; everything else must match.
        const got = pkt.buf.slice();
        got.fill(0, at, at + gap);
        want.fill(0, at, at + gap);
        expect(Buffer.compare(got, want), `prefix ${prefix} gap ${gap}`).toBe(0);
      }
    }
  });
});
