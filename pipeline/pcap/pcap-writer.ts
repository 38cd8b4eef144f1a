/**
 * Classic pcap output: little-endian, µs or ns magic, version 2.4. The header is written at the
 * first addInterface (or at close when there was none: Ethernet); all interfaces must share its
 * link type, and all map to id 0. The header's snaplen is opts.snapLen (packets are cut to it),
 * else the larger of the interface's and 262144, so no record can exceed it.
 *
 * Zero-copy records: a packet the capture reader made from a pcap record, whose header bytes
 * (right before `head`, still inside the read chunk) are exactly the record header this writer
 * would produce, is written as a view of the chunk (header and frame), not copied; consecutive
 * such records of one chunk go out as one range, the chunk held with its reader's keeper until
 * written. This is what makes pcap -> pcap passthrough about as cheap as copying the file, and
 * spares a run with stages the copy of every frame they left in place (checksum.fix repairs
 * bytes where they are). Among copied records such a record is copied too, unless a long run
 * came before them or they fill 64 KiB (WriteBuffer.mayShare).
 */
import type { Packet } from '../packet.js';
import { type CaptureInterface, type ChunkKeeper, MAX_CAPLEN, NEVER_REUSED, readChunkKeeper } from './capture-interface.js';
import { CaptureWriteError } from './errors.js';
import { linkTypeName, pcapCarries } from './link-type.js';
import type { ByteOutput } from './output.js';
import { PCAP_MAGIC } from './pcap-format.js';
import { rescaleFraction } from './timestamp.js';
import type { CaptureWriter, WriteOptions } from './writer.js';
import { WriteBuffer } from './write-buffer.js';
import { dataViewOf } from '../wire/bytes.js';


export class PcapWriter implements CaptureWriter {
  packetsWritten = 0;
  packetsShared = 0;
  private readonly b: WriteBuffer;
  private readonly units: number;
  private readonly snapLimit: number;
  private linkType = -1;
  /** The last buffer found to be a read chunk (saves the lookup for its other records), and its keeper. */
  private chunk: Uint8Array | null = null;
  private chunkKeeper: ChunkKeeper = NEVER_REUSED;
  /** The last buffer found not to be one (recycled read buffers: every record of the chunk). */
  private notChunk: Uint8Array | null = null;

  constructor(
    out: ByteOutput,
    private readonly opts: WriteOptions,
  ) {
    this.b = new WriteBuffer(out);
    this.units = opts.nanosecond ? 1_000_000_000 : 1_000_000;
    this.snapLimit = opts.snapLen !== undefined && opts.snapLen > 0 ? opts.snapLen : 0;
  }

  get bytesWritten(): number {
    return this.b.bytesWritten;
  }

  addInterface(iface: CaptureInterface): number {
    if (!pcapCarries(iface.linkType)) {
      const name = iface.name !== undefined ? ` of interface ${JSON.stringify(iface.name)}` : '';
      throw new CaptureWriteError(
        'ERR_PCAP_LINKTYPE_UNSUPPORTED',
        this.b.out.name,
        `pcap cannot carry link type ${iface.linkType}${name} (readers refuse a pcap file with it); write pcapng (.pcapng or --format pcapng)`,
      );
    }
    if (this.linkType < 0) {
      // Readers reject or cut records above the header's snaplen, and stages grow packets: without
      // an explicit snapLen the header never says less than 262144.
      this.writeHeader(iface.linkType, this.snapLimit || Math.max(iface.snapLen, MAX_CAPLEN));
    } else if (iface.linkType !== this.linkType) {
      throw new CaptureWriteError(
        'ERR_PCAP_LINKTYPE_MIXED',
        this.b.out.name,
        `pcap output holds one link type: ${linkTypeName(this.linkType)} (${this.linkType}) is set, ${linkTypeName(iface.linkType)} (${iface.linkType}) needs pcapng`,
      );
    }
    return 0;
  }

