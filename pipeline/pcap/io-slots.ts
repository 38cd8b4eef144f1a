/**
 * The memory file inputs are read into (pooled read chunks, reader.ts) and capture writers
 * assemble their output in (write-buffer.ts): 1 MiB slots of one ArrayBuffer, so that a run with a
 * stage copies each frame from its read chunk into the writer's buffer with one copy within that
 * ArrayBuffer. Copying from another ArrayBuffer needs a view of the frame per packet (an object,
 * then garbage): about twice the cost of the copy itself for a 1.5 KB frame. That ArrayBuffer is
 * the summable memory's (wire/summable-memory.ts) when it has room: checksums over read chunks
 * then run in WebAssembly, and copies within it are one WebAssembly memory.copy (the run's packet
 * slabs, in the same memory, too).
 *
 * Made when a writer has copied two buffers' worth of frames (a plain copy to pcap, whose records
 * leave as views of the read chunks after the first chunk's, never does): its allocation at the
 * start of every run made V8 collect garbage in short runs (the external memory counts toward its
 * old-space limit). Until then, and when every slot is taken, buffers are their own.
 *
 * Ownership: a slot taken is its taker's until given back with giveSlot(), once nothing reads or
 * writes it any more (a read chunk no packet or output uses, a written output buffer). A slot
 * never given back is only lost to the pool: when every slot is taken, buffers of their own are
 * used instead, which are copied from with a view (the same bytes, more slowly).
 */

import { takeSummable } from '../wire/summable-memory.js';
import { uninitializedBytes } from '../wire/bytes.js';

/** Size of a slot: the readers' READ_CHUNK_SIZE and the writers' WRITE_CHUNK_SIZE. */
export const SLOT_SIZE = 1 << 20;

/**
 * Slots in the ArrayBuffer: a run with a stage takes its reads ahead and the batch's chunk (reader.ts
 * READ_AHEAD + 2) and the writer's buffers (the one being filled and output.ts FILE_WRITES_IN_FLIGHT).
 * Untouched slots cost no memory (pages are mapped when first written).
 */
const SLOT_COUNT = 24;

/** The slots, SLOT_SIZE-aligned in their ArrayBuffer (reader.ts finds a chunk's slot by its offset). */
let memory: Uint8Array | null = null;
/** A view of memory's whole ArrayBuffer: copyWithin indices are byte offsets in it. */
let whole: Uint8Array | null = null;
/** Per slot: 1 while taken. */
const taken = new Uint8Array(SLOT_COUNT);
/** Slots free to take, by index. */
const free: number[] = [];

/**
 * A free slot (SLOT_SIZE bytes, uninitialised: it may hold what its last owner wrote), or undefined
 * when all are taken, or when the memory is not made yet and `make` is false (readers: their
 * buffers become slots once a writer has made it).
 */
export function takeSlot(make = true): Uint8Array | undefined {
  if (memory === null) {
    if (!make) return undefined;
    // In the summable memory when there is room (checksums over read chunks and written frames run
    // in WebAssembly there). Not zero-filled: every slot is written before it is read (a read into
    // it, an output assembled in it).
    memory = takeSummable(SLOT_SIZE * SLOT_COUNT, SLOT_SIZE) ?? uninitializedBytes(SLOT_SIZE * SLOT_COUNT);
    whole = new Uint8Array(memory.buffer);
    for (let i = SLOT_COUNT - 1; i >= 0; i--) free.push(i);
  }
  const i = free.pop();
  if (i === undefined) return undefined;
  taken[i] = 1;
  return new Uint8Array(memory.buffer, memory.byteOffset + i * SLOT_SIZE, SLOT_SIZE);
}

/**
 * Give back the slot `buf` starts (a view from its first byte, of any length); a buffer that is
 * not a slot, or a slot not taken, is left alone.
 */
export function giveSlot(buf: Uint8Array): void {
  if (slotMemoryOf(buf) === null || buf.byteOffset % SLOT_SIZE !== 0) return;
  const i = (buf.byteOffset - memory!.byteOffset) / SLOT_SIZE;
  if (taken[i] !== 1) return;
  taken[i] = 0;
  free.push(i);
}

/**
 * When `buf` starts in a slot: a view of the slots' whole ArrayBuffer, whose copyWithin copies
 * between any two ranges of it by their byte offsets (the summable memory also holds packet slabs);
 * else null.
 */
export function slotMemoryOf(buf: Uint8Array): Uint8Array | null {
  if (memory === null || buf.buffer !== memory.buffer) return null;
  const off = buf.byteOffset - memory.byteOffset;
  return off >= 0 && off < memory.length ? whole : null;
}

/** A buffer of its own could be given up for a free slot. */
export function slotsFree(): boolean {
  return free.length > 0;
}

/** Slots taken now (tests: every slot comes back). */
export function slotsTaken(): number {
  return memory === null ? 0 : SLOT_COUNT - free.length;
}
