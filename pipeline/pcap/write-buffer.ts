/**
 * The writers' output buffer: records are assembled in a large buffer through one DataView
 * (no per-packet allocation) and handed to the output in big chunks.
 *
 * Ownership: a full buffer is handed over as is and a fresh one allocated (no copy); a small
 * remainder flushed early is copied so the buffer can be reused.
 */
import { CaptureWriteError } from './errors.js';
import type { ByteOutput } from './output.js';

/** Size of the assembly buffer and so of the chunks handed to the output. */
export const WRITE_CHUNK_SIZE = 1 << 20;
const COPY_BELOW = 64 * 1024;

export class WriteBuffer {
  buf: Uint8Array;
  dv: DataView;
  pos = 0;
  /** Bytes handed to the output so far. */
  handedOff = 0;
  /** The output asked us to wait for drain. */
  needDrain = false;
  closed = false;

  constructor(readonly out: ByteOutput) {
    this.buf = Buffer.allocUnsafe(WRITE_CHUNK_SIZE);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get bytesWritten(): number {
    return this.handedOff + this.pos;
  }

  /** Make room for `n` more bytes at `pos` (may hand the current contents to the output). */
  reserve(n: number): void {
    if (this.closed) throw new CaptureWriteError('ERR_CAPTURE_WRITER_CLOSED', this.out.name, 'write after close');
    if (this.pos + n <= this.buf.length) return;
    this.handOff();
    if (n > this.buf.length) this.alloc(n);
  }

  /** Give the buffered bytes to the output. */
  handOff(): void {
    const n = this.pos;
    if (n === 0) return;
    let chunk: Uint8Array;
    if (n < COPY_BELOW) {
      chunk = Buffer.from(this.buf.subarray(0, n)); // copy; keep the buffer
    } else {
      chunk = this.buf.subarray(0, n);
      this.alloc(WRITE_CHUNK_SIZE);
    }
    this.pos = 0;
    this.handedOff += n;
    if (!this.out.write(chunk)) this.needDrain = true;
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

  private alloc(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
}
