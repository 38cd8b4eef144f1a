/**
 * Capture reader: pcap or pcapng, optionally gzip-compressed, from a file, stdin or any async
 * iterable of byte chunks.
 *
 * Streaming with constant memory: each chunk of the input is parsed synchronously and one batch
 * is yielded per chunk. Files are read ahead (the next chunks are being read while the caller
 * processes the current one), each into a fresh buffer, or, with `recycleChunks`, into a small
 * ring of buffers that are reused (a fresh buffer per read costs more than the read itself: the
 * kernel must map and fault in new pages every time).
 *
 * Ownership (zero-copy): a packet's `buf` is the input chunk itself, with the frame at
 * [head, tail) and `floor` at the start of its record header (see Packet). By default the reader
 * never writes to or reuses a chunk once its records are handed out, so packets stay valid for as
 * long as they are referenced, and a packet keeps its chunk alive. With `recycleChunks` (the run
 * loop) a batch's packets are valid only until the next batch is asked for: its chunk is then
 * read into again, the Packet objects and the batch array are reused (packet-pool.ts); a writer
 * that outputs a chunk's bytes without a copy holds it until they are written, and the chunk is
 * read into again only after that (FileChunks: hold/release). A source given to
 * readCaptureFromStream hands its chunks over the same way: it must never modify or reuse a
 * chunk after yielding it (Node streams allocate a new buffer per chunk); a source that recycles
 * its buffers must set `copyRecords`. Only a record that straddles two chunks is assembled in a
 * small carry-over buffer, which grows to the largest such record (bounded by the 262144-byte
 * caplen and 16 MiB block limits); that record is copied into a packet of its own (HEADROOM in
 * front), as are all records with `copyRecords`.
 *
 * Errors: CaptureFormatError (errors.ts). Packets parsed before a bad record are yielded first.
 * A file that ends inside a record yields every complete packet, then warns (default) or throws
 * ERR_CAPTURE_TRUNCATED (strict).
 */
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import type { Packet } from '../packet.js';
import { type CaptureInterface, type ChunkKeeper, type FormatParser, type ParseContext, type PacketSink, type RecordSink, NEVER_REUSED, PacketList, markReadChunk } from './capture-interface.js';
import { CaptureFormatError, CaptureInputError, isSystemError } from './errors.js';
import { PcapParser, isPcapMagic } from './pcap-format.js';
import { BLOCK, PcapngParser } from './pcapng-format.js';
import { PacketPool } from './packet-pool.js';
import { SLOT_SIZE, giveSlot, slotMemoryOf, slotsFree, takeSlot } from './io-slots.js';
import { plainBytes, uninitializedBytes } from '../wire/bytes.js';

export type { CaptureInterface } from './capture-interface.js';

export interface ReadOptions {
  /** Shown in errors and warnings: the file path, or '<stdin>'. */
  name: string;
  /** Truncated last record, caplen > origlen and malformed options become errors instead of warnings. */
  strict?: boolean;
  /** Receives warnings (default: dropped). */
  onWarning?: (msg: string) => void;
  /**
   * Copy every record into a packet of its own (HEADROOM in front) instead of handing out
   * packets that reference the input chunk. Needed only for a source that reuses its buffers.
   */
  copyRecords?: boolean;
  /**
   * The caller is done with a batch's packets, and every byte they reference, when it asks for
   * the next batch (or abandons the iteration): a file's read buffers are then reused. For a
   * consumer that writes or drops each packet before going on, like the run loop; not for one
   * that keeps packets. The packets themselves (and the batch array) are reused for the next
   * batch too.
   */
  recycleChunks?: boolean;
  /**
   * Read a regular file with synchronous reads on this thread, one chunk when asked for (the
   * default), or, with false, READ_AHEAD chunks ahead in libuv's thread pool. Every hand-off to a
   * pool thread costs a wake-up of each side and the reads compete with the caller's work for the
   * cores: on the 2-core machine measured (README, Performance) reading ahead cost more CPU and
   * was slower or no faster. Other inputs (stdin, FIFOs) read as streams either way.
   * The event loop still gets a turn per chunk (timers, signals, messages).
   */
  syncReads?: boolean;
  /**
   * The packets to hand out with recycleChunks (default: the reader's own), for a caller done with
   * every packet of the readers that used it before. A run's inputs share one: a pool per input,
   * its packets made anew for every file (about 200 KB for a chunk of 1514-byte frames), was
   * garbage the next files pushed into V8's old space, which grew input after input.
   */
  packetPool?: PacketPool | undefined;
  /**
   * With recycleChunks: read into slots of the I/O memory from the first chunk on (io-slots.ts),
   * for a caller that sums or copies the frames (a run with packet work: checksums over the read
   * chunks then run in WebAssembly, copies out of them are one memory.copy). Without it the
   * memory is made by a writer once it has copied frames in earnest, which a run that writes its
   * frames where they were read (zero-copy) never does.
   */
  ioMemory?: boolean;
}

