/**
 * Flow hashing for tunnel entropy: capflow's `skb_get_hash` and `udp_flow_src_port`
 * (include/net/udp.h).
 *
 * The kernel hashes the flow-dissector keys (addresses, L4 ports, IP protocol) with jhash and a
 * per-boot random seed, after `__flow_hash_consistentify` put the keys in a canonical order
 * (lower address first, ports swapped along with the addresses, ports sorted when the addresses
 * are equal), so both directions of a connection get the same hash. capflow does the same
 * canonicalisation but with a fixed seed (Murmur3-32 mixing), so its ports are reproducible
 * from run to run, symmetric per flow, and not equal to any particular kernel's.
 *
 * Keys used: IPv4/IPv6 source and destination (after VLAN tags), IP protocol, and TCP/UDP
 * ports (not for fragments, as the kernel's dissector, which stops at fragments). ICMP and
 * other protocols hash the addresses and protocol only. IPv6 flow labels are not hashed.
 * Frames that are not IP hash both MAC addresses (in canonical order) and the EtherType, like
 * the kernel's Ethernet fallback in udp_flow_src_port.
 */
import { NO_OFFSET } from './packet.js';
import type { Layers } from './decode.js';
import { ETHER_TYPE } from './wire/ether-type.js';
import { IP_PROTO } from './wire/ip-proto.js';
import * as ipv4 from './wire/ipv4.js';
import * as ipv6 from './wire/ipv6.js';

const SEED = 0x6361_7066; // "capf"

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The hash's 32 bits as a signed 32-bit integer (callers take `>>> 0` for the unsigned value). */
function finalize(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function word(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) | 0;
}

/** -1 / 0 / 1: compare n bytes at a and c. */
function compareBytes(b: Uint8Array, a: number, c: number, n: number): number {
  for (let i = 0; i < n; i++) {
    const d = b[a + i]! - b[c + i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * Symmetric 32-bit flow hash (never 0, like the kernel's) of the frame whose headers `L`
 * holds (decoded from `b`), unsigned. Allocates nothing.
 */
export function flowHash(b: Uint8Array, L: Layers): number {
  return flowHashBits(b, L) >>> 0;
}

/**
 * flowHash's 32 bits as a signed 32-bit integer: `flowHashBits(b, L) >>> 0 === flowHash(b, L)`.
 * What the per-packet path takes (udpFlowSrcPort reads the bits): V8 returns an int32 from a call
 * as it is, an unsigned value of 2^31 or more as a heap number (half of all hashes; 5 MB of
 * garbage per GB of vxlan-encap).
 */
export function flowHashBits(b: Uint8Array, L: Layers): number {
  let h = SEED;
  const net = L.netOff;
  const v4 = net !== NO_OFFSET && L.netProto === ETHER_TYPE.IPV4;
  const v6 = net !== NO_OFFSET && L.netProto === ETHER_TYPE.IPV6;
  if (!v4 && !v6) {
    const mac = L.macOff;
    if (mac === NO_OFFSET) return 1;
    // Dst and src MAC (6 bytes each) in canonical order, then the EtherType.
    const swap = compareBytes(b, mac, mac + 6, 6) > 0;
    const first = swap ? mac + 6 : mac;
    const second = swap ? mac : mac + 6;
    h = mix(h, ((b[first]! << 24) | (b[first + 1]! << 16) | (b[first + 2]! << 8) | b[first + 3]!) | 0);
    h = mix(h, ((b[first + 4]! << 24) | (b[first + 5]! << 16) | (b[second]! << 8) | b[second + 1]!) | 0);
    h = mix(h, ((b[second + 2]! << 24) | (b[second + 3]! << 16) | (b[second + 4]! << 8) | b[second + 5]!) | 0);
    h = mix(h, L.etherType);
    return finalize(h, 16) || 1;
  }
  const srcOff = net + (v4 ? ipv4.SRC_ADDR : ipv6.SRC_ADDR);
  const dstOff = net + (v4 ? ipv4.DST_ADDR : ipv6.DST_ADDR);
  let sport = 0;
  let dport = 0;
  const proto = L.l4Proto;
  if (!L.isFragment && L.transOff !== NO_OFFSET && L.l4HdrLen > 0 && (proto === IP_PROTO.TCP || proto === IP_PROTO.UDP)) {
    sport = (b[L.transOff]! << 8) | b[L.transOff + 1]!;
    dport = (b[L.transOff + 2]! << 8) | b[L.transOff + 3]!;
  }
  // __flow_hash_consistentify: lower address first; equal addresses → lower port first. The
  // addresses compare as big-endian words read once (the order of their bytes), each word
  // unsigned.
  const ports = ((sport << 16) | dport) | 0;
  const swapped = ((dport << 16) | sport) | 0;
  if (v4) {
    const s = word(b, srcOff);
    const d = word(b, dstOff);
    const swap = s >>> 0 > d >>> 0 || (s === d && sport > dport);
    h = mix(mix(h, swap ? d : s), swap ? s : d);
    h = mix(h, swap ? swapped : ports);
    h = mix(h, proto & 0xff);
    return finalize(h, 16) || 1;
  }
  let cmp = 0;
  for (let i = 0; i < 16 && cmp === 0; i += 4) {
    const s = word(b, srcOff + i) >>> 0;
    const d = word(b, dstOff + i) >>> 0;
    if (s !== d) cmp = s < d ? -1 : 1;
  }
  const swap = cmp > 0 || (cmp === 0 && sport > dport);
  const a = swap ? dstOff : srcOff;
  const c = swap ? srcOff : dstOff;
  for (let i = 0; i < 16; i += 4) h = mix(h, word(b, a + i));
  for (let i = 0; i < 16; i += 4) h = mix(h, word(b, c + i));
  h = mix(h, swap ? swapped : ports);
  h = mix(h, proto & 0xff);
  return finalize(h, 40) || 1;
}

/**
 * `udp_flow_src_port`: fold the hash (h ^= h << 16, 32-bit) and scale it into [min, max):
 * ((h * (max - min)) >> 32) + min. `max` is exclusive: [32768, 61000] yields 32768..60999, and
 * the kernel's own default (ip_local_port_range 32768 60999) yields 32768..60998.
 */
export function udpFlowSrcPort(hash: number, min: number, max: number): number {
  // `hash` signed or unsigned: the same 32 bits.
  const h = (hash ^ (hash << 16)) >>> 0;
  // h * (max - min) < 2^32 * 2^16 = 2^48: exact in a double.
  return Math.floor((h * (max - min)) / 4294967296) + min;
}

/** A 32-bit hash of bytes b[off, off+n) (configuration-time and per-pair keys; not symmetric). */
export function bytesHash(b: Uint8Array, off: number, n: number, seed = SEED): number {
  let h = seed;
  let i = 0;
  for (; i + 4 <= n; i += 4) h = mix(h, word(b, off + i));
  if (i < n) {
    let k = 0;
    for (let j = 0; i + j < n; j++) k |= b[off + i + j]! << (24 - 8 * j);
    h = mix(h, k | 0);
  }
  return finalize(h, n) >>> 0;
}
