/**
 * IEEE 802.1Q / 802.1ad VLAN tag, as it sits in a frame: TPID + TCI, 4 bytes, inserted where the
 * EtherType was (so the EtherType of the payload follows the tag).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   TPID (0x8100 / 0x88a8)      | PCP |D|         VID           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * `off` is the absolute offset of the TPID (for the first tag, Ethernet offset + 12).
 */
import { CHECK } from './check.js';
import { u16, setU16 } from './bytes.js';
import { ETHER_TYPE } from './ether-type.js';

export const TPID = 0;
export const TCI = 2;
export const HEADER_LEN = 4;

export const PCP_MASK = 0xe000;
export const PCP_SHIFT = 13;
export const DEI_MASK = 0x1000;
export const DEI_SHIFT = 12;
export const VID_MASK = 0x0fff;
export const VID_SHIFT = 0;

/** True for the TPIDs the decoder treats as a VLAN tag: 0x8100, 0x88a8, 0x9100. */
export function isVlanTpid(t: number): boolean {
  return t === ETHER_TYPE.VLAN || t === ETHER_TYPE.QINQ || t === ETHER_TYPE.QINQ_OLD;
}

/** OK when a whole tag fits in b[off, end). */
export function check(b: Uint8Array, off: number, end: number): number {
  return end - off >= HEADER_LEN && end <= b.length ? CHECK.OK : CHECK.TRUNCATED;
}

export function tpid(b: Uint8Array, off: number): number {
  return u16(b, off + TPID);
}
export function setTpid(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + TPID, v);
}
export function tci(b: Uint8Array, off: number): number {
  return u16(b, off + TCI);
}
export function setTci(b: Uint8Array, off: number, v: number): void {
  setU16(b, off + TCI, v);
}

export function pcp(b: Uint8Array, off: number): number {
  return (tci(b, off) & PCP_MASK) >>> PCP_SHIFT;
}
export function setPcp(b: Uint8Array, off: number, v: number): void {
  setTci(b, off, (tci(b, off) & ~PCP_MASK) | ((v << PCP_SHIFT) & PCP_MASK));
}
export function dei(b: Uint8Array, off: number): boolean {
  return (tci(b, off) & DEI_MASK) !== 0;
}
export function setDei(b: Uint8Array, off: number, v: boolean): void {
  setTci(b, off, v ? tci(b, off) | DEI_MASK : tci(b, off) & ~DEI_MASK);
}
export function vid(b: Uint8Array, off: number): number {
  return tci(b, off) & VID_MASK;
}
export function setVid(b: Uint8Array, off: number, v: number): void {
  setTci(b, off, (tci(b, off) & ~VID_MASK) | (v & VID_MASK));
}

/** TCI from its fields. */
export function makeTci(pcpValue: number, deiValue: boolean, vidValue: number): number {
  return ((pcpValue << PCP_SHIFT) & PCP_MASK) | (deiValue ? DEI_MASK : 0) | (vidValue & VID_MASK);
}

/** Write a whole tag: 4 bytes. */
export function emit(b: Uint8Array, off: number, tpidValue: number, tciValue: number): void {
  setU16(b, off + TPID, tpidValue);
  setU16(b, off + TCI, tciValue);
}
