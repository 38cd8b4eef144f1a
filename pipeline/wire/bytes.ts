/**
 * Big-endian field access by byte indexing (no DataView, no allocation). Callers check bounds
 * first (a module's `check`, or the decoder): an index past the end reads `undefined`, which these
 * helpers turn into 0 rather than NaN, but the value is then meaningless. And the frame buffers'
 * helpers: `uninitializedBytes` and `plainBytes` (the one kind of array frames live in),
 * `bufferOf` / `byteOffsetOf` / `dataViewOf` (an array's ArrayBuffer, offset and a DataView of it
 * without the getters' calls or an object per packet),
 * `setBytes`, and `copyRange` / `moveWithin`, frame copies.
 */
import { copyWithinSummable, summableBuffer } from './summable-memory.js';

/**
 * `n` bytes not zeroed, as a plain Uint8Array, never a Buffer: every buffer packets live in (read
 * chunks, slabs) and frames are written to has one shape, so V8 compiles each byte access of the
 * packet path for one kind of array (read chunks as Buffers, slabs as Uint8Arrays made those
 * accesses polymorphic, and `set`, `buffer` and `byteOffset` generic calls).
 */
export function uninitializedBytes(n: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
}

export function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function setU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function setU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/**
 * `a.buffer`, remembered for two arrays: the getter is a call into V8's runtime (about 20 ns),
 * paid per packet and per segment where frames are copied and summed, and the same few arrays
 * (read chunks, slabs, the I/O memory) come back again and again.
 */
export function bufferOf(a: Uint8Array): ArrayBufferLike {
  return slotOf(a) === 0 ? bufA : bufB;
}

/** `a.byteOffset`, remembered with bufferOf's: optimized code read the getter through a generic call too. */
export function byteOffsetOf(a: Uint8Array): number {
  return slotOf(a) === 0 ? offA : offB;
}

/**
 * A DataView over the bytes of `a` (offsets as in `a`), kept with bufferOf's two arrays: made once
 * per read chunk or slab, not per packet. For reading and moving a few bytes four at a time (a
 * byte access costs a bounds check and a map check each; a DataView word one of each).
 */
export function dataViewOf(a: Uint8Array): DataView<ArrayBufferLike> {
  if (slotOf(a) === 0) return (viewA ??= new DataView(bufA, offA, a.length));
  return (viewB ??= new DataView(bufB, offB, a.length));
}

/**
 * The slot (0: A, 1: B) that remembers `a`; on a miss, the one not asked about last takes it. A
 * hit writes only a small integer: writing the arrays, buffers and views of a swap on every hit
 * cost a write barrier each (GSO alternates between a super-packet's chunk and its segments' slab).
 */
function slotOf(a: Uint8Array): number {
  if (a === arrA) {
    recentB = 0;
    return 0;
  }
  if (a === arrB) {
    recentB = 1;
    return 1;
  }
  if (recentB === 1) {
    arrA = a;
    bufA = a.buffer;
    offA = a.byteOffset;
    viewA = null;
    recentB = 0;
    return 0;
  }
  arrB = a;
  bufB = a.buffer;
  offB = a.byteOffset;
  viewB = null;
  recentB = 1;
  return 1;
}

let arrA: Uint8Array | null = null;
let bufA: ArrayBufferLike = new ArrayBuffer(0);
let offA = 0;
let viewA: DataView<ArrayBufferLike> | null = null;
let arrB: Uint8Array | null = null;
let bufB: ArrayBufferLike = bufA;
let offB = 0;
let viewB: DataView<ArrayBufferLike> | null = null;
/** 1 when B was asked about last (A goes on the next miss), else 0. */
let recentB = 0;

/**
 * `a` as a plain Uint8Array: itself, or a view of the same bytes when it is a Node Buffer (or another
 * subclass), as stream chunks (stdin, gzip) are. See uninitializedBytes.
 */
export function plainBytes(a: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(a) === Uint8Array.prototype ? a : new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const typedArraySet = Uint8Array.prototype.set;

/**
 * `dst.set(src, at)`, the method taken once: V8's optimized code looked `set` up on a typed array
 * through a generic property load, a call per use. Per packet: vxlan-encap's header template, a
 * tunnel comment's bytes, the MACs of a frame converted to Ethernet, metadata copied (clone).
 */
export function setBytes(dst: Uint8Array, src: Uint8Array, at: number): void {
  typedArraySet.call(dst, src, at);
}

/**
 * dst[d, d + n) = src[s, s + n) (not overlapping). Between two ranges of the summable memory (read
 * chunks, packet slabs and output buffers lie in it) one WebAssembly memory.copy; otherwise
 * through a view of the source, an object per copy. Not `subarray`: on a Buffer (a library caller's
 * frame) it goes through Buffer's slower species path.
 */
export function copyRange(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  const sb = bufferOf(src);
  if (sb === summableBuffer && bufferOf(dst) === sb) {
    if (n > 0) copyWithinSummable(byteOffsetOf(dst) + d, byteOffsetOf(src) + s, n);
    return;
  }
  dst.set(new Uint8Array(sb, src.byteOffset + s, n), d);
}

/**
 * `b.copyWithin(to, from, end)` for ranges inside `b` (overlapping allowed): in the summable
 * memory one WebAssembly memory.copy, without copyWithin's runtime call (most of the cost of
 * moving a 50-byte header).
 */
export function moveWithin(b: Uint8Array, to: number, from: number, end: number): void {
  if (end <= from) return;
  if (bufferOf(b) === summableBuffer) {
    const base = byteOffsetOf(b);
    copyWithinSummable(base + to, base + from, end - from);
  } else b.copyWithin(to, from, end);
}
