/**
 * The writers' output buffer: records are assembled in a large buffer through one DataView
 * (no per-packet allocation) and handed to the output in big chunks.
 *
 * Ownership: a full buffer is handed over as is and another one taken (no copy): one the output
 * has finished writing when it offers one (ByteOutput.reusable: file outputs do), else a free slot
 * of the I/O memory (io-slots.ts: frames are copied in from read chunks there without a view), else
 * a fresh one. A small remainder flushed early is copied so the buffer can be kept. The last
 * buffer goes back to the I/O memory when the writer is done with it (release).
 *
 * Shared runs (zero-copy output): `appendShared` queues bytes that already sit, exactly as they
 * must be written, in a capture reader's chunk (see reader.ts: such chunks are never modified or
 * reused once parsed). Adjacent ranges of one chunk merge into one run, handed to the output as a
 * view of the chunk, without a copy; the output holds that view until it is written. Runs and
 * assembled bytes reach the output in the order they were appended. A chunk the reader reuses is
 * appended with its reader's ChunkKeeper: held from the moment it is appended, released when the
 * output has written it.
 */
import type { ChunkKeeper } from './capture-interface.js';
import { CaptureWriteError } from './errors.js';
import type { ByteOutput } from './output.js';
import { SLOT_SIZE, giveSlot, slotMemoryOf, takeSlot } from './io-slots.js';
import { bufferOf, byteOffsetOf, uninitializedBytes } from '../wire/bytes.js';
import { copyWithinSummable, summableBuffer } from '../wire/summable-memory.js';

/** Size of the assembly buffer and so of the chunks handed to the output: a slot of the I/O memory. */
export const WRITE_CHUNK_SIZE = SLOT_SIZE;
const COPY_BELOW = 64 * 1024;

export class WriteBuffer {
  buf: Uint8Array;
  dv: DataView;
  /** buf.byteOffset (the getter is a generic call in copyIn's optimized code). */
  private bufOffset = 0;
  /** The I/O memory when `buf` is one of its slots (see copyIn), else null. */
  private mem: Uint8Array | null;
  /** mem.buffer (the getter is a runtime call: copyIn compares it per packet). */
  private memBuffer: ArrayBufferLike | null = null;
  /** Bytes copyIn copied: the slots are made once frames are copied in earnest (see alloc). */
  private copied = 0;
  pos = 0;
  /** Bytes handed to the output so far. */
  handedOff = 0;
  /** The output asked us to wait for drain. */
  needDrain = false;
  closed = false;
  /** The pending shared run: runBuf[runStart, runEnd), or runBuf null. */
  private runBuf: Uint8Array | null = null;
  private runStart = 0;
  private runEnd = 0;
  private runKeeper: ChunkKeeper | null = null;
  /** Bytes of the last shared run handed to the output (mayShare). */
  private lastRun = 0;

  constructor(readonly out: ByteOutput) {
    // A buffer of its own: the slots are made only once a second buffer is needed (io-slots.ts).
    this.buf = takeSlot(false) ?? uninitializedBytes(WRITE_CHUNK_SIZE);
    this.bufOffset = this.buf.byteOffset;
    this.dv = new DataView(this.buf.buffer, this.bufOffset, this.buf.byteLength);
    this.mem = slotMemoryOf(this.buf);
    this.memBuffer = this.mem === null ? null : this.mem.buffer;
  }

  get bytesWritten(): number {
    return this.handedOff + this.pos + (this.runEnd - this.runStart);
  }

  /** Make room for `n` more bytes at `pos` (may hand the current contents to the output). */
  reserve(n: number): void {
    if (this.closed) throw new CaptureWriteError('ERR_CAPTURE_WRITER_CLOSED', this.out.name, 'write after close');
    if (this.runBuf !== null) this.endRun();
    if (this.pos + n <= this.buf.length) return;
    this.handOff();
    if (n > this.buf.length) this.alloc(n, false);
  }

  /**
   * Append chunk[start, end) without copying it. Only for a capture reader's chunk: never
   * modified, and reused only once `keeper` (its reader's) has it back. The output references it
   * until it is written.
   */
  appendShared(chunk: Uint8Array, start: number, end: number, keeper: ChunkKeeper | null = null): void {
    if (this.closed) throw new CaptureWriteError('ERR_CAPTURE_WRITER_CLOSED', this.out.name, 'write after close');
    if (this.runBuf === chunk && this.runEnd === start && this.runKeeper === keeper) {
      this.runEnd = end;
      return;
    }
    if (this.runBuf !== null) this.endRun();
    else if (this.pos > 0) this.handOff();
    // Records pass through: the copies before (each input's first chunk, until its passthrough
    // starts) are no reason to make the I/O memory, which a run of many inputs then would.
    this.copied = 0;
    keeper?.hold(chunk);
    this.runBuf = chunk;
    this.runStart = start;
    this.runEnd = end;
    this.runKeeper = keeper;
  }