  write(pkt: Packet, ifaceId: number, _comments: readonly string[] | null): boolean {
    if (ifaceId !== 0 || this.linkType < 0) {
      throw new CaptureWriteError('ERR_CAPTURE_BAD_INTERFACE', this.b.out.name, `write to interface ${ifaceId}, but the pcap output has ${this.linkType < 0 ? 'no interface yet' : 'only interface 0'}`);
    }
    const sec = pkt.tsSec;
    if (!(sec >= 0 && sec <= 0xffffffff)) {
      throw new CaptureWriteError('ERR_CAPTURE_TIMESTAMP_RANGE', this.b.out.name, `timestamp ${sec} s does not fit pcap's 32-bit seconds`);
    }
    const frac = rescaleFraction(pkt.tsFrac, pkt.tsUnits, this.units);
    let capLen = pkt.tail - pkt.head;
    if (this.snapLimit > 0 && capLen > this.snapLimit) capLen = this.snapLimit;
    // A 32-bit field: a stage growing a frame whose origlen already is 2^32 − 1 must not wrap it.
    const origLen = pkt.origLen > capLen ? Math.min(pkt.origLen, 0xffffffff) : capLen;
    const b = this.b;
    const src = pkt.buf;
    const h = pkt.head - 16;
    if (h >= pkt.floor && pkt.head + capLen === pkt.tail && src !== this.notChunk && (src === this.chunk || this.isChunk(src)) && b.mayShare()) {
      // The record header read as four little-endian words (a DataView read each, not four byte loads).
      const dv = dataViewOf(src);
      if (dv.getUint32(h, true) === sec && dv.getUint32(h + 4, true) === frac && dv.getUint32(h + 8, true) === capLen && dv.getUint32(h + 12, true) === origLen) {
        b.appendShared(src, h, pkt.tail, this.chunkKeeper);
        this.packetsWritten++;
        this.packetsShared++;
        return !b.needDrain;
      }
    }
    b.reserve(16 + capLen);
    const dv = b.dv;
    const p = b.pos;
    dv.setUint32(p, sec, true);
    dv.setUint32(p + 4, frac, true);
    dv.setUint32(p + 8, capLen, true);
    dv.setUint32(p + 12, origLen, true);
    b.copyIn(src, pkt.head, capLen, p + 16);
    b.pos = p + 16 + capLen;
    this.packetsWritten++;
    return !b.needDrain;
  }

  /**
   * True when records of a little-endian pcap input of this resolution can be written as they
   * are (writeRecords): the header they would get is their own.
   */
  takesRecordsAsIs(nanosecond: boolean): boolean {
    return this.snapLimit === 0 && this.linkType >= 0 && (nanosecond ? 1_000_000_000 : 1_000_000) === this.units;
  }

  /**
   * Write `count` whole pcap records, headers included, from bytes[start, end), unchanged: only
   * records write() would produce byte for byte (see takesRecordsAsIs and PcapParser.passthrough).
   * With the `keeper` of the reader whose chunk `bytes` is, the output is handed a view of it
   * (held until written) instead of a copy. False: wait for flush().
   */
  writeRecords(bytes: Uint8Array, start: number, end: number, count: number, keeper: ChunkKeeper | null = null): boolean {
    if (keeper !== null) this.b.appendShared(bytes, start, end, keeper);
    else this.b.appendCopy(bytes, start, end);
    this.packetsWritten += count;
    return !this.b.needDrain;
  }

  flush(): Promise<void> {
    return this.b.flush();
  }

  private isChunk(buf: Uint8Array): boolean {
    const keeper = readChunkKeeper(buf);
    if (keeper === undefined) {
      // A buffer never becomes a read chunk later: chunks are marked before their records are parsed.
      this.notChunk = buf;
      return false;
    }
    this.chunk = buf;
    this.chunkKeeper = keeper;
    return true;
  }

  async close(): Promise<void> {
    if (this.b.closed) return;
    if (this.linkType < 0) this.writeHeader(1, this.snapLimit || MAX_CAPLEN);
    await this.b.flush();
    this.b.release();
    await this.b.out.end();
  }

  async abort(): Promise<void> {
    this.b.release();
    await this.b.out.abort();
  }

  private writeHeader(linkType: number, snapLen: number): void {
    this.linkType = linkType;
    const b = this.b;
    b.reserve(24);
    const dv = b.dv;
    const p = b.pos;
    dv.setUint32(p, this.opts.nanosecond ? PCAP_MAGIC.NSEC_LE : PCAP_MAGIC.USEC_LE, true);
    dv.setUint16(p + 4, 2, true);
    dv.setUint16(p + 6, 4, true);
    dv.setInt32(p + 8, 0, true); // thiszone
    dv.setUint32(p + 12, 0, true); // sigfigs
    dv.setUint32(p + 16, snapLen, true);
    dv.setUint32(p + 20, linkType, true);
    b.pos = p + 24;
  }
}

