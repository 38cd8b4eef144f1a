/**
 * TCP header (RFC 9293; ECE/CWR per RFC 3168; MSS option per RFC 9293 section 3.2).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           [Options]                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Free functions over `(b, off)`, `off` the absolute offset of the header.
 */
import { CHECK } from './check.js';
import { u16, setU16, u32, setU32 } from './bytes.js';
import { sum16, finish, fold } from './checksum.js';

export const SRC_PORT = 0;
export const DST_PORT = 2;
export const SEQ_NUM = 4;
export const ACK_NUM = 8;
export const DATA_OFF = 12;
export const FLAGS = 13;
export const WINDOW = 14;
export const CHECKSUM = 16;
export const URGENT = 18;
export const OPTIONS = 20;
/** Header without options. */
export const HEADER_LEN = 20;
export const MIN_LEN = 20;
/** Data offset = 15. */
export const MAX_HEADER_LEN = 60;

export const DATA_OFF_MASK = 0xf0;
export const DATA_OFF_SHIFT = 4;

/** Bits of the flags byte (offset 13). */
export const TCP_FLAG = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Option kinds. */
export const OPT = {
  END: 0,
  NOP: 1,
  MSS: 2,
  WSCALE: 3,
  SACK_PERM: 4,
  SACK: 5,
  TIMESTAMP: 8,
} as const;
export const MSS_OPT_LEN = 4;

/**
 * OK when the 20-byte header fits in b[off, end), data offset >= 5, and the whole header
 * (options included) fits.
 */
export function check(b: Uint8Array, off: number, end: number): number {
  if (end > b.length || end - off < HEADER_LEN) return CHECK.TRUNCATED;
  const hl = headerLen(b, off);
  if (hl < HEADER_LEN) return CHECK.MALFORMED;
  return end - off < hl ? CHECK.TRUNCATED : CHECK.OK;
}

export function srcPort(b: Uint8Array, off: number): number {
  return u16(b, off + SRC_PORT);
}
export function setSrcPort(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + SRC_PORT, v);
}
export function dstPort(b: Uint8Array, off: number): number {
  return u16(b, off + DST_PORT);
}
export function setDstPort(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + DST_PORT, v);
}
export function seq(b: Uint8Array, off: number): number {
  return u32(b, off + SEQ_NUM);
}
export function setSeq(b: Uint8Array, off: number, v: number): void {
  setU32(b, off + SEQ_NUM, v);
}
export function ack(b: Uint8Array, off: number): number {
  return u32(b, off + ACK_NUM);
}
export function setAck(b: Uint8Array, off: number, v: number): void {
  setU32(b, off + ACK_NUM, v);
}
/** Data offset in 32-bit words. */
export function dataOffset(b: Uint8Array, off: number): number {
  return b[off + DATA_OFF]! >>> DATA_OFF_SHIFT;
}
/** Header length in bytes (data offset * 4). */
export function headerLen(b: Uint8Array, off: number): number {
  return (b[off + DATA_OFF]! >>> DATA_OFF_SHIFT) << 2;
}
/** Set the header length in bytes (a multiple of 4, 20..60); the reserved bits are kept. */
export function setHeaderLen(b: Uint8Array, off: number, len: number): void {
  b[off + DATA_OFF] = (b[off + DATA_OFF]! & ~DATA_OFF_MASK) | (((len >>> 2) << DATA_OFF_SHIFT) & DATA_OFF_MASK);
}
/** The flags byte (TCP_FLAG bits). */
export function flags(b: Uint8Array, off: number): number {
  return b[off + FLAGS]!;
}
export function setFlags(b: Uint8Array, off: number, v: number): void {
  b[off + FLAGS] = v;
}
export function window(b: Uint8Array, off: number): number {
  return u16(b, off + WINDOW);
}
export function setWindow(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + WINDOW, v);
}
export function checksum(b: Uint8Array, off: number): number {
  return u16(b, off + CHECKSUM);
}
export function setChecksum(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + CHECKSUM, v);
}
export function urgentPtr(b: Uint8Array, off: number): number {
  return u16(b, off + URGENT);
}
export function setUrgentPtr(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + URGENT, v);
}

/**
 * Absolute offset of the first option of kind `kind` in the options of the header at `off`
 * (`hdrLen` = header length in bytes, options at off+20 .. off+hdrLen), or -1 when absent or
 * when the option list is malformed before reaching it. The whole option lies inside the header.
 */
export function findOption(b: Uint8Array, off: number, hdrLen: number, kind: number): number {
  const end = off + hdrLen;
  let i = off + OPTIONS;
  while (i < end) {
    const k = b[i]!;
    if (k === OPT.END) return -1;
    if (k === OPT.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return -1;
    const len = b[i + 1]!;
    if (len < 2 || i + len > end) return -1;
    if (k === kind) return i;
    i += len;
  }
  return -1;
}

/**
 * Absolute offset of the MSS option (its kind byte; the 16-bit value is at +2, read it with
 * `mssValue`) or -1 when absent or malformed.
 */
export function findMssOption(b: Uint8Array, off: number, hdrLen: number): number {
  const o = findOption(b, off, hdrLen, OPT.MSS);
  return o >= 0 && b[o + 1] === MSS_OPT_LEN ? o : -1;
}
/** The MSS value of the option at `optOff` (from `findMssOption`). */
export function mssValue(b: Uint8Array, optOff: number): number {
  return u16(b, optOff + 2);
}
export function setMssValue(b: Uint8Array, optOff: number, v: number): void {
  setU16(b, optOff + 2, v);
}

/** Compute and store the checksum over b[off, off+len) (header + payload) plus `pseudo`. */
export function fillChecksum(b: Uint8Array, off: number, len: number, pseudo: number): void {
  setU16(b, off + CHECKSUM, 0);
  setU16(b, off + CHECKSUM, finish(sum16(b, off, off + len, pseudo)));
}

/** True when the checksum over b[off, off+len) plus `pseudo` is correct. */
export function verifyChecksum(b: Uint8Array, off: number, len: number, pseudo: number): boolean {
  return fold(sum16(b, off, off + len, pseudo)) === 0xffff;
}

/** Fields of a new option-less header (tests, synthetic packets). */
export interface TcpFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  checksum: number;
  urgentPtr: number;
}

/** Write a 20-byte header (data offset 5, reserved bits 0). Every byte is written. */
export function emit(b: Uint8Array, off: number, f: TcpFields): void {
  setU16(b, off + SRC_PORT, f.srcPort);
  setU16(b, off + DST_PORT, f.dstPort);
  setU32(b, off + SEQ_NUM, f.seq);
  setU32(b, off + ACK_NUM, f.ack);
  b[off + DATA_OFF] = 5 << DATA_OFF_SHIFT;
  b[off + FLAGS] = f.flags;
  setU16(b, off + WINDOW, f.window);
  setU16(b, off + CHECKSUM, f.checksum);
  setU16(b, off + URGENT, f.urgentPtr);
}