  /**
   * Whether appending a shared range now is worth it: while a run is pending nothing is assembled
   * (pos 0), so always then, and when nothing is; with assembled bytes once they make a write of
   * their own (COPY_BELOW), or when the run before them was that long (a record copied between
   * two long runs: one straddling two read chunks). Else shared records among copied ones would
   * cost the output two small writes each (the bytes before, copied, and the view): the caller
   * copies them instead.
   */
  mayShare(): boolean {
    return this.pos === 0 || this.pos >= COPY_BELOW || this.lastRun >= COPY_BELOW;
  }

  /**
   * Copy src[from, from + n) to buf[at, at + n) (room reserved by the caller): one copy within
   * the I/O memory when both lie in it (a read chunk into a slot; a WebAssembly memory.copy when
   * that memory is the summable one), else through a view of the source.
   */
  copyIn(src: Uint8Array, from: number, n: number, at: number): void {
    this.copied += n;
    const mem = this.mem;
    const srcBuffer = bufferOf(src);
    if (mem !== null && srcBuffer === this.memBuffer) {
      const s = byteOffsetOf(src) + from;
      if (srcBuffer === summableBuffer) copyWithinSummable(this.bufOffset + at, s, n);
      else mem.copyWithin(this.bufOffset + at, s, s + n);
      return;
    }
    // A plain view: `subarray` on a Buffer (a library caller's frame) goes through Buffer's slower species path.
    this.buf.set(new Uint8Array(srcBuffer, byteOffsetOf(src) + from, n), at);
  }

  /**
   * The writer is done (closed, or aborted): its buffer, handed to no output, goes back to the I/O
   * memory. Nothing may be written after.
   */
  release(): void {
    this.closed = true;
    giveSlot(this.buf);
    this.buf = new Uint8Array(0);
    this.bufOffset = 0;
    this.dv = new DataView(this.buf.buffer);
    this.mem = null;
    this.memBuffer = null;
    this.pos = 0;
  }

  /** Copy src[start, end) in, handing full buffers to the output on the way (any length). */
  appendCopy(src: Uint8Array, start: number, end: number): void {
    if (this.closed) throw new CaptureWriteError('ERR_CAPTURE_WRITER_CLOSED', this.out.name, 'write after close');
    if (this.runBuf !== null) this.endRun();
    while (start < end) {
      if (this.pos === this.buf.length) this.handOff();
      const n = Math.min(end - start, this.buf.length - this.pos);
      this.buf.set(src.subarray(start, start + n), this.pos);
      this.pos += n;
      start += n;
    }
  }

  /** Give the buffered bytes (and the pending shared run) to the output. */
  handOff(): void {
    if (this.runBuf !== null) this.endRun();
    const n = this.pos;
    if (n === 0) return;
    let chunk: Uint8Array;
    let reusable = false;
    if (n < COPY_BELOW) {
      chunk = Buffer.from(this.buf.subarray(0, n)); // copy; keep the buffer
    } else {
      chunk = this.buf.subarray(0, n);
      reusable = this.buf.length === WRITE_CHUNK_SIZE;
      this.alloc(WRITE_CHUNK_SIZE, true);
    }
    this.pos = 0;
    this.handedOff += n;
    if (!this.out.write(chunk, reusable)) this.needDrain = true;
  }

  /** Hand off and wait until the output has room. */
  async flush(): Promise<void> {
    this.handOff();
    if (this.needDrain) {
      await this.out.drain();
      this.needDrain = false;
    }
  }

  /** Write `n` zero bytes (padding) at pos. */
  zero(n: number): void {
    for (let i = 0; i < n; i++) this.buf[this.pos++] = 0;
  }

  /** Hand the pending shared run to the output (assembled bytes were handed off when it began). */
  private endRun(): void {
    const whole = this.runBuf!;
    const chunk = whole.subarray(this.runStart, this.runEnd);
    const keeper = this.runKeeper;
    this.lastRun = this.runEnd - this.runStart;
    this.handedOff += this.lastRun;
    this.runBuf = null;
    this.runKeeper = null;
    this.runStart = this.runEnd = 0;
    if (!this.out.write(chunk, false, keeper === null ? undefined : () => keeper.release(whole))) this.needDrain = true;
  }

  private alloc(size: number, reuse: boolean): void {
    let buf = reuse ? this.out.reusable?.(size) : undefined;
    // A written buffer of its own is let go for a slot (the first one, or any from before the slots
    // were made). The slots are made once two buffers' worth of frames were copied in: a plain copy
    // to pcap, which copies the first chunk's records only (then they pass through), never makes them.
    if (reuse && size === SLOT_SIZE && (buf === undefined || slotMemoryOf(buf) === null)) buf = takeSlot(this.copied > 2 * SLOT_SIZE) ?? buf;
    this.buf = buf ?? uninitializedBytes(size);
    this.bufOffset = this.buf.byteOffset;
    this.dv = new DataView(this.buf.buffer, this.bufOffset, this.buf.byteLength);
    this.mem = slotMemoryOf(this.buf);
    this.memBuffer = this.mem === null ? null : this.mem.buffer;
  }
}
