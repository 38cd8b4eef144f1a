/**
 * pcap to pcap with nothing to change (a run without stages or egress): records go from the read
 * chunks to the output in ranges, never made into packets, and not even copied: the output
 * writes from the read chunk itself, which the reader reads into again only once it is written. That is what a plain copy
 * costs a C tool; one packet object per record, its trip through the pipeline and its copy cost
 * capflow several times more. Records the writer would not reproduce byte for byte (see
 * PcapParser.passthrough) end it: from there on they take the usual way.
 */
import type { ChunkKeeper, RecordSink } from './capture-interface.js';
import type { PcapWriter } from './pcap-writer.js';

export class RecordPassthrough implements RecordSink {
  /** Records, captured bytes and snaplen-truncated records handed over since takeCounts(). */
  packets = 0;
  bytes = 0;
  truncated = 0;
  /** The pending range of one read chunk: buf[start, end), `count` records. */
  private buf: Uint8Array | null = null;
  private start = 0;
  private end = 0;
  private count = 0;
  private ok = true;

  /**
   * `keeper`: the reader's, for its read chunks: ranges of them go to the output without a copy,
   * the chunk held until written (null: copied into the writer's buffer).
   */
  constructor(
    private readonly writer: PcapWriter,
    private readonly keeper: ChunkKeeper | null = null,
  ) {}

  record(bytes: Uint8Array, start: number, end: number, capLen: number, origLen: number, shared: boolean): void {
    this.packets++;
    this.bytes += capLen;
    if (capLen < origLen) this.truncated++;
    if (shared && bytes === this.buf && start === this.end) {
      this.end = end;
      this.count++;
      return;
    }
    this.writePending();
    if (shared) {
      this.buf = bytes;
      this.start = start;
      this.end = end;
      this.count = 1;
    } else if (!this.writer.writeRecords(bytes, start, end, 1)) {
      // The reader's carry-over buffer: copied now, before it is reused.
      this.ok = false;
    }
  }

  /**
   * Write what is pending (before the reader moves on: its chunk may then be read into again).
   * False: the writer asked to wait for its flush().
   */
  flush(): boolean {
    this.writePending();
    const ok = this.ok;
    this.ok = true;
    return ok;
  }

  private writePending(): void {
    if (this.buf === null) return;
    if (!this.writer.writeRecords(this.buf, this.start, this.end, this.count, this.keeper)) this.ok = false;
    this.buf = null;
    this.count = 0;
  }
}
