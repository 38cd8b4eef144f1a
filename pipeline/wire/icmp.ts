/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443) common header: the first 4 bytes are the same.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Rest of header (type specific)            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * ICMP's checksum covers the message only; ICMPv6's also covers the IPv6 pseudo-header
 * (pass `checksum.pseudoV6(...)` as `pseudo`, 0 for ICMPv4).
 */
import { CHECK } from './check.js';
import { u16, setU16, u32 } from './bytes.js';
import { sum16, finish, fold } from './checksum.js';

export const TYPE = 0;
export const CODE = 1;
export const CHECKSUM = 2;
export const REST = 4;
/** Type, code, checksum and the 4-byte rest of header. */
export const HEADER_LEN = 8;

export const ICMPV4_TYPE = {
  ECHO_REPLY: 0,
  DEST_UNREACH: 3,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAM_PROBLEM: 12,
} as const;

export const ICMPV6_TYPE = {
  DEST_UNREACH: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAM_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ROUTER_SOLICIT: 133,
  ROUTER_ADVERT: 134,
  NEIGHBOR_SOLICIT: 135,
  NEIGHBOR_ADVERT: 136,
} as const;

/** OK when the 8-byte header fits in b[off, end). */
export function check(b: Uint8Array, off: number, end: number): number {
  return end - off >= HEADER_LEN && end <= b.length ? CHECK.OK : CHECK.TRUNCATED;
}

export function type(b: Uint8Array, off: number): number {
  return b[off + TYPE]!;
}
export function setType(b: Uint8Array, off: number, v: number): void {
  b[off + TYPE] = v;
}
export function code(b: Uint8Array, off: number): number {
  return b[off + CODE]!;
}
export function setCode(b: Uint8Array, off: number, v: number): void {
  b[off + CODE] = v;
}
export function checksum(b: Uint8Array, off: number): number {
  return u16(b, off + CHECKSUM);
}
export function setChecksum(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + CHECKSUM, v);
}
/** The 32-bit rest of header (echo id/seq, next-hop MTU, pointer...). */
export function rest(b: Uint8Array, off: number): number {
  return u32(b, off + REST);
}

/** Compute and store the checksum over b[off, off+len) plus `pseudo`. */
export function fillChecksum(b: Uint8Array, off: number, len: number, pseudo = 0): void {
  setU16(b, off + CHECKSUM, 0);
  setU16(b, off + CHECKSUM, finish(sum16(b, off, off + len, pseudo)));
}
export function verifyChecksum(b: Uint8Array, off: number, len: number, pseudo = 0): boolean {
  return fold(sum16(b, off, off + len, pseudo)) === 0xffff;
}
