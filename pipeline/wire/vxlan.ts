/**
 * VXLAN header (RFC 7348), with the Group Policy extension bits (draft-smith-vxlan-group-policy,
 * Linux VXLAN_F_GBP).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |G|R|R|R|I|R|R|R|R|D|R|R|A|R|R|R|        Group Policy ID        |   word0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          VXLAN Network Identifier (VNI)       |   Reserved    |   word1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Plain RFC 7348 uses only I (VNI valid); the G/D/A bits and the policy ID are meaningful only
 * when GBP is configured. Which UDP port carries VXLAN is a stage/pipeline setting, not a global.
 */
import { CHECK } from './check.js';
import { u32, setU32 } from './bytes.js';

export const FLAGS = 0;
export const VNI = 4;
export const HEADER_LEN = 8;
/** IANA port (RFC 7348); stages take the port set from their configuration. */
export const DEFAULT_PORT = 4789;
/**
 * UDP destination ports taken as VXLAN unless the pipeline says otherwise (its `vxlanPorts`),
 * one list for decap, egress, checksum repair, `info` and `diff`: IANA 4789 and 8472, the
 * default port of the Linux vxlan driver (drivers/net/vxlan/vxlan_core.c, `vxlan_port`).
 */
export const DEFAULT_PORTS: readonly number[] = [DEFAULT_PORT, 8472];

/** word0 bits. */
export const FLAG_I = 0x08000000;
export const FLAG_G = 0x80000000;
export const FLAG_D = 0x00400000;
export const FLAG_A = 0x00080000;
export const POLICY_MASK = 0x0000ffff;
/** word1: VNI in the top 24 bits. */
export const VNI_MASK = 0xffffff00;
export const VNI_SHIFT = 8;
export const MAX_VNI = 0xffffff;

/** OK when the 8-byte header fits in b[off, end). Flag policy (I set, reserved bits) is the caller's. */
export function check(b: Uint8Array, off: number, end: number): number {
  return end - off >= HEADER_LEN && end <= b.length ? CHECK.OK : CHECK.TRUNCATED;
}

export function word0(b: Uint8Array, off: number): number {
  return u32(b, off + FLAGS);
}
export function setWord0(b: Uint8Array, off: number, v: number): void {
  setU32(b, off + FLAGS, v);
}
export function word1(b: Uint8Array, off: number): number {
  return u32(b, off + VNI);
}
export function setWord1(b: Uint8Array, off: number, v: number): void {
  setU32(b, off + VNI, v);
}
/** True when the I flag (VNI valid) is set. */
export function hasVni(b: Uint8Array, off: number): boolean {
  return (word0(b, off) & FLAG_I) !== 0;
}
export function vni(b: Uint8Array, off: number): number {
  return word1(b, off) >>> VNI_SHIFT;
}
/** Set the VNI, keeping the reserved low byte of word1. */
export function setVni(b: Uint8Array, off: number, v: number): void {
  setWord1(b, off, (((v & MAX_VNI) << VNI_SHIFT) | (b[off + VNI + 3]! & 0xff)) >>> 0);
}
/** GBP policy ID (low 16 bits of word0). */
export function policyId(b: Uint8Array, off: number): number {
  return word0(b, off) & POLICY_MASK;
}

/**
 * Write an 8-byte header: word0 = FLAG_I | word0Extra (GBP bits and policy ID, or 0),
 * word1 = vni << 8. Every byte is written.
 */
export function emit(b: Uint8Array, off: number, vniValue: number, word0Extra = 0): void {
  setU32(b, off + FLAGS, (FLAG_I | word0Extra) >>> 0);
  setU32(b, off + VNI, ((vniValue & MAX_VNI) << VNI_SHIFT) >>> 0);
}