/**
 * Size of the chunks read from files. 1 MiB: larger chunks were no faster and, being freed only
 * when their last packet is collected, raised peak RSS (4 MiB: ~240 MB on a 1 GiB passthrough,
 * 1 MiB: ~125 MB).
 */
export const READ_CHUNK_SIZE = 1 << 20;

export class CaptureReader {
  /** Bytes parsed so far (decompressed). */
  bytesRead = 0;
  /** Bytes taken from the source so far, as stored (compressed for a gzip input): for progress. */
  get sourceBytesRead(): number {
    return this.sourceCount.bytes;
  }
  /** @internal */
  sourceCount = { bytes: 0 };
  packetsRead = 0;
  private readonly framer: Framer;
  private pending: Packet[][] = [];
  private pendingError: unknown = null;
  private eof = false;
  private iterating = false;
  private closed = false;
  /** Chunks fed since the last batch was handed out, given back to `recycle` at the next step. */
  private readonly fedChunks: Uint8Array[] = [];
  /** A passthrough sink was set: batches() yields one (maybe empty) batch per chunk. */
  private passthroughSet = false;
  /** The batch list batches() fills again for every chunk when packets are recycled (recycleChunks). */
  private readonly batch = new PacketList();

  /** @internal use openCapture / readCaptureFromStream. */
  constructor(
    private readonly source: AsyncIterator<Uint8Array>,
    private readonly ctx: ParseContext,
    private readonly gzip: boolean,
    zeroCopy: boolean,
    /** Takes back a chunk the source may read into again (recycleChunks), else null. */
    private readonly recycle: ((chunk: Uint8Array) => void) | null = null,
    /** Holds the source's chunks back from reuse (recycleChunks), else null. */
    private readonly keeper: ChunkKeeper | null = null,
  ) {
    this.framer = new Framer(ctx, zeroCopy, recycle === null ? NEVER_REUSED : keeper);
  }

  /**
   * What an output that writes straight from this reader's chunks (the passthrough's records)
   * must hold them with until written: the file source's keeper when chunks are read into again,
   * else nothing to keep.
   */
  get chunkKeeper(): ChunkKeeper {
    return this.recycle !== null && this.keeper !== null ? this.keeper : NEVER_REUSED;
  }

  get format(): 'pcap' | 'pcapng' {
    return this.parser.format;
  }

  /** pcap: the nanosecond magic; pcapng: the first interface's resolution is finer than 1 µs. */
  get nanosecond(): boolean {
    return this.parser.nanosecond;
  }

  /** Interfaces seen so far (pcap: exactly one; pcapng: grows as IDBs are read, over all sections). */
  get interfaces(): CaptureInterface[] {
    return this.parser.interfaces;
  }

  /**
   * pcap: from the next chunk on, give records a pcap writer of the same resolution would write
   * unchanged to `sink` instead of making packets of them (PcapParser.passthrough); batches() then
   * yields once per chunk, empty when every record went to the sink, so that the caller can write
   * what the sink gathered (it must, before asking for the next batch). False when the input
   * can't (pcapng, big-endian pcap).
   */
  passthrough(sink: RecordSink): boolean {
    const p = this.parser;
    if (!(p instanceof PcapParser) || !p.passthrough(sink)) return false;
    this.passthroughSet = true;
    return true;
  }

