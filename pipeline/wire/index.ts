/**
 * Wire formats: one module per header, each a set of allocation-free free functions over
 * `(b: Uint8Array, off: number)` with `off` an absolute offset (smoltcp `src/wire`, gVisor
 * `header`).
 *
 * Contract:
 * - Getters and setters read and write big-endian fields by byte index and never allocate.
 * - They do not check bounds. Run the module's `check(b, off, end)` (or the decoder) on untrusted
 *   bytes first; after CHECK.OK every getter of that header reads in range.
 * - Setters never fix checksums. Use `checksum.update16/update32` for single-field edits and the
 *   modules' `fillChecksum` when re-summing.
 * - `emit` writes every byte of a new header (buffers are reused and hold stale bytes). Never
 *   parse -> emit to rewrite an existing header: mutate it in place.
 */
export * as checksum from './checksum.js';
export * as ethernet from './ethernet.js';
export * as vlan from './vlan.js';
export * as mpls from './mpls.js';
export * as ipv4 from './ipv4.js';
export * as ipv6 from './ipv6.js';
export * as tcp from './tcp.js';
export * as udp from './udp.js';
export * as vxlan from './vxlan.js';
export * as icmp from './icmp.js';
export * as ipAddress from './ip-address.js';
export { CHECK, type CheckStatus } from './check.js';
export { ETHER_TYPE, type EtherType } from './ether-type.js';
export { IP_PROTO, type IpProto } from './ip-proto.js';
export { TCP_FLAG } from './tcp.js';
