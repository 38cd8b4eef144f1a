/**
 * pcapng (draft-ietf-opsawg-pcapng): a sequence of sections, each a Section Header Block (which
 * fixes the byte order) followed by Interface Description Blocks and packet blocks.
 *
 * Read: SHB, IDB (if_name 2, if_description 3, if_tsresol 9, if_tsoffset 14), EPB (type 6, with
 * opt_comment 1 → pkt.comments), SPB (3), obsolete PB (2). Skipped by their length: NRB, ISB, DSB,
 * custom and unknown blocks.
 *
 * A packet's `iface` is its interface's index in `interfaces`, cumulative over sections: a
 * second section's interface 0 gets a new index.
 *
 * Policy:
 * - block length < 12, not a multiple of 4, > 16 MiB, too short for its block type, or a trailing
 *   length ≠ the leading one: ERR_PCAPNG_BLOCK_LEN.
 * - packet caplen beyond the block's data area or above 262144: ERR_PCAPNG_CAPLEN. The
 *   interface's snaplen is not enforced (writers routinely put 0 or a smaller number there).
 * - caplen > origlen: warning (origLen taken as caplen) / strict ERR_CAPTURE_ORIGLEN.
 * - an option running past its block: warning, the rest of the options ignored / strict
 *   ERR_PCAPNG_OPTION.
 */
import type { Packet } from '../packet.js';
import { type CaptureInterface, type FormatParser, type ParseContext, type PacketSink, MAX_CAPLEN, recordPacket } from './capture-interface.js';
import { CaptureFormatError } from './errors.js';
import { splitTimestamp, unitsFromTsresol } from './timestamp.js';

export const BLOCK = {
  SHB: 0x0a0d0d0a,
  IDB: 0x00000001,
  PB: 0x00000002,
  SPB: 0x00000003,
  NRB: 0x00000004,
  ISB: 0x00000005,
  EPB: 0x00000006,
  DSB: 0x0000000a,
  CUSTOM: 0x00000bad,
  CUSTOM_NOCOPY: 0x40000bad,
} as const;

export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT = {
  ENDOFOPT: 0,
  COMMENT: 1,
  IF_NAME: 2,
  IF_DESCRIPTION: 3,
  IF_TSRESOL: 9,
  IF_TSOFFSET: 14,
  SHB_USERAPPL: 4,
} as const;

/** Largest block accepted (16 MiB): bounds what one malformed length can make the reader buffer. */
export const MAX_BLOCK_LEN = 16 * 1024 * 1024;

/** Smallest total length per block type (header, fixed fields, trailer). */
const MIN_LEN: Record<number, number> = {
  [BLOCK.SHB]: 28,
  [BLOCK.IDB]: 20,
  [BLOCK.EPB]: 32,
  [BLOCK.PB]: 32,
  [BLOCK.SPB]: 16,
};

/** What the reader keeps per interface beyond the public CaptureInterface. */
interface IfaceState {
  /** Index in `interfaces`. */
  index: number;
  linkType: number;
  snapLen: number;
  units: number;
  /** if_tsoffset: seconds added to every timestamp. */
  tsOffset: number;
}

const utf8 = new TextDecoder('utf-8');

export class PcapngParser implements FormatParser {
  readonly format = 'pcapng' as const;
  nanosecond = false;
  readonly interfaces: CaptureInterface[] = [];
  started = false;
  private le = true;
  /** The current section's interfaces, by section-local id. */
  private section: IfaceState[] = [];
  private sections = 0;
  private origLenWarned = false;

  constructor(private readonly ctx: ParseContext) {}

  get ready(): boolean {
    return this.interfaces.length > 0;
  }