  /** Records still go to the passthrough sink (false once one had to become a packet). */
  get passingThrough(): boolean {
    const p = this.framer.parser;
    return p instanceof PcapParser && p.passingThrough;
  }

  private get parser(): FormatParser {
    const p = this.framer.parser;
    if (p === null) throw new Error('capture reader not opened');
    return p;
  }

  /** @internal Read until format and first interface are known. */
  async open(): Promise<void> {
    while (!this.eof && !(this.framer.parser?.ready ?? false)) {
      const out: Packet[] = [];
      try {
        await this.step(out);
      } catch (err) {
        // Packets before the fault are delivered first: the error then comes from batches().
        if (out.length > 0) this.pending.push(out);
        if (this.pending.length > 0) {
          this.pendingError = err;
          return;
        }
        await this.close();
        throw err;
      }
      if (out.length > 0) this.pending.push(out);
    }
  }

  /** Batches of packets in file order, one per input chunk. Can be iterated once. */
  async *batches(): AsyncGenerator<Packet[]> {
    if (this.iterating) throw new Error('CaptureReader.batches() can be iterated only once');
    this.iterating = true;
    try {
      while (this.pending.length > 0) yield this.pending.shift()!;
      if (this.pendingError !== null) throw this.pendingError;
      while (!this.eof) {
        // The caller is done with what was yielded before (recycleChunks).
        this.recycleFed();
        // Recycled packets: the caller is done with the last batch, and so with its array.
        const out = this.ctx.packets !== undefined ? this.batch : new PacketList();
        out.length = 0;
        try {
          await this.step(out);
        } catch (err) {
          if (out.length > 0 || this.passthroughSet) yield out.array();
          throw err;
        }
        if (out.length > 0 || this.passthroughSet) yield out.array();
      }
    } finally {
      await this.close();
    }
  }

  /** Stop reading and release the input (also done when batches() ends or is abandoned). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.eof = true;
    this.fedChunks.length = 0;
    try {
      await this.source.return?.();
    } catch {
      // the source is being discarded; its errors no longer matter
    }
  }

  /** Read one chunk and parse it into `out`; at the end of input, check for a truncated record. */
  private async step(out: PacketSink): Promise<void> {
    let r: IteratorResult<Uint8Array>;
    try {
      r = await this.source.next();
    } catch (err) {
      this.eof = true;
      if (this.gzip && isZlibError(err)) {
        throw new CaptureFormatError('ERR_CAPTURE_GZIP', this.ctx.file, this.framer.fed, `gzip data error: ${(err as Error).message}`);
      }
      throw err;
    }
    if (r.done) {
      this.eof = true;
      this.framer.finish();
      return;
    }
    const before = out.length;
    if (this.recycle !== null) this.fedChunks.push(r.value);
    try {
      // Packets live in the chunk: a stream's Buffer is viewed as a plain Uint8Array, the one kind of
      // array frame buffers are (file chunks already are).
      this.framer.feed(plainBytes(r.value), out);
    } catch (err) {
      this.eof = true;
      throw err;
    } finally {
      this.bytesRead = this.framer.fed;
      this.packetsRead += out.length - before;
    }
  }

  private recycleFed(): void {
    if (this.recycle === null) return;
    for (const c of this.fedChunks) this.recycle(c);
    this.fedChunks.length = 0;
    this.ctx.packets?.recycle();
  }
}

/**
 * What identifies a chunk's buffer for pooling and holds: its ArrayBuffer, or for a slot of the
 * I/O memory (one ArrayBuffer for all) the slot's offset.
 */
