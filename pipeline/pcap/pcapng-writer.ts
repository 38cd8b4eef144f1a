/**
 * pcapng output: one little-endian section (SHB with shb_userappl "capflow"), an IDB per
 * addInterface, and an EPB per packet with its comments as opt_comment options.
 *
 * Timestamps are written in the interface's own units (if_tsresol): exactly when the packet's
 * tsUnits match, otherwise rescaled toward zero. Units that are neither 10^n nor 2^n cannot be
 * encoded in if_tsresol; such an interface is written with 10^-9.
 */
import type { Packet } from '../packet.js';
import { type CaptureInterface, MAX_CAPLEN } from './capture-interface.js';
import { CaptureWriteError } from './errors.js';
import type { ByteOutput } from './output.js';
import { BLOCK, BYTE_ORDER_MAGIC, OPT } from './pcapng-format.js';
import { type Words64, joinTimestamp, rescaleFraction, tsresolFromUnits } from './timestamp.js';
import type { CaptureWriter, CommentSource, PacketComment, WriteOptions } from './writer.js';
import { WriteBuffer } from './write-buffer.js';

const USERAPPL = 'capflow';
/** Largest option value (16-bit length). */
const MAX_OPTION_LEN = 65535;

const encoder = new TextEncoder();
/** Comment texts whose UTF-8 bytes are kept (per-packet metadata repeats): at most this many, this long. */
const ENCODED_CACHE_ENTRIES = 1024;
const ENCODED_CACHE_MAX_CHARS = 256;

export class PcapngWriter implements CaptureWriter {
  packetsWritten = 0;
  readonly packetsShared = 0;
  private readonly b: WriteBuffer;
  private readonly snapLimit: number;
  /** Units per second of each output interface. */
  private readonly units: number[] = [];
  private readonly ts: Words64 = { hi: 0, lo: 0 };
  /** UTF-8 of recent short option values (cleared when full). */
  private readonly encoded = new Map<string, Uint8Array>();

  constructor(out: ByteOutput, opts: WriteOptions) {
    this.b = new WriteBuffer(out);
    this.snapLimit = opts.snapLen !== undefined && opts.snapLen > 0 ? opts.snapLen : 0;
    this.writeSectionHeader();
  }

  get bytesWritten(): number {
    return this.b.bytesWritten;
  }

  addInterface(iface: CaptureInterface): number {
    let tsresol = tsresolFromUnits(iface.tsUnits);
    let units = iface.tsUnits;
    if (tsresol < 0) {
      tsresol = 9;
      units = 1_000_000_000;
    }
    const b = this.b;
    // As for pcap: stages grow packets, so a snaplen is never written below 262144 unless
    // opts.snapLen asks for it (packets are then cut to it). 0 (no limit) stays 0.
    const snapLen = this.snapLimit > 0 ? this.snapLimit : iface.snapLen === 0 ? 0 : Math.max(iface.snapLen, MAX_CAPLEN);
    b.reserve(20 + 8 + 4 + maxStringOption(iface.name) + maxStringOption(iface.description));
    const start = b.pos;
    const dv = b.dv;
    dv.setUint32(start, BLOCK.IDB, true);
    dv.setUint16(start + 8, iface.linkType, true);
    dv.setUint16(start + 10, 0, true);
    dv.setUint32(start + 12, snapLen, true);
    b.pos = start + 16;
    if (iface.name !== undefined) this.stringOption(OPT.IF_NAME, iface.name);
    if (iface.description !== undefined) this.stringOption(OPT.IF_DESCRIPTION, iface.description);
    if (tsresol !== 6) {
      dv.setUint16(b.pos, OPT.IF_TSRESOL, true);
      dv.setUint16(b.pos + 2, 1, true);
      b.pos += 4;
      b.buf[b.pos++] = tsresol;
      b.zero(3);
    }
    this.endBlock(start, b.pos > start + 16);
    this.units.push(units);
    return this.units.length - 1;
  }

