/**
 * Summable memory: one WebAssembly.Memory per thread in which the I/O slots (pcap/io-slots.ts) and
 * the run's recycled packet slabs (packet-slab.ts) are carved, so that `sum16` sums a range lying
 * in it with the SIMD loop of checksum.wat (16 bytes per step) instead of in JavaScript: software
 * GSO and checksum repair sum every payload byte once or twice, and the loop is about three times
 * as fast (measured on 1448-byte payloads: 20 GB/s against 6.5). Read chunks, packet slabs and
 * output buffers in one memory also copy frames between them with checksum.wat's `copy` (a
 * memory.copy), without a view of the source per frame (bytes.ts copyRange).
 *
 * The memory has a fixed size and never grows: growing detaches its ArrayBuffer, which every view
 * of a slot or slab holds. Regions are taken from it whole, and given back whole to be taken again
 * at the same size; when it is full, callers use memory of their own, which `sum16` sums in
 * JavaScript (the same result). Its pages cost nothing until written, like any large allocation.
 * Without WebAssembly SIMD (the module does not validate) nothing is summable.
 */

/** The part of the WebAssembly API used here (TypeScript declares it with the DOM library only). */
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
};

/** checksum.wat assembled (pipeline/wire/build-checksum-wasm.mjs writes this line). */
const CHECKSUM_WASM = 'AGFzbQEAAAABDQJgAn9/AX9gA39/fwACEwEHY2FwZmxvdwZtZW1vcnkCAAEDAwIAAQcOAgNzdW0AAARjb3B5AAEK4wEC0wEDA38BewF+IAAgAWohAiAAIAFBcHFqIQMCQANAIAAgA08NASAAQYCAEGohBCAEIANLBEAgAyEEC/0MAAAAAAAAAAAAAAAAAAAAACEFA0AgBSAA/QAAAP1//a4BIQUgAEEQaiEAIAAgBEkNAAsgBiAF/RsArSAF/RsBrXwgBf0bAq0gBf0bA618fHwhBgwACwsCQANAIAAgAk8NASAGIAAzAAB8IQYgAEECaiEADAALCwJAA0AgBkIQiFANASAGQv//A4MgBkIQiHwhBgwACwsgBqcLDAAgACABIAL8CgAACw==';

/** 64 KiB WebAssembly pages: the I/O slots (24 MiB) and 64 packet slabs of 256 KiB (16 MiB). */
const PAGES = 640;

/** Regions start on this boundary (a slab's 8-byte alignment, a cache line). */
const REGION_ALIGN = 64;

/** The memory's ArrayBuffer once made, else null: `sum16` compares a range's buffer with it. */
export let summableBuffer: ArrayBuffer | null = null;

/**
 * checksum.wat's `copy`: memory[to, to + n) = memory[from, from + n) (offsets in the summable
 * memory; overlapping ranges copy as memmove does).
 */
export let copyWithinSummable: (to: number, from: number, n: number) => void = () => {
  throw new Error('no summable memory');
};

/** checksum.wat's `sum`: the folded little-endian word sum of memory[p, p + n), n even. */
export let sumWords: (p: number, n: number) => number = () => {
  throw new Error('no summable memory');
};

let state: 'unmade' | 'made' | 'unavailable' = 'unmade';
let memoryBytes: Uint8Array | null = null;
/** First byte not yet carved. */
let top = 0;
/** Regions given back, by size: their offsets. */
const given = new Map<number, number[]>();

function make(): boolean {
  if (state !== 'unmade') return state === 'made';
  state = 'unavailable';
  try {
    const bytes = Buffer.from(CHECKSUM_WASM, 'base64');
    if (!WebAssembly.validate(bytes)) return false;
    const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { capflow: { memory } });
    sumWords = instance.exports['sum'] as (p: number, n: number) => number;
    copyWithinSummable = instance.exports['copy'] as (to: number, from: number, n: number) => void;
    summableBuffer = memory.buffer;
    memoryBytes = new Uint8Array(memory.buffer);
    state = 'made';
  } catch {
    // No WebAssembly (a runtime started without it): sums stay in JavaScript.
  }
  return state === 'made';
}

/**
 * A region of `size` bytes of the summable memory starting at a multiple of `align` (the I/O
 * slots take theirs aligned to their size), uninitialised (it may hold what its last owner wrote),
 * or null when the memory is full or cannot be made. Its owner gives it back with giveSummable()
 * once nothing reads or writes it any more.
 */
export function takeSummable(size: number, align = REGION_ALIGN): Uint8Array | null {
  if (!make()) return null;
  const mem = memoryBytes!;
  const list = given.get(size);
  for (let i = list === undefined ? -1 : list.length - 1; i >= 0; i--) {
    const at = list![i]!;
    if (at % align !== 0) continue;
    list!.splice(i, 1);
    return mem.subarray(at, at + size);
  }
  const at = Math.ceil(top / align) * align;
  if (at + size > mem.length) return null;
  top = Math.ceil((at + size) / REGION_ALIGN) * REGION_ALIGN;
  return mem.subarray(at, at + size);
}

/** Give back a region takeSummable() returned (the whole of it); anything else is left alone. */
export function giveSummable(region: Uint8Array): void {
  if (summableBuffer === null || region.buffer !== summableBuffer) return;
  let list = given.get(region.length);
  if (list === undefined) given.set(region.length, (list = []));
  if (!list.includes(region.byteOffset)) list.push(region.byteOffset);
}

/** Bytes of the summable memory carved so far (tests). */
export function summableCarved(): number {
  return top;
}
