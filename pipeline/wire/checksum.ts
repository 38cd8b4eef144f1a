/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * Sums are kept **unfolded**: a plain non-negative number that is the running total of big-endian
 * 16-bit words. It stays exact below 2^53, i.e. for more than 2^36 words, far beyond any packet, so
 * partial sums over several ranges (pseudo-header, header, payload) combine with `csumAdd` or by
 * passing one as `acc` to the next `sum16`, and are folded to 16 bits once, by `fold`/`finish`.
 *
 * Stored checksum fields are the one's complement of the folded sum (`finish`). A field can be
 * updated for a changed 16/32-bit word without re-summing anything (`update16`/`update32`).
 *
 * UDP rule (RFC 768, kernel CSUM_MANGLED_0): a computed UDP checksum of 0 is transmitted as 0xffff,
 * because 0 in the field means "no checksum" over IPv4. Apply it with `udpFinal`.
 */
import { bufferOf, byteOffsetOf, dataViewOf } from './bytes.js';
import { sumWords, summableBuffer } from './summable-memory.js';

/**
 * One's-complement partial sum of the big-endian 16-bit words in b[start, end), added to `acc`.
 * An odd trailing byte is padded with a zero low byte. The result is unfolded (see module doc):
 * a non-negative number congruent to the true word sum modulo 0xffff, 0 only when `acc` and every
 * byte are 0. That is all `fold`/`finish` need; the exact total of the words is not promised.
 *
 * A range of a few dozen bytes or more is summed as native little-endian 32-bit words over its
 * 4-byte-aligned middle (RFC 1071 section 2: the sum is independent of byte order and word size
 * up to a byte swap), the few bytes before and after it one at a time.
 */
export function sum16(b: Uint8Array, start: number, end: number, acc = 0): number {
  if (end - start < WORDWISE_MIN || !LITTLE_ENDIAN) return sum16Bytes(b, start, end, acc);
  const ab = bufferOf(b);
  const base = byteOffsetOf(b);
  if (ab === summableBuffer) {
    // checksum.wat's SIMD loop: the little-endian word sum of the even part, folded, byte-swapped.
    const n = end - start;
    const f = sumWords(base + start, n & ~1);
    const s = acc + (((f & 0xff) << 8) | (f >>> 8));
    return n & 1 ? s + (b[end - 1]! << 8) : s;
  }
  // The aligned middle [a, z) of the range, in b's indices.
  const a = start + ((4 - ((base + start) & 3)) & 3);
  const z = end - ((base + end) & 3);
  let s = acc;
  // A byte at an even distance from `start` is a word's high byte, at an odd one its low byte.
  for (let i = start; i < a; i++) s += (i - start) & 1 ? b[i]! : b[i]! << 8;
  for (let i = z; i < end; i++) s += (i - start) & 1 ? b[i]! : b[i]! << 8;
  let i = (base + a) >>> 2;
  const n = (base + z) >>> 2;
  const w = wordsOf(ab, n);
  let f = 0;
  while (i < n) {
    // Blocks of at most 2^20 words keep each accumulator below 2^51 (exact as a double).
    const stop = Math.min(n, i + 0x100000);
    let m0 = 0;
    let m1 = 0;
    for (const n4 = stop - 3; i < n4; i += 4) {
      m0 += w[i]! + w[i + 1]!;
      m1 += w[i + 2]! + w[i + 3]!;
    }
    for (; i < stop; i++) m0 += w[i]!;
    // 2^32 = 1 (mod 0xffff): the high and low 32 bits of the block sum add up.
    const m = m0 + m1;
    const lo = m >>> 0;
    f = fold(f + (lo >>> 16) + (lo & 0xffff) + Math.floor(m / 0x100000000));
  }
  // Little-endian words are byte-swapped big-endian ones when the middle starts at an even
  // distance from `start`; at an odd distance each byte already has its big-endian weight.
  if (((a - start) & 1) === 0) f = ((f & 0xff) << 8) | (f >>> 8);
  return s + f;
}

/** Shorter ranges are summed a byte pair at a time (no word view to look up). */
const WORDWISE_MIN = 64;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * 32-bit word views of the two buffers summed last (a read chunk and a segment slab take turns).
 * Plain references, not a WeakMap: weak entries for short-lived chunks made the GC work harder.
 */
