/**
 * MPLS label stack entry (RFC 3032; TC per RFC 5462).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Label                  | TC  |S|       TTL     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Getters/setters work on the LSE at `(b, off)`; `makeLse`/the `lse*` functions work on a u32.
 * The stack has no length field: entries repeat until S (bottom of stack) is set, and the payload
 * type is not signalled (guess it from the first nibble: 4 = IPv4, 6 = IPv6).
 */
import { CHECK } from './check.js';
import { u32, setU32 } from './bytes.js';

export const HEADER_LEN = 4;
export const LSE_LEN = 4;

export const LABEL_MASK = 0xfffff000;
export const LABEL_SHIFT = 12;
export const TC_MASK = 0x00000e00;
export const TC_SHIFT = 9;
export const BOS_MASK = 0x00000100;
export const BOS_SHIFT = 8;
export const TTL_MASK = 0x000000ff;
export const TTL_SHIFT = 0;
export const MAX_LABEL = 0xfffff;

/** Reserved labels (RFC 3032 section 2.1, RFC 7274). */
export const LABEL = {
  IPV4_EXPLICIT_NULL: 0,
  ROUTER_ALERT: 1,
  IPV6_EXPLICIT_NULL: 2,
  IMPLICIT_NULL: 3,
  ENTROPY_INDICATOR: 7,
  GAL: 13,
  OAM_ALERT: 14,
  EXTENSION: 15,
} as const;

/** OK when one LSE fits in b[off, end). */
export function check(b: Uint8Array, off: number, end: number): number {
  return end - off >= LSE_LEN && end <= b.length ? CHECK.OK : CHECK.TRUNCATED;
}

export function readLse(b: Uint8Array, off: number): number {
  return u32(b, off);
}
export function writeLse(b: Uint8Array, off: number, lse: number): void {
  setU32(b, off, lse);
}

/** A label stack entry as a u32. */
export function makeLse(label: number, tcValue: number, bosValue: boolean, ttlValue: number): number {
  return (
    (((label & MAX_LABEL) << LABEL_SHIFT) |
      ((tcValue << TC_SHIFT) & TC_MASK) |
      (bosValue ? BOS_MASK : 0) |
      (ttlValue & TTL_MASK)) >>>
    0
  );
}
export function lseLabel(lse: number): number {
  return lse >>> LABEL_SHIFT;
}
export function lseTc(lse: number): number {
  return (lse & TC_MASK) >>> TC_SHIFT;
}
export function lseBos(lse: number): boolean {
  return (lse & BOS_MASK) !== 0;
}
export function lseTtl(lse: number): number {
  return lse & TTL_MASK;
}

export function label(b: Uint8Array, off: number): number {
  return readLse(b, off) >>> LABEL_SHIFT;
}
export function setLabel(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 12;
  b[off + 1] = v >>> 4;
  b[off + 2] = (b[off + 2]! & 0x0f) | ((v & 0x0f) << 4);
}
export function tc(b: Uint8Array, off: number): number {
  return (b[off + 2]! >>> 1) & 0x07;
}
export function setTc(b: Uint8Array, off: number, v: number): void {
  b[off + 2] = (b[off + 2]! & ~0x0e) | ((v & 0x07) << 1);
}
export function bos(b: Uint8Array, off: number): boolean {
  return (b[off + 2]! & 0x01) !== 0;
}
export function setBos(b: Uint8Array, off: number, v: boolean): void {
  b[off + 2] = v ? b[off + 2]! | 0x01 : b[off + 2]! & ~0x01;
}
export function ttl(b: Uint8Array, off: number): number {
  return b[off + 3]!;
}
export function setTtl(b: Uint8Array, off: number, v: number): void {
  b[off + 3] = v;
}

/** Write one LSE. Every byte is written. */
export function emit(b: Uint8Array, off: number, label: number, tcValue: number, bosValue: boolean, ttlValue: number): void {
  setU32(b, off, makeLse(label, tcValue, bosValue, ttlValue));
}
