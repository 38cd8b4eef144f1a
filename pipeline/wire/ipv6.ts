/**
 * IPv6 header and extension-header framing (RFC 8200; AH length per RFC 4302).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                         Source Address (128 bits)             +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                      Destination Address (128 bits)           +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Extension header (hop-by-hop, routing, destination options, mobility):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Header  |  Hdr Ext Len  |  (Hdr Ext Len + 1) * 8 bytes  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Fragment header (8 bytes):
 * |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 * |                         Identification                        |
 * AH (RFC 4302): Payload Len is in 4-byte units minus 2.
 * ```
 *
 * Free functions over `(b, off)`, `off` the absolute offset of the header (or of the extension
 * header for the `ext*` functions).
 */
import { CHECK } from './check.js';
import { u16, setU16, u32, setU32 } from './bytes.js';
import { IP_PROTO } from './ip-proto.js';

export const VER_TC_FLOW = 0;
export const PAYLOAD_LENGTH = 4;
export const NEXT_HEADER = 6;
export const HOP_LIMIT = 7;
export const SRC_ADDR = 8;
export const DST_ADDR = 24;
export const HEADER_LEN = 40;
export const ADDR_LEN = 16;

/** In the first 32-bit word. */
export const VERSION_MASK = 0xf0000000;
export const VERSION_SHIFT = 28;
export const TRAFFIC_CLASS_MASK = 0x0ff00000;
export const TRAFFIC_CLASS_SHIFT = 20;
export const FLOW_LABEL_MASK = 0x000fffff;

/** Extension headers: next header at 0, length at 1. */
export const EXT_NEXT_HEADER = 0;
export const EXT_LENGTH = 1;
/** Smallest extension header (and the fixed fragment header size). */
export const EXT_MIN_LEN = 8;
export const FRAG_HEADER_LEN = 8;
/** In the fragment header: offset/flags word at 2, identification at 4. */
export const FRAG_OFFSET_FLAGS = 2;
export const FRAG_IDENT = 4;
export const FRAG_OFFSET_MASK = 0xfff8;
export const FRAG_OFFSET_SHIFT = 3;
export const FRAG_M = 0x0001;

/** OK when the 40-byte header fits in b[off, end) and the version is 6. */
export function check(b: Uint8Array, off: number, end: number): number {
  if (end > b.length || end - off < HEADER_LEN) return CHECK.TRUNCATED;
  return b[off]! >>> 4 === 6 ? CHECK.OK : CHECK.MALFORMED;
}

export function version(b: Uint8Array, off: number): number {
  return b[off]! >>> 4;
}
export function trafficClass(b: Uint8Array, off: number): number {
  return ((b[off]! & 0x0f) << 4) | (b[off + 1]! >>> 4);
}
export function setTrafficClass(b: Uint8Array, off: number, v: number): void {
  b[off] = (b[off]! & 0xf0) | ((v >>> 4) & 0x0f);
  b[off + 1] = (b[off + 1]! & 0x0f) | ((v & 0x0f) << 4);
}
export function flowLabel(b: Uint8Array, off: number): number {
  return u32(b, off) & FLOW_LABEL_MASK;
}
export function setFlowLabel(b: Uint8Array, off: number, v: number): void {
  b[off + 1] = (b[off + 1]! & 0xf0) | ((v >>> 16) & 0x0f);
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

export function payloadLength(b: Uint8Array, off: number): number {
  return u16(b, off + PAYLOAD_LENGTH);
}
export function setPayloadLength(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + PAYLOAD_LENGTH, v);
}
export function nextHeader(b: Uint8Array, off: number): number {
  return b[off + NEXT_HEADER]!;
}
export function setNextHeader(b: Uint8Array, off: number, v: number): void {
  b[off + NEXT_HEADER] = v;
}
export function hopLimit(b: Uint8Array, off: number): number {
  return b[off + HOP_LIMIT]!;
}
export function setHopLimit(b: Uint8Array, off: number, v: number): void {
  b[off + HOP_LIMIT] = v;
}

/** Copy a 16-byte address from `a[aOff..+16)` into the source / destination field. */
export function setSrcAddr(b: Uint8Array, off: number, a: Uint8Array, aOff = 0): void {
  for (let i = 0; i < ADDR_LEN; i++) b[off + SRC_ADDR + i] = a[aOff + i]!;
}
export function setDstAddr(b: Uint8Array, off: number, a: Uint8Array, aOff = 0): void {
  for (let i = 0; i < ADDR_LEN; i++) b[off + DST_ADDR + i] = a[aOff + i]!;
}

/** True for the extension headers the decoder walks over: HOPOPTS, ROUTING, FRAGMENT, DSTOPTS, AH, MH. */
export function isExtHeader(proto: number): boolean {
  return (
    proto === IP_PROTO.HOPOPTS ||
    proto === IP_PROTO.ROUTING ||
    proto === IP_PROTO.FRAGMENT ||
    proto === IP_PROTO.DSTOPTS ||
    proto === IP_PROTO.AH ||
    proto === IP_PROTO.MH
  );
}

/**
 * Length in bytes of the extension header of type `proto` at `off` (needs 2 readable bytes).
 * FRAGMENT: 8; AH: (len + 2) * 4; others: (len + 1) * 8.
 */
export function extHeaderLen(b: Uint8Array, off: number, proto: number): number {
  if (proto === IP_PROTO.FRAGMENT) return FRAG_HEADER_LEN;
  if (proto === IP_PROTO.AH) return (b[off + EXT_LENGTH]! + 2) << 2;
  return (b[off + EXT_LENGTH]! + 1) << 3;
}
export function extNextHeader(b: Uint8Array, off: number): number {
  return b[off + EXT_NEXT_HEADER]!;
}
export function setExtNextHeader(b: Uint8Array, off: number, v: number): void {
  b[off + EXT_NEXT_HEADER] = v;
}

/** Fragment header at `off`: offset in 8-byte units. */
export function fragOffset(b: Uint8Array, off: number): number {
  return u16(b, off + FRAG_OFFSET_FLAGS) >>> FRAG_OFFSET_SHIFT;
}
/** Fragment header at `off`: more-fragments flag. */
export function fragMore(b: Uint8Array, off: number): boolean {
  return (b[off + FRAG_OFFSET_FLAGS + 1]! & FRAG_M) !== 0;
}
/** Fragment header at `off`: identification. */
export function fragId(b: Uint8Array, off: number): number {
  return u32(b, off + FRAG_IDENT);
}

/** Fields of a new header without extension headers (encapsulation templates, tests). */
export interface Ipv6Fields {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  /** 16-byte addresses. */
  src: Uint8Array;
  dst: Uint8Array;
}

/** Write a 40-byte header. Every byte is written. */
export function emit(b: Uint8Array, off: number, f: Ipv6Fields): void {
  setU32(b, off, (0x60000000 | ((f.trafficClass & 0xff) << TRAFFIC_CLASS_SHIFT) | (f.flowLabel & FLOW_LABEL_MASK)) >>> 0);
  setU16(b, off + PAYLOAD_LENGTH, f.payloadLength);
  b[off + NEXT_HEADER] = f.nextHeader;
  b[off + HOP_LIMIT] = f.hopLimit;
  setSrcAddr(b, off, f.src);
  setDstAddr(b, off, f.dst);
}
