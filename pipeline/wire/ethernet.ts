/**
 * Ethernet II header (IEEE 802.3 / RFC 894).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination MAC address                    |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                      Source MAC address                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           EtherType           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Free functions over `(b, off)` with `off` the absolute offset of the header in `b`. No FCS:
 * captures do not carry it (LINKTYPE_ETHERNET).
 */
import { CHECK } from './check.js';
import { u16, setU16 } from './bytes.js';

export const DST = 0;
export const SRC = 6;
export const ETHER_TYPE = 12;
export const ADDR_LEN = 6;
export const HEADER_LEN = 14;

/** OK when a whole Ethernet header fits in b[off, end). */
export function check(b: Uint8Array, off: number, end: number): number {
  return end - off >= HEADER_LEN && end <= b.length ? CHECK.OK : CHECK.TRUNCATED;
}

export function etherType(b: Uint8Array, off: number): number {
  return u16(b, off + ETHER_TYPE);
}
export function setEtherType(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + ETHER_TYPE, v);
}

/** Copy a 6-byte MAC address (from `mac[macOff..+6)`) into the destination field. */
export function setDst(b: Uint8Array, off: number, mac: Uint8Array, macOff = 0): void {
  for (let i = 0; i < ADDR_LEN; i++) b[off + DST + i] = mac[macOff + i]!;
}
export function setSrc(b: Uint8Array, off: number, mac: Uint8Array, macOff = 0): void {
  for (let i = 0; i < ADDR_LEN; i++) b[off + SRC + i] = mac[macOff + i]!;
}

/** Group bit of the destination (multicast or broadcast). */
export function isMulticastDst(b: Uint8Array, off: number): boolean {
  return (b[off + DST]! & 0x01) !== 0;
}

/** Write a whole header: 14 bytes. `dst`/`src` are 6-byte addresses. */
export function emit(b: Uint8Array, off: number, dst: Uint8Array, src: Uint8Array, type: number): void {
  setDst(b, off, dst);
  setSrc(b, off, src);
  setU16(b, off + ETHER_TYPE, type);
}