  parse(bytes: Uint8Array, dv: DataView, off: number, end: number, fileOff: number, out: PacketSink, zeroCopy: boolean): number {
    if (end - off < 12) return -12;
    let le = this.le;
    const type = dv.getUint32(off, le); // the SHB type is a palindrome: readable before the byte order is known
    if (type === BLOCK.SHB) {
      const bom = dv.getUint32(off + 8, true);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else {
        throw new CaptureFormatError('ERR_PCAPNG_SECTION', this.ctx.file, fileOff, `section header byte-order magic 0x${bom.toString(16).padStart(8, '0')} is neither 0x1a2b3c4d nor 0x4d3c2b1a`);
      }
    } else if (!this.started) {
      throw new CaptureFormatError('ERR_PCAP_BAD_MAGIC', this.ctx.file, fileOff, `pcapng data does not start with a section header block (type 0x${type.toString(16)})`);
    }
    const len = dv.getUint32(off + 4, le);
    if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_LEN) {
      const why = len < 12 ? 'is below the 12-byte minimum' : len % 4 !== 0 ? 'is not a multiple of 4' : `exceeds the ${MAX_BLOCK_LEN}-byte limit`;
      throw new CaptureFormatError('ERR_PCAPNG_BLOCK_LEN', this.ctx.file, fileOff, `block type 0x${type.toString(16)} length ${len} ${why}`);
    }
    const min = MIN_LEN[type];
    if (min !== undefined && len < min) {
      throw new CaptureFormatError('ERR_PCAPNG_BLOCK_LEN', this.ctx.file, fileOff, `block type 0x${type.toString(16)} length ${len} is below its ${min}-byte minimum`);
    }
    if (end - off < len) return -len;
    const trailer = dv.getUint32(off + len - 4, le);
    if (trailer !== len) {
      throw new CaptureFormatError('ERR_PCAPNG_BLOCK_LEN', this.ctx.file, fileOff, `block type 0x${type.toString(16)} trailing length ${trailer} differs from its leading length ${len}`);
    }
    switch (type) {
      case BLOCK.SHB:
        this.readSection(dv, off, le, fileOff);
        break;
      case BLOCK.IDB:
        this.readInterface(bytes, dv, off, len, fileOff);
        break;
      case BLOCK.EPB:
        this.readPacket(bytes, dv, off, len, fileOff, dv.getUint32(off + 8, le), out, zeroCopy);
        break;
      case BLOCK.PB:
        this.readPacket(bytes, dv, off, len, fileOff, dv.getUint16(off + 8, le), out, zeroCopy);
        break;
      case BLOCK.SPB:
        this.readSimplePacket(bytes, dv, off, len, fileOff, out, zeroCopy);
        break;
      default:
        break; // NRB, ISB, DSB, custom, unknown: skipped
    }
    return len;
  }

  private readSection(dv: DataView, off: number, le: boolean, fileOff: number): void {
    const major = dv.getUint16(off + 12, le);
    if (major !== 1) {
      throw new CaptureFormatError('ERR_PCAPNG_SECTION', this.ctx.file, fileOff, `section header version ${major}.${dv.getUint16(off + 14, le)} is not 1.x`);
    }
    this.le = le;
    this.section = [];
    this.sections++;
    this.started = true;
  }

  private readInterface(bytes: Uint8Array, dv: DataView, off: number, len: number, fileOff: number): void {
    const le = this.le;
    const iface: CaptureInterface = {
      linkType: dv.getUint16(off + 8, le),
      snapLen: dv.getUint32(off + 12, le),
      tsUnits: 1_000_000,
    };
    let tsOffset = 0;
    const stop = off + len - 4;
    for (let p = off + 16; p + 4 <= stop; ) {
      const code = dv.getUint16(p, le);
      const olen = dv.getUint16(p + 2, le);
      if (code === OPT.ENDOFOPT) break;
      if (p + 4 + olen > stop) {
        this.badOption(code, olen, p, stop, fileOff);
        break;
      }
      const v = p + 4;
      switch (code) {
        case OPT.IF_NAME:
          iface.name = utf8.decode(bytes.subarray(v, v + olen));
          break;
        case OPT.IF_DESCRIPTION:
          iface.description = utf8.decode(bytes.subarray(v, v + olen));
          break;
        case OPT.IF_TSRESOL: {
          if (olen < 1) break;
          const units = unitsFromTsresol(bytes[v]!);
          if (units === 0) {
            throw new CaptureFormatError('ERR_PCAPNG_TSRESOL', this.ctx.file, fileOff, `if_tsresol 0x${bytes[v]!.toString(16)} is finer than the supported 10^-15 / 2^-52`);
          }
          iface.tsUnits = units;
          break;
        }
        case OPT.IF_TSOFFSET:
          if (olen >= 8) {
            const lo = dv.getUint32(v + (le ? 0 : 4), le);
            const hi = dv.getInt32(v + (le ? 4 : 0), le);
            tsOffset = hi * 4294967296 + lo;
          }
          break;
        default:
          break;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    const state: IfaceState = {
      index: this.interfaces.length,
      linkType: iface.linkType,
      snapLen: iface.snapLen,
      units: iface.tsUnits,
      tsOffset,
    };
    if (this.interfaces.length === 0) this.nanosecond = iface.tsUnits > 1_000_000;
    this.interfaces.push(iface);
    this.section.push(state);
  }

  /** EPB (id as u32) and obsolete PB (id as u16): same layout from the timestamp on. */
  private readPacket(bytes: Uint8Array, dv: DataView, off: number, len: number, fileOff: number, id: number, out: PacketSink, zeroCopy: boolean): void {
    const le = this.le;
    const ifc = this.section[id];
    if (ifc === undefined) throw this.noInterface(id, fileOff);
    const capLen = dv.getUint32(off + 20, le);
    const room = len - 32;
    if (capLen > room || capLen > MAX_CAPLEN) {
      const problem = capLen > room ? `the block's ${room}-byte data area` : `the ${MAX_CAPLEN}-byte limit`;
      throw new CaptureFormatError('ERR_PCAPNG_CAPLEN', this.ctx.file, fileOff, `packet caplen ${capLen} exceeds ${problem}`);
    }
    let origLen = dv.getUint32(off + 24, le);
    if (capLen > origLen) origLen = this.badOrigLen(capLen, origLen, fileOff);
    const data = off + 28;
    const pkt = this.makePacket(bytes, off, data, capLen, origLen, ifc, zeroCopy);
    splitTimestamp(dv.getUint32(off + 12, le), dv.getUint32(off + 16, le), ifc.units, pkt);
    if (ifc.tsOffset !== 0) pkt.tsSec += ifc.tsOffset;
    const optStart = data + ((capLen + 3) & ~3);
    const stop = off + len - 4;
    if (optStart + 4 <= stop) pkt.comments = this.readComments(bytes, dv, optStart, stop, fileOff);
    out.push(pkt);
  }

  private readSimplePacket(bytes: Uint8Array, dv: DataView, off: number, len: number, fileOff: number, out: PacketSink, zeroCopy: boolean): void {
    const ifc = this.section[0];
    if (ifc === undefined) throw this.noInterface(0, fileOff);
    const origLen = dv.getUint32(off + 8, this.le);
    let capLen = Math.min(origLen, len - 16);
    if (ifc.snapLen > 0 && capLen > ifc.snapLen) capLen = ifc.snapLen;
    if (capLen > MAX_CAPLEN) {
      throw new CaptureFormatError('ERR_PCAPNG_CAPLEN', this.ctx.file, fileOff, `simple packet caplen ${capLen} exceeds the ${MAX_CAPLEN}-byte limit`);
    }
    const pkt = this.makePacket(bytes, off, off + 12, capLen, origLen, ifc, zeroCopy);
    pkt.tsSec = ifc.tsOffset;
    pkt.tsFrac = 0;
    out.push(pkt);
  }

  private makePacket(bytes: Uint8Array, block: number, data: number, capLen: number, origLen: number, ifc: IfaceState, zeroCopy: boolean): Packet {
    const pkt = recordPacket(bytes, block, data, capLen, origLen, zeroCopy, this.ctx.packets);
    pkt.tsUnits = ifc.units;
    pkt.iface = ifc.index;
    pkt.linkType = ifc.linkType;
    return pkt;
  }

  /** opt_comment values of a packet block (null when there are none). */
  private readComments(bytes: Uint8Array, dv: DataView, start: number, stop: number, fileOff: number): string[] | null {
    const le = this.le;
    let comments: string[] | null = null;
    for (let p = start; p + 4 <= stop; ) {
      const code = dv.getUint16(p, le);
      const olen = dv.getUint16(p + 2, le);
      if (code === OPT.ENDOFOPT) break;
      if (p + 4 + olen > stop) {
        this.badOption(code, olen, p, stop, fileOff);
        break;
      }
      if (code === OPT.COMMENT) (comments ??= []).push(utf8.decode(bytes.subarray(p + 4, p + 4 + olen)));
      p += 4 + ((olen + 3) & ~3);
    }
    return comments;
  }

  private noInterface(id: number, fileOff: number): CaptureFormatError {
    return new CaptureFormatError('ERR_PCAPNG_NO_INTERFACE', this.ctx.file, fileOff, `packet block for interface ${id}, but section ${this.sections} defines ${this.section.length} interface(s)`);
  }

  private badOption(code: number, olen: number, p: number, stop: number, fileOff: number): void {
    const problem = `option ${code} length ${olen} runs past the block's end (${stop - p - 4} bytes left)`;
    if (this.ctx.strict) throw new CaptureFormatError('ERR_PCAPNG_OPTION', this.ctx.file, fileOff, problem);
    this.ctx.warn(`${this.ctx.file}: offset ${fileOff}: ${problem}; remaining options ignored`);
  }

  private badOrigLen(capLen: number, origLen: number, fileOff: number): number {
    const problem = `packet caplen ${capLen} exceeds its origlen ${origLen}`;
    if (this.ctx.strict) throw new CaptureFormatError('ERR_CAPTURE_ORIGLEN', this.ctx.file, fileOff, problem);
    if (!this.origLenWarned) {
      this.origLenWarned = true;
      this.ctx.warn(`${this.ctx.file}: offset ${fileOff}: ${problem}; origlen taken as ${capLen} (further such packets not reported)`);
    }
    return capLen;
  }
}
