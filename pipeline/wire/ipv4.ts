/**
 * IPv4 header (RFC 791; DSCP/ECN per RFC 2474 / RFC 3168).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Flags: bit 0 reserved (must be zero), DF, MF.
 * ```
 *
 * Free functions over `(b, off)`, `off` the absolute offset of the header. Run `check` on untrusted
 * bytes first; after OK every getter reads inside the header. Setters never touch the checksum:
 * call `fillChecksum`, or patch it with `checksum.update16`.
 */
import { CHECK } from './check.js';
import { u16, setU16, u32, setU32 } from './bytes.js';
import { sum16, finish, fold } from './checksum.js';

export const VER_IHL = 0;
export const TOS = 1;
export const TOTAL_LENGTH = 2;
export const IDENT = 4;
export const FLAGS_FRAG = 6;
export const TTL = 8;
export const PROTOCOL = 9;
export const CHECKSUM = 10;
export const SRC_ADDR = 12;
export const DST_ADDR = 16;
export const OPTIONS = 20;
/** Header without options. */
export const HEADER_LEN = 20;
export const MIN_LEN = 20;
/** IHL = 15. */
export const MAX_HEADER_LEN = 60;
export const ADDR_LEN = 4;

export const VERSION_MASK = 0xf0;
export const VERSION_SHIFT = 4;
export const IHL_MASK = 0x0f;
export const DSCP_MASK = 0xfc;
export const DSCP_SHIFT = 2;
export const ECN_MASK = 0x03;
/** In the 16-bit flags/fragment-offset word. */
export const FLAG_RESERVED = 0x8000;
export const FLAG_DF = 0x4000;
export const FLAG_MF = 0x2000;
export const FRAG_OFFSET_MASK = 0x1fff;

/**
 * OK when the fixed header fits in b[off, end), version is 4, IHL >= 5, the whole IHL*4 header
 * fits, and total length >= IHL*4. A total length beyond `end` is not an error here (a
 * snaplen-truncated capture); compare `totalLength` with the captured bytes where it matters.
 */
export function check(b: Uint8Array, off: number, end: number): number {
  if (end > b.length || end - off < HEADER_LEN) return CHECK.TRUNCATED;
  const v = b[off]!;
  if (v >>> 4 !== 4 || (v & IHL_MASK) < 5) return CHECK.MALFORMED;
  const hl = (v & IHL_MASK) << 2;
  if (end - off < hl) return CHECK.TRUNCATED;
  if (u16(b, off + TOTAL_LENGTH) < hl) return CHECK.MALFORMED;
  return CHECK.OK;
}

export function version(b: Uint8Array, off: number): number {
  return b[off + VER_IHL]! >>> VERSION_SHIFT;
}
/** Header length in 32-bit words. */
export function ihl(b: Uint8Array, off: number): number {
  return b[off + VER_IHL]! & IHL_MASK;
}
/** Header length in bytes (IHL * 4). */
export function headerLen(b: Uint8Array, off: number): number {
  return (b[off + VER_IHL]! & IHL_MASK) << 2;
}
/** Set version 4 and the header length in bytes (a multiple of 4, 20..60). */
export function setHeaderLen(b: Uint8Array, off: number, len: number): void {
  b[off + VER_IHL] = 0x40 | ((len >>> 2) & IHL_MASK);
}

export function tos(b: Uint8Array, off: number): number {
  return b[off + TOS]!;
}
export function setTos(b: Uint8Array, off: number, v: number): void {
  b[off + TOS] = v;
}
export function dscp(b: Uint8Array, off: number): number {
  return b[off + TOS]! >>> DSCP_SHIFT;
}
export function ecn(b: Uint8Array, off: number): number {
  return b[off + TOS]! & ECN_MASK;
}

export function totalLength(b: Uint8Array, off: number): number {
  return u16(b, off + TOTAL_LENGTH);
}
export function setTotalLength(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + TOTAL_LENGTH, v);
}

export function id(b: Uint8Array, off: number): number {
  return u16(b, off + IDENT);
}
export function setId(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + IDENT, v);
}

