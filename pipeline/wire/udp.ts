/**
 * UDP header (RFC 768).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Length             |           Checksum            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Checksum rule: a computed 0 is sent as 0xffff (`fillChecksum` applies it); a received 0 means
 * "no checksum" over IPv4 and is invalid over IPv6 (RFC 8200 section 8.1). That policy belongs to
 * the caller of `verifyChecksum`.
 */
import { CHECK } from './check.js';
import { u16, setU16 } from './bytes.js';
import { sum16, finish, fold, udpFinal } from './checksum.js';

export const SRC_PORT = 0;
export const DST_PORT = 2;
export const LENGTH = 4;
export const CHECKSUM = 6;
export const HEADER_LEN = 8;

/**
 * OK when the 8-byte header fits in b[off, end) and the length field is >= 8. A length beyond
 * `end` is not an error here (snaplen truncation).
 */
export function check(b: Uint8Array, off: number, end: number): number {
  if (end > b.length || end - off < HEADER_LEN) return CHECK.TRUNCATED;
  return u16(b, off + LENGTH) >= HEADER_LEN ? CHECK.OK : CHECK.MALFORMED;
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
export function length(b: Uint8Array, off: number): number {
  return u16(b, off + LENGTH);
}
export function setLength(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + LENGTH, v);
}
export function checksum(b: Uint8Array, off: number): number {
  return u16(b, off + CHECKSUM);
}
export function setChecksum(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + CHECKSUM, v);
}

/**
 * Compute and store the checksum over b[off, off+len) plus `pseudo` (an unfolded pseudo-header
 * sum from `checksum.pseudoV4/V6`), applying the 0 -> 0xffff rule.
 */
export function fillChecksum(b: Uint8Array, off: number, len: number, pseudo: number): void {
  setU16(b, off + CHECKSUM, 0);
  setU16(b, off + CHECKSUM, udpFinal(finish(sum16(b, off, off + len, pseudo))));
}

/** True when the checksum over b[off, off+len) plus `pseudo` is correct (a 0 field is NOT special-cased). */
export function verifyChecksum(b: Uint8Array, off: number, len: number, pseudo: number): boolean {
  return fold(sum16(b, off, off + len, pseudo)) === 0xffff;
}

export interface UdpFields {
  srcPort: number;
  dstPort: number;
  length: number;
  /** Usually 0 (none, or filled later) or a pseudo-header sum for CHECKSUM_PARTIAL. */
  checksum: number;
}

/** Write an 8-byte header. Every byte is written. */
export function emit(b: Uint8Array, off: number, f: UdpFields): void {
  setU16(b, off + SRC_PORT, f.srcPort);
  setU16(b, off + DST_PORT, f.dstPort);
  setU16(b, off + LENGTH, f.length);
  setU16(b, off + CHECKSUM, f.checksum);
}