function bufferKey(chunk: Uint8Array): object | number {
  return slotMemoryOf(chunk) !== null ? chunk.byteOffset - (chunk.byteOffset % SLOT_SIZE) : chunk.buffer;
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Splits the byte stream into records for the format parser: parses in place inside each chunk
 * and assembles only records that straddle chunks, in `carry`.
 */
class Framer {
  parser: FormatParser | null = null;
  /** Bytes fed so far (offset of the next chunk's first byte). */
  fed = 0;
  private carry = new Uint8Array(0);
  private carryDv = new DataView(this.carry.buffer);
  private carryLen = 0;
  /** Stream offset of carry[0]. */
  private carryOff = 0;

  constructor(
    private readonly ctx: ParseContext,
    /** Packets may reference the chunks fed. */
    private readonly zeroCopy: boolean,
    /**
     * ...and the chunks are reused only once this keeper has them back: writers may output their
     * bytes without a copy, holding them (null: reused without asking, never written from).
     */
    private readonly keeper: ChunkKeeper | null,
  ) {}

  feed(chunk: Uint8Array, out: PacketSink): void {
    const base = this.fed;
    this.fed += chunk.length;
    let pos = 0;
    while (this.carryLen > 0) {
      const r = this.parseAt(this.carry, this.carryDv, 0, this.carryLen, this.carryOff, out, false);
      if (r > 0) {
        if (r < this.carryLen) {
          this.carry.copyWithin(0, r, this.carryLen);
          this.carryOff += r;
        }
        this.carryLen -= r;
        continue;
      }
      const take = Math.min(-r - this.carryLen, chunk.length - pos);
      this.appendCarry(chunk, pos, take);
      pos += take;
      if (pos === chunk.length && this.carryLen < -r) return;
    }
    const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = chunk.length;
    const zeroCopy = this.zeroCopy;
    if (zeroCopy && this.keeper !== null) markReadChunk(chunk, this.keeper);
    while (pos < end) {
      const r = this.parseAt(chunk, dv, pos, end, base + pos, out, zeroCopy);
      if (r <= 0) {
        this.carryOff = base + pos;
        this.appendCarry(chunk, pos, end - pos);
        return;
      }
      pos += r;
    }
  }

  /** End of input: an empty input or a record left incomplete is reported here. */
  finish(): void {
    if (this.fed === 0) throw new CaptureFormatError('ERR_CAPTURE_EMPTY', this.ctx.file, 0, 'empty file');
    if (this.carryLen === 0) return;
    const need = -this.parseAt(this.carry, this.carryDv, 0, this.carryLen, this.carryOff, [], false);
    const problem = `truncated ${this.recordName()}: the input ends after ${this.carryLen} of its ${need} bytes`;
    if (this.parser === null || !this.parser.started || this.ctx.strict) {
      throw new CaptureFormatError('ERR_CAPTURE_TRUNCATED', this.ctx.file, this.carryOff, problem);
    }
    this.ctx.warn(`${this.ctx.file}: offset ${this.carryOff}: ${problem}`);
  }

  private recordName(): string {
    if (this.parser === null || !this.parser.started) return 'file header';
    return this.parser.format === 'pcap' ? 'record' : 'block';
  }

  private parseAt(bytes: Uint8Array, dv: DataView, off: number, end: number, fileOff: number, out: PacketSink, zeroCopy: boolean): number {
    if (this.parser === null) {
      if (end - off < 4) return -4;
      const le32 = dv.getUint32(off, true);
      if (le32 === BLOCK.SHB) this.parser = new PcapngParser(this.ctx);
      else if (isPcapMagic(le32)) this.parser = new PcapParser(this.ctx);
      else {
        const hex = Array.from(bytes.subarray(off, off + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
        throw new CaptureFormatError('ERR_PCAP_BAD_MAGIC', this.ctx.file, fileOff, `not a pcap or pcapng capture (first bytes ${hex})`);
      }
    }
    return this.parser.parse(bytes, dv, off, end, fileOff, out, zeroCopy);
  }

  private appendCarry(src: Uint8Array, from: number, n: number): void {
    if (this.carryLen + n > this.carry.length) {
      const next = new Uint8Array(Math.max(this.carryLen + n, 2 * this.carry.length, 65536));
      next.set(this.carry.subarray(0, this.carryLen));
      this.carry = next;
      this.carryDv = new DataView(next.buffer, next.byteOffset, next.byteLength);
    }
    this.carry.set(src.subarray(from, from + n), this.carryLen);
    this.carryLen += n;
  }
}

/**
 * Open a capture file ('-' = stdin) and read up to its first interface. Errors in the first bytes
 * (empty file, bad magic) reject here; later ones come from batches().
 */
export async function openCapture(path: string, opts: ReadOptions): Promise<CaptureReader> {
  if (path === '-') return readCaptureFromStream(process.stdin, opts);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new CaptureInputError(opts.name, 'cannot open', e);
  }
  const chunks = new FileChunks(fh, opts.name, READ_CHUNK_SIZE, opts.recycleChunks === true, opts.syncReads !== false, opts.ioMemory === true);
  return openReader({ [Symbol.asyncIterator]: () => chunks }, opts, opts.recycleChunks === true ? chunks : null);
}

/** Reads a file input keeps in flight ahead of the caller (regular files; pipes get one). */
export const READ_AHEAD = 4;

/**
 * Read buffers kept for reuse by pooled file sources (READ_CHUNK_SIZE bytes each), shared by all of
 * them: the next input of a run reads into the buffers of the one before. At most POOL_LIMIT: the
 * reads ahead, the batch being worked on, and chunks an output still writes from (up to its
 * FILE_WRITES_IN_FLIGHT) come back to it.
 */
const readBufferPool: Uint8Array[] = [];
const POOL_LIMIT = READ_AHEAD + 12;

/**
 * A file's bytes as chunks, read ahead: reads of the next chunks are queued before the current
 * one is returned, so they proceed (in the thread pool, one after the other) while the caller
 * works. Every read gets a new buffer, which the consumer owns, unless `pooled`: then
 * buffers given back with recycle() are read into again (at most POOL_LIMIT are kept), but not
 * while an output holds them (hold/release: a zero-copy write in flight). Pooled buffers are
 * slots of the I/O memory (io-slots.ts) while there are free ones: writers copy frames out of
 * them without a view per packet.
 * Regular files are read at explicit positions, READ_AHEAD chunks ahead; anything else
 * (FIFO, character device) sequentially, one chunk ahead.
 */
class FileChunks implements AsyncIterator<Uint8Array>, ChunkKeeper {
  /** Reads queued or in flight, in file order. */
  private readonly ahead: Promise<Uint8Array | null>[] = [];
  /** File position of the next read to issue (regular files), or -1: sequential. */
  private position = -1;
  private depth = 1;
  private started = false;
  private done = false;
  /** Buffers the consumer gave back, `size` bytes each (pooled; shared with other sources of the same size). */
  private readonly pool: Uint8Array[];
  /** Holds on buffers an output still writes from, and the recycled ones among them (by bufferKey). */
  private readonly held = new Map<object | number, number>();
  private readonly recycledWhileHeld = new Map<object | number, Uint8Array>();

  constructor(
    private readonly fh: FileHandle,
    /** The input's name for errors, as the caller gave it. */
    private readonly name: string,
    private readonly size: number,
    private readonly pooled = false,
    /** Regular files: read synchronously, on demand (ReadOptions.syncReads). */
    private readonly sync = false,
    /** Pooled: make the I/O memory for the first read (ReadOptions.ioMemory). */
    private readonly makeSlots = false,
  ) {
    this.pool = size === READ_CHUNK_SIZE ? readBufferPool : [];
  }

  /** Give back a chunk this source returned: its bytes may be overwritten by a later read (once no longer held). */
  recycle(chunk: Uint8Array): void {
    const key = bufferKey(chunk);
    if (this.held.has(key)) this.recycledWhileHeld.set(key, chunk);
    else this.toPool(chunk);
  }

  hold(chunk: Uint8Array): void {
    const key = bufferKey(chunk);
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
  }

  release(chunk: Uint8Array): void {
    const key = bufferKey(chunk);
    const n = (this.held.get(key) ?? 1) - 1;
    if (n > 0) {
      this.held.set(key, n);
      return;
    }
    this.held.delete(key);
    const recycled = this.recycledWhileHeld.get(key);
    if (recycled !== undefined) {
      this.recycledWhileHeld.delete(key);
      this.toPool(recycled);
    }
  }

  /**
   * Keep the buffer `chunk` starts for a later read; a slot not kept goes back to the I/O memory,
   * and a buffer of its own is let go while there are free slots to read into instead.
   */
  private toPool(chunk: Uint8Array): void {
    const slot = slotMemoryOf(chunk) !== null;
    if (!slot && this.size === SLOT_SIZE && slotsFree()) return;
    const whole = slot ? this.size === SLOT_SIZE && chunk.byteOffset % SLOT_SIZE === 0 : chunk.byteOffset === 0 && chunk.buffer.byteLength === this.size;
    if (this.pooled && whole && this.pool.length < POOL_LIMIT && !this.pool.some((b) => bufferKey(b) === bufferKey(chunk))) {
      this.pool.push(chunk.length === this.size ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, this.size));
    } else if (slot) giveSlot(chunk);
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.done) return { done: true, value: undefined };
    let chunk: Uint8Array | null;
    try {
      if (!this.started) {
        this.started = true;
        if ((await this.fh.stat()).isFile()) {
          this.position = 0;
          this.depth = READ_AHEAD;
        }
      }
      if (this.sync && this.position >= 0) {
        // The event loop's turn first: with every read and write synchronous, nothing else would
        // give timers, signals and worker messages one until the file ends.
        await new Promise<void>((resolve) => setImmediate(resolve));
        chunk = this.readChunkSync(this.position);
        this.position += this.size;
      } else {
        this.fill();
        chunk = await this.ahead.shift()!;
        if (chunk !== null) this.fill();
      }
    } catch (err) {
      await this.return();
      // A system error (EISDIR: a directory, EIO) says which input it is about.
      throw isSystemError(err) ? new CaptureInputError(this.name, 'cannot read', err) : err;
    }
    if (chunk === null) {
      await this.return();
      return { done: true, value: undefined };
    }
    return { done: false, value: chunk };
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.done) {
      this.done = true;
      const pending = this.ahead.splice(0);
      await Promise.allSettled(pending);
      await this.fh.close();
    }
    return { done: true, value: undefined };
  }

  /** Issue reads until `depth` are in flight. */
  private fill(): void {
    while (this.ahead.length < this.depth) {
      const at = this.position;
      if (at >= 0) this.position += this.size;
      const read = this.read(at);
      // Awaited in order by next(); until then a rejection must not count as unhandled.
      read.catch(() => {});
      this.ahead.push(read);
    }
  }

  /**
   * One chunk from `at` once the read before it is done: the reads ahead run one after the other
   * in the thread pool, not side by side. Concurrent reads of one file only competed for the two
   * cores of a small machine with the packet loop and the output's write (measured: a 1 GB copy
   * with four reads at a time took 1.3 s under load, one at a time 0.8 s, for less CPU).
   */
  private read(at: number): Promise<Uint8Array | null> {
    const next = this.lastRead.then(
      () => this.readChunk(at),
      () => this.readChunk(at),
    );
    this.lastRead = next;
    return next;
  }

  /** The read queued last (read() starts the next one when it settles). */
  private lastRead: Promise<unknown> = Promise.resolve();

  /** One chunk from `at` (-1: the file position), full unless the input ends; null at its end. */
  private async readChunk(at: number): Promise<Uint8Array | null> {
    const buf = this.buffer();
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await this.fh.read(buf, n, buf.length - n, at < 0 ? null : at + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return this.filled(buf, n);
  }

  /** readChunk on this thread, from file position `at`. */
  private readChunkSync(at: number): Uint8Array | null {
    const buf = this.buffer();
    let n = 0;
    while (n < buf.length) {
      const bytesRead = readSync(this.fh.fd, buf, n, buf.length - n, at + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return this.filled(buf, n);
  }

  /** A buffer to read a chunk into: a pooled one when there is one, else a free slot of the I/O memory (once made). */
  private buffer(): Uint8Array {
    // A source that does not pool hands every buffer to its consumer for good: never a slot.
    const pooled = this.pooled ? (this.pool.pop() ?? (this.size === SLOT_SIZE ? takeSlot(this.makeSlots) : undefined)) : undefined;
    return pooled !== undefined ? new Uint8Array(pooled.buffer, pooled.byteOffset, this.size) : uninitializedBytes(this.size);
  }

  /** The chunk read into `buf` (`n` bytes), or null at the end of the input. */
  private filled(buf: Uint8Array, n: number): Uint8Array | null {
    if (n === 0) {
      // The reads ahead of the end find nothing: their buffers go back to the pool, not to the GC.
      if (this.pooled) this.toPool(buf);
      return null;
    }
    return n === buf.length ? buf : buf.subarray(0, n);
  }
}

/**
 * Like openCapture, over any async iterable of byte chunks (a Readable, a generator...). The
 * reader takes ownership of every chunk yielded: packets reference it, so the source must not
 * modify or reuse it afterwards (or set `copyRecords`).
 */
export async function readCaptureFromStream(stream: AsyncIterable<Uint8Array>, opts: ReadOptions): Promise<CaptureReader> {
  return openReader(stream, opts, null);
}

/** `recycler`: the file source whose chunks are reused (recycleChunks), used unless the input is gzip. */
async function openReader(stream: AsyncIterable<Uint8Array>, opts: ReadOptions, recycler: FileChunks | null): Promise<CaptureReader> {
  const it = stream[Symbol.asyncIterator]();
  const sourceCount = { bytes: 0 };
  // Peek at the first two bytes for the gzip magic, without losing what was read.
  const head: Uint8Array[] = [];
  let n = 0;
  while (n < 2) {
    const r = await it.next();
    if (r.done) break;
    head.push(r.value);
    n += r.value.length;
  }
  const first = n >= 2 ? byteAt(head, 0) : -1;
  const second = n >= 2 ? byteAt(head, 1) : -1;
  let source: AsyncIterator<Uint8Array>;
  let gzip = false;
  if (first === 0x1f && second === 0x8b) {
    gzip = true;
    const gunzip = process.getBuiltinModule('node:zlib').createGunzip({ chunkSize: 256 * 1024 });
    pipeline(Readable.from(prepend(head, it, sourceCount), { objectMode: false }), gunzip, () => {
      // errors surface through the gunzip iterator
    });
    source = gunzip[Symbol.asyncIterator]();
  } else {
    source = prepend(head, it, sourceCount);
  }
  // Compressed input: zlib holds on to the chunks it is given, so they are never reused.
  const recycle = recycler !== null && !gzip ? (c: Uint8Array) => recycler.recycle(c) : null;
  const ctx: ParseContext = {
    file: opts.name,
    strict: opts.strict ?? false,
    warn: opts.onWarning ?? (() => {}),
    // Packets live as long as the chunks they reference: reused with them.
    packets: recycle !== null ? (opts.packetPool ?? new PacketPool()) : undefined,
  };
  const reader = new CaptureReader(source, ctx, gzip, opts.copyRecords !== true, recycle, recycle !== null ? recycler : null);
  reader.sourceCount = sourceCount;
  await reader.open();
  return reader;
}

function byteAt(chunks: Uint8Array[], i: number): number {
  for (const c of chunks) {
    if (i < c.length) return c[i]!;
    i -= c.length;
  }
  return -1;
}

async function* prepend(head: Uint8Array[], rest: AsyncIterator<Uint8Array>, count: { bytes: number }): AsyncGenerator<Uint8Array> {
  try {
    for (const c of head) {
      count.bytes += c.length;
      if (c.length > 0) yield c;
    }
    for (;;) {
      const r = await rest.next();
      if (r.done) return;
      count.bytes += r.value.length;
      if (r.value.length > 0) yield r.value;
    }
  } finally {
    await rest.return?.();
  }
}

/** Every packet of a capture, one at a time (convenience for tests and tools; not the hot path). */
export async function* readPackets(path: string, opts: ReadOptions): AsyncGenerator<Packet> {
  const reader = await openCapture(path, opts);
  for await (const batch of reader.batches()) yield* batch;
}
