/**
 * Classic libpcap format (draft-ietf-opsawg-pcap): a 24-byte file header, then records of a
 * 16-byte header (ts sec, ts µs|ns, caplen, origlen) and caplen bytes. Both byte orders, both
 * resolutions.
 *
 * Policy (documented in the README):
 * - caplen > 262144, or > snaplen when the header's snaplen is non-zero: ERR_PCAP_CAPLEN.
 * - caplen > origlen: some tools write it; by default the packet is kept with origLen = caplen
 *   and one warning is given; strict: ERR_CAPTURE_ORIGLEN.
 * - a fraction ≥ 1 s (µs field of 1000000 and up) is carried into the seconds.
 */
import type { Packet } from '../packet.js';
import { type CaptureInterface, type FormatParser, type ParseContext, type RecordSink, type PacketSink, MAX_CAPLEN, recordPacket } from './capture-interface.js';
import { CaptureFormatError } from './errors.js';
import { pcapHeaderLinkType } from './link-type.js';

export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** Magic numbers as read little-endian from the first four bytes. */
export const PCAP_MAGIC = {
  USEC_LE: 0xa1b2c3d4,
  NSEC_LE: 0xa1b23c4d,
  USEC_BE: 0xd4c3b2a1,
  NSEC_BE: 0x4d3cb2a1,
} as const;

/** True when the first four bytes (read little-endian) are one of the four pcap magics. */
export function isPcapMagic(le32: number): boolean {
  return (
    le32 === PCAP_MAGIC.USEC_LE || le32 === PCAP_MAGIC.NSEC_LE || le32 === PCAP_MAGIC.USEC_BE || le32 === PCAP_MAGIC.NSEC_BE
  );
}

export class PcapParser implements FormatParser {
  readonly format = 'pcap' as const;
  nanosecond = false;
  readonly interfaces: CaptureInterface[] = [];
  started = false;
  private le = true;
  private units = 1_000_000;
  private snapLen = 0;
  private linkType = 1;
  private origLenWarned = false;
  /**
   * Records that can leave unchanged go here instead of becoming packets (see passthrough()),
   * until the first one that cannot: from it on, every record is a packet again.
   */
  private sink: RecordSink | null = null;

  constructor(private readonly ctx: ParseContext) {}

  /**
   * Hand records to `sink` as they are, without making packets of them, while each is one a pcap
   * writer of the same resolution would write byte for byte: little-endian, fraction below one
   * second, caplen not above origlen. False (nothing changes) for a big-endian file.
   */
  passthrough(sink: RecordSink | null): boolean {
    if (sink !== null && !this.le) return false;
    this.sink = sink;
    return true;
  }

  /** Records still go to the passthrough sink. */
  get passingThrough(): boolean {
    return this.sink !== null;
  }

  get ready(): boolean {
    return this.started;
  }

  parse(bytes: Uint8Array, dv: DataView, off: number, end: number, fileOff: number, out: PacketSink, zeroCopy: boolean): number {
    if (!this.started) return this.parseFileHeader(dv, off, end, fileOff);
    if (end - off < PCAP_RECORD_HEADER_LEN) return -PCAP_RECORD_HEADER_LEN;
    const le = this.le;
    const capLen = dv.getUint32(off + 8, le);
    if (capLen > MAX_CAPLEN) {
      throw new CaptureFormatError('ERR_PCAP_CAPLEN', this.ctx.file, fileOff, `record caplen ${capLen} exceeds the ${MAX_CAPLEN}-byte limit`);
    }
    if (this.snapLen > 0 && capLen > this.snapLen) {
      throw new CaptureFormatError('ERR_PCAP_CAPLEN', this.ctx.file, fileOff, `record caplen ${capLen} exceeds the file's snaplen ${this.snapLen}`);
    }
    const total = PCAP_RECORD_HEADER_LEN + capLen;
    if (end - off < total) return -total;

    let origLen = dv.getUint32(off + 12, le);
    const sink = this.sink;
    if (sink !== null) {
      if (capLen <= origLen && dv.getUint32(off + 4, true) < this.units) {
        sink.record(bytes, off, off + total, capLen, origLen, zeroCopy);
        return total;
      }
      this.sink = null;
    }
    if (capLen > origLen) origLen = this.badOrigLen(capLen, origLen, fileOff);
    const pkt = recordPacket(bytes, off, off + PCAP_RECORD_HEADER_LEN, capLen, origLen, zeroCopy, this.ctx.packets);
    let sec = dv.getUint32(off, le);
    let frac = dv.getUint32(off + 4, le);
    if (frac >= this.units) {
      const carry = Math.floor(frac / this.units);
      sec += carry;
      frac -= carry * this.units;
    }
    pkt.tsSec = sec;
    pkt.tsFrac = frac;
    pkt.tsUnits = this.units;
    pkt.linkType = this.linkType;
    out.push(pkt);
    return total;
  }

  private parseFileHeader(dv: DataView, off: number, end: number, fileOff: number): number {
    if (end - off < PCAP_FILE_HEADER_LEN) return -PCAP_FILE_HEADER_LEN;
    const magic = dv.getUint32(off, true);
    switch (magic) {
      case PCAP_MAGIC.USEC_LE:
        this.le = true;
        break;
      case PCAP_MAGIC.NSEC_LE:
        this.le = true;
        this.nanosecond = true;
        break;
      case PCAP_MAGIC.USEC_BE:
        this.le = false;
        break;
      case PCAP_MAGIC.NSEC_BE:
        this.le = false;
        this.nanosecond = true;
        break;
      default:
        throw new CaptureFormatError('ERR_PCAP_BAD_MAGIC', this.ctx.file, fileOff, `unknown pcap magic 0x${magic.toString(16).padStart(8, '0')}`);
    }
    this.units = this.nanosecond ? 1_000_000_000 : 1_000_000;
    this.snapLen = dv.getUint32(off + 16, this.le);
    this.linkType = pcapHeaderLinkType(dv.getUint32(off + 20, this.le));
    this.interfaces.push({ linkType: this.linkType, snapLen: this.snapLen, tsUnits: this.units });
    this.started = true;
    return PCAP_FILE_HEADER_LEN;
  }

  private badOrigLen(capLen: number, origLen: number, fileOff: number): number {
    const problem = `record caplen ${capLen} exceeds its origlen ${origLen}`;
    if (this.ctx.strict) throw new CaptureFormatError('ERR_CAPTURE_ORIGLEN', this.ctx.file, fileOff, problem);
    if (!this.origLenWarned) {
      this.origLenWarned = true;
      this.ctx.warn(`${this.ctx.file}: offset ${fileOff}: ${problem}; origlen taken as ${capLen} (further such records not reported)`);
    }
    return capLen;
  }
}