let bufferA: ArrayBufferLike | null = null;
let wordsA: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
let bufferB: ArrayBufferLike | null = null;
let wordsB: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/** A word view of `ab` covering at least its first `words` words. */
function wordsOf(ab: ArrayBufferLike, words: number): Uint32Array<ArrayBufferLike> {
  if (ab === bufferA && wordsA.length >= words) return wordsA;
  // A resizable ArrayBuffer may have grown (or shrunk) since its view was made: made anew then.
  const w = ab === bufferB && wordsB.length >= words ? wordsB : new Uint32Array(ab, 0, ab.byteLength >>> 2);
  // The most recent first.
  if (ab !== bufferA) {
    bufferB = bufferA;
    wordsB = wordsA;
  }
  bufferA = ab;
  wordsA = w;
  return w;
}

/**
 * `sum16` of a short range (an IP header, a pseudo-header's bytes): big-endian 32-bit reads through
 * the array's DataView, each adding two 16-bit words (a 20-byte IPv4 header: five reads, against
 * twenty byte loads with a bounds check each).
 */
function sum16Bytes(b: Uint8Array, start: number, end: number, acc: number): number {
  // Bytes past the array sum as zeros, as undefined byte reads did (a DataView read would throw).
  if (end > b.length) end = b.length;
  const dv = dataViewOf(b);
  let s = acc;
  let i = start;
  for (const end4 = end - 3; i < end4; i += 4) {
    // Signed: a word of 2^31 or more needs no float (>>> 16 reads it unsigned).
    const w = dv.getInt32(i);
    s += (w >>> 16) + (w & 0xffff);
  }
  if (i + 1 < end) {
    s += dv.getUint16(i);
    i += 2;
  }
  if (i < end) s += b[i]! << 8;
  return s;
}

/** Add two unfolded partial sums. */
export function csumAdd(a: number, b: number): number {
  return a + b;
}

/** Fold an unfolded sum to 16 bits (end-around carry). */
export function fold(acc: number): number {
  // Bring a possibly > 2^32 sum under 2^32 first; bitwise ops below are then exact.
  let s = acc;
  while (s > 0xffffffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The value for a checksum field: one's complement of the folded sum. */
export function finish(acc: number): number {
  return ~fold(acc) & 0xffff;
}

/** UDP: a computed checksum of 0 is sent as 0xffff (0 means "no checksum"). */
export function udpFinal(csum: number): number {
  return csum === 0 ? 0xffff : csum;
}

/**
 * IPv4 pseudo-header (RFC 793 / 768): source and destination addresses at b[srcOff..+4) and
 * b[dstOff..+4), zero, protocol, L4 length (16 bits). Returns an unfolded partial sum.
 */
export function pseudoV4(b: Uint8Array, srcOff: number, dstOff: number, proto: number, l4len: number): number {
  return (
    ((b[srcOff]! << 8) | b[srcOff + 1]!) +
    ((b[srcOff + 2]! << 8) | b[srcOff + 3]!) +
    ((b[dstOff]! << 8) | b[dstOff + 1]!) +
    ((b[dstOff + 2]! << 8) | b[dstOff + 3]!) +
    (proto & 0xff) +
    (l4len & 0xffff)
  );
}

/**
 * IPv6 pseudo-header (RFC 8200 section 8.1): 16-byte source and destination, 32-bit upper-layer
 * length, three zero bytes, next header. Returns an unfolded partial sum.
 */
export function pseudoV6(b: Uint8Array, srcOff: number, dstOff: number, nextHeader: number, l4len: number): number {
  const len = l4len >>> 0;
  return sum16(b, srcOff, srcOff + 16, sum16(b, dstOff, dstOff + 16)) + (len >>> 16) + (len & 0xffff) + (nextHeader & 0xff);
}

/**
 * RFC 1624 eqn. 3: the checksum field `csum` after one 16-bit word covered by it changed from
 * `oldWord` to `newWord`. HC' = ~(~HC + ~m + m').
 */
export function update16(csum: number, oldWord: number, newWord: number): number {
  return ~fold((~csum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** As `update16`, for an aligned 32-bit value (an IPv4 address, a TCP sequence number). */
export function update32(csum: number, oldU32: number, newU32: number): number {
  const o = oldU32 >>> 0;
  const n = newU32 >>> 0;
  return (
    ~fold((~csum & 0xffff) + (~(o >>> 16) & 0xffff) + (~o & 0xffff) + (n >>> 16) + (n & 0xffff)) & 0xffff
  );
}
