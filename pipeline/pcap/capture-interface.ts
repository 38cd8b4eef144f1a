import { HEADROOM, Packet } from '../packet.js';
import type { PacketPool } from './packet-pool.js';

/** A capture interface: the pcap file header, or one pcapng Interface Description Block. */
export interface CaptureInterface {
  /** LINKTYPE_* number. */
  linkType: number;
  /** Snapshot length; 0 = not limited. */
  snapLen: number;
  /** Timestamp fractions per second: 1e6, 1e9, 2**n, 10**n. */
  tsUnits: number;
  /** pcapng if_name. */
  name?: string;
  /** pcapng if_description. */
  description?: string;
}

/** What a format parser needs from its reader: the name for errors, the policy and the warning sink. */
export interface ParseContext {
  readonly file: string;
  readonly strict: boolean;
  warn(msg: string): void;
  /** Where record packets come from when the reader recycles its chunks (reused packets); else a new Packet per record. */
  readonly packets?: PacketPool | undefined;
}

/**
 * The chunks zero-copy packets were made from, with the keeper an output holds each with while
 * it writes from it. Such a chunk is not modified by the reader, nor reused before its keeper
 * has it back (NEVER_REUSED: never), and packets only write inside their own [floor, tail): so
 * bytes of it a packet does not own (its parsed record header, when head is still right after it)
 * keep their input value, and a writer may hand them to its output without a copy
 * (WriteBuffer.appendShared).
 */
const readChunks = new WeakMap<Uint8Array, ChunkKeeper>();

/** Record that zero-copy packets reference `chunk`, reused only once `keeper` has it back (see readChunks). */
export function markReadChunk(chunk: Uint8Array, keeper: ChunkKeeper = NEVER_REUSED): void {
  readChunks.set(chunk, keeper);
}

/** True for a chunk zero-copy packets were made from. */
export function isReadChunk(buf: Uint8Array): boolean {
  return readChunks.has(buf);
}

/** The keeper of a chunk zero-copy packets were made from (see readChunks), else undefined. */
export function readChunkKeeper(buf: Uint8Array): ChunkKeeper | undefined {
  return readChunks.get(buf);
}

/**
 * A packet for the frame at bytes[data, data + capLen) of a record starting at `record`: zero-copy
 * (the chunk itself, floor at the record) or a copy with HEADROOM in front; from `pool` when the
 * reader recycles its packets. macOff = head.
 */
export function recordPacket(bytes: Uint8Array, record: number, data: number, capLen: number, origLen: number, zeroCopy: boolean, pool: PacketPool | undefined): Packet {
  let buf = bytes;
  let head = data;
  let floor = record;
  if (!zeroCopy) {
    buf = new Uint8Array(HEADROOM + capLen);
    buf.set(bytes.subarray(data, data + capLen), HEADROOM);
    head = HEADROOM;
    floor = 0;
  }
  const pkt = pool !== undefined ? pool.take(buf, head, head + capLen, origLen, floor) : new Packet(buf, head, head + capLen, origLen, floor);
  pkt.macOff = head;
  return pkt;
}

/**
 * Takes pcap records that leave exactly as they came (pcap-format.ts, passthrough): the record,
 * header included, is bytes[start, end). `shared`: bytes is a read chunk whose records stay put
 * until the reader's next batch (ranges of it may be gathered); else the reader's carry-over
 * buffer, to be copied before parsing goes on.
 */
export interface RecordSink {
  record(bytes: Uint8Array, start: number, end: number, capLen: number, origLen: number, shared: boolean): void;
}

/**
 * Keeps read chunks from being read into again while an output still reads them (a zero-copy
 * write in flight): hold() before handing a view of the chunk over, release() once it is written.
 */
export interface ChunkKeeper {
  hold(chunk: Uint8Array): void;
  release(chunk: Uint8Array): void;
}

/** For chunks that are never reused: nothing to keep. */
export const NEVER_REUSED: ChunkKeeper = { hold() {}, release() {} };

/** Largest caplen accepted (libpcap/Wireshark MAXIMUM_SNAPLEN, WTAP_MAX_PACKET_SIZE_STANDARD). */
export const MAX_CAPLEN = 262144;

/** Where a parser puts the packets it makes: an array, or a PacketList. */
export interface PacketSink {
  push(pkt: Packet): unknown;
  readonly length: number;
}

/**
 * The packets of one batch, in an array reused from batch to batch and filled by index: an
 * array emptied with `length = 0` loses its backing store in V8 and grows it anew with every
 * batch (some 17 MB of garbage per GB of 1514-byte frames, as much again in the run loop's list).
 */
export class PacketList implements PacketSink {
  private readonly items: Packet[] = [];
  length = 0;

  push(pkt: Packet): void {
    this.items[this.length++] = pkt;
  }

  /**
   * The packets as an array of exactly `length`, the list's own (valid until it is filled again):
   * shortening it keeps the store unless the batch is much smaller than the one before.
   */
  array(): Packet[] {
    const a = this.items;
    if (a.length !== this.length) a.length = this.length;
    return a;
  }
}

/**
 * A record parser for one capture format. parse() works on bytes already in memory and never
 * waits: it consumes one record (file header, packet record or block) at `off`, appending any
 * packet to `out`, and returns the bytes consumed; when the record is not complete in
 * [off, end) it returns -(bytes it needs from off), having consumed nothing.
 *
 * `zeroCopy`: `bytes` is a chunk the reader neither modifies nor reuses while its packets are in
 * use (see readChunks), so packets may reference it
 * (buf = bytes, floor = the record's start); otherwise (the reader's carry-over buffer) each
 * packet gets a copy of its frame with HEADROOM in front.
 */
export interface FormatParser {
  readonly format: 'pcap' | 'pcapng';
  readonly nanosecond: boolean;
  readonly interfaces: CaptureInterface[];
  /** The file header (pcap) / first Section Header Block (pcapng) has been read. */
  readonly started: boolean;
  /** Enough read for the reader's properties to be final: pcap header / first IDB. */
  readonly ready: boolean;
  parse(bytes: Uint8Array, dv: DataView, off: number, end: number, fileOff: number, out: PacketSink, zeroCopy: boolean): number;
}