  write(pkt: Packet, ifaceId: number, comments: readonly PacketComment[] | null): boolean {
    const units = this.units[ifaceId];
    if (units === undefined) {
      throw new CaptureWriteError('ERR_CAPTURE_BAD_INTERFACE', this.b.out.name, `write to interface ${ifaceId}, but the output has ${this.units.length} interface(s)`);
    }
    const frac = pkt.tsUnits === units ? pkt.tsFrac : rescaleFraction(pkt.tsFrac, pkt.tsUnits, units);
    if (!joinTimestamp(pkt.tsSec, frac, units, this.ts)) {
      throw new CaptureWriteError('ERR_CAPTURE_TIMESTAMP_RANGE', this.b.out.name, `timestamp ${pkt.tsSec} s + ${frac}/${units} does not fit a 64-bit pcapng timestamp`);
    }
    let capLen = pkt.tail - pkt.head;
    if (this.snapLimit > 0 && capLen > this.snapLimit) capLen = this.snapLimit;
    // A 32-bit field: a stage growing a frame whose origlen already is 2^32 − 1 must not wrap it.
    const origLen = pkt.origLen > capLen ? Math.min(pkt.origLen, 0xffffffff) : capLen;
    const padded = (capLen + 3) & ~3;
    let optRoom = 0;
    if (comments !== null && comments.length > 0) {
      for (let i = 0; i < comments.length; i++) {
        const c = comments[i]!;
        optRoom += typeof c === 'string' ? maxStringOption(c) : 4 + ((c.maxCommentBytes + 3) & ~3);
      }
      optRoom += 4;
    }
    const b = this.b;
    b.reserve(32 + padded + optRoom);
    const dv = b.dv;
    const start = b.pos;
    dv.setUint32(start, BLOCK.EPB, true);
    dv.setUint32(start + 8, ifaceId, true);
    dv.setUint32(start + 12, this.ts.hi, true);
    dv.setUint32(start + 16, this.ts.lo, true);
    dv.setUint32(start + 20, capLen, true);
    dv.setUint32(start + 24, origLen, true);
    b.copyIn(pkt.buf, pkt.head, capLen, start + 28);
    b.pos = start + 28 + capLen;
    b.zero(padded - capLen);
    if (optRoom > 0) {
      for (let i = 0; i < comments!.length; i++) {
        const c = comments![i]!;
        if (typeof c === 'string') this.stringOption(OPT.COMMENT, c);
        else this.sourceOption(OPT.COMMENT, c);
      }
    }
    this.endBlock(start, optRoom > 0);
    this.packetsWritten++;
    return !b.needDrain;
  }

  flush(): Promise<void> {
    return this.b.flush();
  }

  async close(): Promise<void> {
    if (this.b.closed) return;
    await this.b.flush();
    this.b.release();
    await this.b.out.end();
  }

  async abort(): Promise<void> {
    this.b.release();
    await this.b.out.abort();
  }

  private writeSectionHeader(): void {
    const b = this.b;
    b.reserve(28 + maxStringOption(USERAPPL) + 4);
    const dv = b.dv;
    const start = b.pos;
    dv.setUint32(start, BLOCK.SHB, true);
    dv.setUint32(start + 8, BYTE_ORDER_MAGIC, true);
    dv.setUint16(start + 12, 1, true);
    dv.setUint16(start + 14, 0, true);
    dv.setInt32(start + 16, -1, true); // section length: not specified
    dv.setInt32(start + 20, -1, true);
    b.pos = start + 24;
    this.stringOption(OPT.SHB_USERAPPL, USERAPPL);
    this.endBlock(start, true);
  }

  /** A UTF-8 option at pos (value cut at a character boundary to 65535 bytes), padded. */
  private stringOption(code: number, value: string): void {
    const b = this.b;
    const p = b.pos;
    let written: number;
    if (value.length <= ENCODED_CACHE_MAX_CHARS) {
      let bytes = this.encoded.get(value);
      if (bytes === undefined) {
        bytes = encoder.encode(value);
        if (this.encoded.size >= ENCODED_CACHE_ENTRIES) this.encoded.clear();
        this.encoded.set(value, bytes);
      }
      b.buf.set(bytes, p + 4);
      written = bytes.length;
    } else {
      const room = Math.min(MAX_OPTION_LEN, value.length * 3);
      written = encoder.encodeInto(value, b.buf.subarray(p + 4, p + 4 + room)).written;
    }
    b.dv.setUint16(p, code, true);
    b.dv.setUint16(p + 2, written, true);
    b.pos = p + 4 + written;
    b.zero(((written + 3) & ~3) - written);
  }

  /** An option whose value the source writes in place (room for maxCommentBytes was reserved). */
  private sourceOption(code: number, source: CommentSource): void {
    const b = this.b;
    const p = b.pos;
    const written = source.writeComment(b.buf, p + 4) - (p + 4);
    b.dv.setUint16(p, code, true);
    b.dv.setUint16(p + 2, written, true);
    b.pos = p + 4 + written;
    b.zero(((written + 3) & ~3) - written);
  }

  /** Close the block opened at `start`: opt_endofopt if options were written, trailer, both lengths. */
  private endBlock(start: number, hadOptions: boolean): void {
    const b = this.b;
    if (hadOptions) {
      b.dv.setUint32(b.pos, 0, true);
      b.pos += 4;
    }
    const len = b.pos + 4 - start;
    b.dv.setUint32(start + 4, len, true);
    b.dv.setUint32(b.pos, len, true);
    b.pos += 4;
  }
}

/** Bytes a string option can take at most (header + UTF-8 + padding). */
function maxStringOption(s: string | undefined): number {
  if (s === undefined) return 0;
  return 4 + ((Math.min(MAX_OPTION_LEN, s.length * 3) + 3) & ~3);
}