/** The 16-bit flags + fragment offset word. */
export function flagsFrag(b: Uint8Array, off: number): number {
  return u16(b, off + FLAGS_FRAG);
}
export function setFlagsFrag(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + FLAGS_FRAG, v);
}
export function df(b: Uint8Array, off: number): boolean {
  return (b[off + FLAGS_FRAG]! & (FLAG_DF >>> 8)) !== 0;
}
export function setDf(b: Uint8Array, off: number, v: boolean): void {
  const w = flagsFrag(b, off);
  setFlagsFrag(b, off, v ? w | FLAG_DF : w & ~FLAG_DF);
}
export function mf(b: Uint8Array, off: number): boolean {
  return (b[off + FLAGS_FRAG]! & (FLAG_MF >>> 8)) !== 0;
}
export function setMf(b: Uint8Array, off: number, v: boolean): void {
  const w = flagsFrag(b, off);
  setFlagsFrag(b, off, v ? w | FLAG_MF : w & ~FLAG_MF);
}
/** Fragment offset in 8-byte units. */
export function fragOffset(b: Uint8Array, off: number): number {
  return u16(b, off + FLAGS_FRAG) & FRAG_OFFSET_MASK;
}
export function setFragOffset(b: Uint8Array, off: number, v: number): void {
  setFlagsFrag(b, off, (flagsFrag(b, off) & ~FRAG_OFFSET_MASK) | (v & FRAG_OFFSET_MASK));
}
/** MF set or a non-zero fragment offset. */
export function isFragment(b: Uint8Array, off: number): boolean {
  return (u16(b, off + FLAGS_FRAG) & (FLAG_MF | FRAG_OFFSET_MASK)) !== 0;
}

export function ttl(b: Uint8Array, off: number): number {
  return b[off + TTL]!;
}
export function setTtl(b: Uint8Array, off: number, v: number): void {
  b[off + TTL] = v;
}

export function protocol(b: Uint8Array, off: number): number {
  return b[off + PROTOCOL]!;
}
export function setProtocol(b: Uint8Array, off: number, v: number): void {
  b[off + PROTOCOL] = v;
}

export function checksum(b: Uint8Array, off: number): number {
  return u16(b, off + CHECKSUM);
}
export function setChecksum(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + CHECKSUM, v);
}

/** Source address as a u32. The bytes are at off + SRC_ADDR. */
export function srcAddr(b: Uint8Array, off: number): number {
  return u32(b, off + SRC_ADDR);
}
export function setSrcAddr(b: Uint8Array, off: number, v: number): void {
  setU32(b, off + SRC_ADDR, v);
}
export function dstAddr(b: Uint8Array, off: number): number {
  return u32(b, off + DST_ADDR);
}
export function setDstAddr(b: Uint8Array, off: number, v: number): void {
  setU32(b, off + DST_ADDR, v);
}

/** Compute and store the header checksum over IHL*4 bytes. */
export function fillChecksum(b: Uint8Array, off: number): void {
  setU16(b, off + CHECKSUM, 0);
  setU16(b, off + CHECKSUM, finish(sum16(b, off, off + headerLen(b, off))));
}

/** True when the header checksum over IHL*4 bytes is correct. */
export function verifyChecksum(b: Uint8Array, off: number): boolean {
  return fold(sum16(b, off, off + headerLen(b, off))) === 0xffff;
}

/** Fields of a new option-less header (encapsulation templates, tests). */
export interface Ipv4Fields {
  /** DSCP << 2 | ECN. */
  tos: number;
  totalLength: number;
  id: number;
  df: boolean;
  ttl: number;
  protocol: number;
  /** 4-byte addresses. */
  src: Uint8Array;
  dst: Uint8Array;
}

/** Write a 20-byte header without options, checksum filled. Every byte is written. */
export function emit(b: Uint8Array, off: number, f: Ipv4Fields): void {
  b[off + VER_IHL] = 0x45;
  b[off + TOS] = f.tos;
  setU16(b, off + TOTAL_LENGTH, f.totalLength);
  setU16(b, off + IDENT, f.id);
  setU16(b, off + FLAGS_FRAG, f.df ? FLAG_DF : 0);
  b[off + TTL] = f.ttl;
  b[off + PROTOCOL] = f.protocol;
  for (let i = 0; i < ADDR_LEN; i++) {
    b[off + SRC_ADDR + i] = f.src[i]!;
    b[off + DST_ADDR + i] = f.dst[i]!;
  }
  setU16(b, off + CHECKSUM, 0);
  setU16(b, off + CHECKSUM, finish(sum16(b, off, off + HEADER_LEN)));
}
