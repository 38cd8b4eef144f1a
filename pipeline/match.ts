/**
 * Packet-field matching shared by the rule-driven stages (`tunnel-key`, `mpls-push`): a zod
 * `matchSchema` for one rule's `match` object and a `RuleTable<A>` that finds the first rule (in
 * the order written) whose keys all match a packet, like tc flower filters sorted by priority.
 *
 * Keys (all optional, ANDed; an empty match matches every packet):
 *   vni, tunnelSrc, tunnelDst   on the packet's tunnel metadata (pkt.tunnel); tunnelSrc/Dst are
 *                               CIDR prefixes (a bare address is a host prefix)
 *   ethSrc, ethDst              the frame's MAC addresses
 *   vlan                        VLAN ID of the outermost 802.1Q/802.1ad tag (untagged frames never match)
 *   ipSrc, ipDst                CIDR prefixes, IPv4 or IPv6 (the family must match the packet's)
 *   ipProto                     IP protocol / IPv6 next header after extension headers (number or name)
 *   srcPort, dstPort            TCP or UDP ports (other protocols and non-first fragments never match)
 * Fields are read from the frame as it is at the stage (pkt.head), i.e. the outermost headers.
 *
 * Lookup is indexed, not a linear scan: rules with `ipDst` sit in a binary trie per address family
 * (one node per prefix bit, each node holding the indexes of the rules whose prefix ends there),
 * the others in one list. A lookup walks the trie along the packet's destination address and
 * checks, in rule order, only the candidates found on that path plus the rules without `ipDst`;
 * the answer is the lowest rule index whose remaining keys also match. Lookups allocate nothing.
 */
import * as z from 'zod';
import { macAddress } from './option-schemas.js';
import { parseMac } from './wire/mac-address.js';
import { type Packet } from './packet.js';
import { Layers } from './decode.js';
import { LayerRecord, layersOf } from './layer-record.js';
import { ETHER_TYPE } from './wire/ether-type.js';
import { IP_PROTO } from './wire/ip-proto.js';
import { parseCidr } from './wire/ip-address.js';
import * as ethernet from './wire/ethernet.js';
import * as ipv4 from './wire/ipv4.js';
import * as ipv6 from './wire/ipv6.js';
import * as vlan from './wire/vlan.js';


const cidr = z.string().refine((s) => parseCidr(s) !== null, {
  message: 'expected an IPv4 or IPv6 address or prefix like 198.51.100.0/24 or 2001:db8::/32',
});
const mac = macAddress;
const port = z.number().int().min(0).max(65535);

/** IP protocol names accepted besides numbers. */
export const IP_PROTO_NAMES: Readonly<Record<string, number>> = { icmp: IP_PROTO.ICMP, tcp: IP_PROTO.TCP, udp: IP_PROTO.UDP, icmpv6: IP_PROTO.ICMPV6 };

/** One rule's `match` object. */
export const matchSchema = z
  .object({
    vni: z.number().int().min(0).max(0xffffff).optional(),
    tunnelSrc: cidr.optional(),
    tunnelDst: cidr.optional(),
    ethSrc: mac.optional(),
    ethDst: mac.optional(),
    vlan: z.number().int().min(0).max(4095).optional(),
    ipSrc: cidr.optional(),
    ipDst: cidr.optional(),
    ipProto: z
      .union([z.number().int().min(0).max(255), z.enum(['icmp', 'tcp', 'udp', 'icmpv6'])], {
        message: 'expected an IP protocol number 0..255 or one of icmp, tcp, udp, icmpv6',
      })
      .optional(),
    srcPort: port.optional(),
    dstPort: port.optional(),
  })
  .strict();

export type MatchSpec = z.output<typeof matchSchema>;

export interface Rule<A> {
  match: MatchSpec;
  action: A;
}

/** A prefix compiled for byte-wise comparison. */
interface Prefix {
  v6: boolean;
  bytes: Uint8Array;
  len: number;
}

/** A rule's match with every key parsed; -1 / null = key absent. */
interface Compiled {
  vni: number;
  tunnelSrc: Prefix | null;
  tunnelDst: Prefix | null;
  ethSrc: Uint8Array | null;
  ethDst: Uint8Array | null;
  vlan: number;
  ipSrc: Prefix | null;
  ipDst: Prefix | null;
  ipProto: number;
  srcPort: number;
  dstPort: number;
  /** Any key that needs the frame decoded (everything but the tunnel keys). */
  needsFrame: boolean;
}

function prefixOf(text: string): Prefix {
  const p = parseCidr(text);
  if (!p) throw new Error(`not an address or prefix: ${text}`);
  const bytes = p.bytes.slice();
  // Host bits below the prefix length are ignored (masked), as `tc flower` does.
  for (let bit = p.prefixLen; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { v6: bytes.length === 16, bytes, len: p.prefixLen };
}


function compile(m: MatchSpec): Compiled {
  const c: Compiled = {
    vni: m.vni ?? -1,
    tunnelSrc: m.tunnelSrc !== undefined ? prefixOf(m.tunnelSrc) : null,
    tunnelDst: m.tunnelDst !== undefined ? prefixOf(m.tunnelDst) : null,
    ethSrc: m.ethSrc !== undefined ? parseMac(m.ethSrc) : null,
    ethDst: m.ethDst !== undefined ? parseMac(m.ethDst) : null,
    vlan: m.vlan ?? -1,
    ipSrc: m.ipSrc !== undefined ? prefixOf(m.ipSrc) : null,
    ipDst: m.ipDst !== undefined ? prefixOf(m.ipDst) : null,
    ipProto: m.ipProto === undefined ? -1 : typeof m.ipProto === 'number' ? m.ipProto : IP_PROTO_NAMES[m.ipProto]!,
    srcPort: m.srcPort ?? -1,
    dstPort: m.dstPort ?? -1,
    needsFrame: false,
  };
  c.needsFrame =
    c.ethSrc !== null || c.ethDst !== null || c.vlan >= 0 || c.ipSrc !== null || c.ipDst !== null || c.ipProto >= 0 || c.srcPort >= 0 || c.dstPort >= 0;
  return c;
}

/** The rule's one key is ipDst (matchesRest with the destination checked holds for every packet). */
function onlyKeyIsIpDst(c: Compiled): boolean {
  return (
    c.vni < 0 && c.tunnelSrc === null && c.tunnelDst === null && c.ethSrc === null && c.ethDst === null && c.vlan < 0 &&
    c.ipSrc === null && c.ipProto < 0 && c.srcPort < 0 && c.dstPort < 0
  );
}

/** True when b[off..] starts with the prefix (whole bytes, then the remaining high bits). */
function prefixMatches(p: Prefix, b: Uint8Array, off: number): boolean {
  const whole = p.len >> 3;
  for (let i = 0; i < whole; i++) if (b[off + i] !== p.bytes[i]) return false;
  const rest = p.len & 7;
  if (rest === 0) return true;
  const mask = (0xff00 >> rest) & 0xff;
  return (b[off + whole]! & mask) === p.bytes[whole];
}

function bytesEqual(a: Uint8Array, b: Uint8Array, off: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

/**
 * Binary trie over address bits. Node 0 is the root; children in two growable Int32Arrays
 * (0 = no child, since the root is never a child); rule index lists (ascending) for the nodes
 * that end a prefix, found through a third Int32Array (0 = none, k = lists[k - 1]). The lists
 * are a dense array: a sparse one indexed by node (a node in eight ends a prefix of 100,000 /24
 * rules) falls back to dictionary elements, a hash lookup at every node of every walk.
 *
 * Once built (`seal`), each node that ends a prefix knows the nearest one above it (`up`), so
 * the rules on an address's path are those of its deepest such node and the chain above it. For
 * 32-bit addresses a small direct-mapped cache remembers that deepest node per address: a packet
 * to an address seen before walks no bits.
 */
class PrefixTrie {
  private zero = new Int32Array(1024);
  private one = new Int32Array(1024);
  private listOf = new Int32Array(1024);
  private readonly lists: number[][] = [];
  private count = 1;
  /** Per node ending a prefix: the nearest node above it that ends one, or -1 (seal). */
  private up = new Int32Array(0);
  /** The 32-bit address cache: address, and its deepest prefix-ending node (CACHE_EMPTY: slot unused). */
  private readonly cacheAddr = new Int32Array(CACHE_SLOTS);
  private readonly cacheNode = new Int32Array(CACHE_SLOTS).fill(CACHE_EMPTY);

  insert(bytes: Uint8Array, len: number, rule: number): void {
    let n = 0;
    for (let bit = 0; bit < len; bit++) {
      const set = (bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0;
      const arr = set ? this.one : this.zero;
      let next = arr[n]!;
      if (next === 0) {
        next = this.newNode();
        (set ? this.one : this.zero)[n] = next;
      }
      n = next;
    }
    if (this.listOf[n] === 0) {
      this.lists.push([]);
      this.listOf[n] = this.lists.length;
    }
    this.lists[this.listOf[n]! - 1]!.push(rule);
  }

  /** Every prefix is in: link each prefix-ending node to the nearest one above it. */
  seal(): void {
    const count = this.count;
    // near[n]: the deepest prefix-ending node at or above n. A child is always created after its
    // parent, so a pass in node order sees every parent first.
    const near = new Int32Array(count).fill(-1);
    const up = new Int32Array(count).fill(-1);
    if (this.listOf[0] !== 0) near[0] = 0;
    const link = (parent: number, c: number): void => {
      if (c === 0) return;
      if (this.listOf[c] !== 0) {
        up[c] = near[parent]!;
        near[c] = c;
      } else near[c] = near[parent]!;
    };
    for (let n = 0; n < count; n++) {
      link(n, this.zero[n]!);
      link(n, this.one[n]!);
    }
    this.up = up;
    this.cacheNode.fill(CACHE_EMPTY);
  }

  private newNode(): number {
    if (this.count === this.zero.length) {
      const z2 = new Int32Array(this.count * 2);
      z2.set(this.zero);
      this.zero = z2;
      const o2 = new Int32Array(this.count * 2);
      o2.set(this.one);
      this.one = o2;
      const l2 = new Int32Array(this.count * 2);
      l2.set(this.listOf);
      this.listOf = l2;
    }
    return this.count++;
  }

  /**
   * The lowest rule index below `best` for which `accept` holds among the rules whose prefix
   * contains the 32-bit address at b[off..off+4) (each node's rules checked in ascending order).
   */
  lowest32(b: Uint8Array, off: number, best: number, accept: (rule: number) => boolean): number {
    const addr = (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
    const slot = Math.imul(addr, 0x9e3779b1) >>> CACHE_SHIFT;
    let n = this.cacheNode[slot]!;
    if (n === CACHE_EMPTY || this.cacheAddr[slot] !== addr) {
      n = this.deepest32(addr);
      this.cacheAddr[slot] = addr;
      this.cacheNode[slot] = n;
    }
    for (; n >= 0; n = this.up[n]!) best = this.lowestIn(n, best, accept);
    return best;
  }

  /** The deepest node on the address's path that ends a prefix, or -1. */
  private deepest32(addr: number): number {
    let n = 0;
    let d = this.listOf[0] !== 0 ? 0 : -1;
    for (let bit = 0; bit < 32; bit++) {
      n = ((addr << bit) < 0 ? this.one : this.zero)[n]!;
      if (n === 0) break;
      if (this.listOf[n] !== 0) d = n;
    }
    return d;
  }

  /** The lowest rule of node n's list below `best` that `accept`s, else `best`. */
  private lowestIn(n: number, best: number, accept: (rule: number) => boolean): number {
    const list = this.lists[this.listOf[n]! - 1]!;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (r >= best) break;
      if (accept(r)) return r;
    }
    return best;
  }

  /**
   * Walk along the address at b[off..off+bits/8) and return the lowest rule index below `best`
   * for which `accept` holds, checking every node's rules in ascending order.
   */
  lowest(b: Uint8Array, off: number, bits: number, best: number, accept: (rule: number) => boolean): number {
    let n = 0;
    for (let bit = 0; ; bit++) {
      if (this.listOf[n] !== 0) best = this.lowestIn(n, best, accept);
      if (bit === bits) break;
      const set = (b[off + (bit >> 3)]! & (0x80 >> (bit & 7))) !== 0;
      n = (set ? this.one : this.zero)[n]!;
      if (n === 0) break;
    }
    return best;
  }
}

/** Slots of the 32-bit address cache (a power of two), and the shift that hashes into them. */
const CACHE_SLOTS = 1024;
const CACHE_SHIFT = 22;
const CACHE_EMPTY = -2;

/** The first-match-wins rule table. */
export class RuleTable<A> {
  private readonly compiled: Compiled[];
  private readonly actions: A[];
  /** Rules without ipDst, ascending. */
  private readonly unindexed: Int32Array;
  private readonly trie4 = new PrefixTrie();
  private readonly trie6 = new PrefixTrie();
  private readonly needsFrame: boolean;
  private readonly L = new Layers();
  /** Decoded into only for a packet without a layer record (not in a pipeline). */
  private readonly scratch = new LayerRecord();
  /** Per-lookup state read by `accept` (kept in fields so lookups allocate no closures). */
  private cur: Packet | null = null;
  private curL: Layers = this.L;
  /** 1 for a rule whose only key is ipDst: found on the trie, it matches with nothing more to check. */
  private readonly dstOnly: Uint8Array;
  private readonly accept = (r: number): boolean => this.dstOnly[r] === 1 || this.matchesRest(this.compiled[r]!, this.cur!, this.curL, true);

  constructor(rules: readonly Rule<A>[]) {
    this.compiled = rules.map((r) => compile(r.match));
    this.dstOnly = Uint8Array.from(this.compiled, (c) => Number(c.ipDst !== null && onlyKeyIsIpDst(c)));
    this.actions = rules.map((r) => r.action);
    const un: number[] = [];
    this.compiled.forEach((c, i) => {
      if (c.ipDst) (c.ipDst.v6 ? this.trie6 : this.trie4).insert(c.ipDst.bytes, c.ipDst.len, i);
      else un.push(i);
    });
    this.unindexed = Int32Array.from(un);
    this.trie4.seal();
    this.trie6.seal();
    this.needsFrame = this.compiled.some((c) => c.needsFrame);
  }

  get size(): number {
    return this.compiled.length;
  }

  /** The action of rule `i` (an index returned by `lookup`). */
  action(i: number): A {
    return this.actions[i]!;
  }

  /**
   * Index of the first rule matching `pkt`, or -1. Frame fields come from the packet's layer
   * record, or from `layers` when given (the decode of the frame as it is now).
   */
  lookup(pkt: Packet, layers?: Layers): number {
    let L = layers;
    if (!L) {
      if (this.needsFrame) L = layersOf(pkt, this.scratch).outer;
      else {
        L = this.L;
        L.reset();
      }
    }
    let best = 0x7fffffff;
    const un = this.unindexed;
    for (let i = 0; i < un.length; i++) {
      const r = un[i]!;
      if (this.matchesRest(this.compiled[r]!, pkt, L, false)) {
        best = r;
        break;
      }
    }
    const net = L.netOff;
    if (net >= 0 && L.netProto === ETHER_TYPE.IPV4 && net + ipv4.HEADER_LEN <= pkt.tail) {
      this.cur = pkt;
      this.curL = L;
      best = this.trie4.lowest32(pkt.buf, net + ipv4.DST_ADDR, best, this.accept);
      this.cur = null;
    } else if (net >= 0 && L.netProto === ETHER_TYPE.IPV6 && net + ipv6.HEADER_LEN <= pkt.tail) {
      this.cur = pkt;
      this.curL = L;
      best = this.trie6.lowest(pkt.buf, net + ipv6.DST_ADDR, 128, best, this.accept);
      this.cur = null;
    }
    return best === 0x7fffffff ? -1 : best;
  }

  /** Every key of `c` except ipDst when `dstChecked` (the trie path already proved it). */
  private matchesRest(c: Compiled, pkt: Packet, L: Layers, dstChecked: boolean): boolean {
    const t = pkt.tunnel;
    if (c.vni >= 0 && (!t || t.vni !== c.vni)) return false;
    if (c.tunnelSrc && (!t || t.ipv6 !== c.tunnelSrc.v6 || !prefixMatches(c.tunnelSrc, t.src, 0))) return false;
    if (c.tunnelDst && (!t || t.ipv6 !== c.tunnelDst.v6 || !prefixMatches(c.tunnelDst, t.dst, 0))) return false;
    if (!c.needsFrame) return true;
    const b = pkt.buf;
    const mac = L.macOff;
    if (c.ethDst && (mac < 0 || !bytesEqual(c.ethDst, b, mac + ethernet.DST, 6))) return false;
    if (c.ethSrc && (mac < 0 || !bytesEqual(c.ethSrc, b, mac + ethernet.SRC, 6))) return false;
    if (c.vlan >= 0 && (L.vlanCount === 0 || vlan.vid(b, L.vlanOff0) !== c.vlan)) return false;
    const net = L.netOff;
    const v4 = net >= 0 && L.netProto === ETHER_TYPE.IPV4;
    const v6 = net >= 0 && L.netProto === ETHER_TYPE.IPV6;
    if (c.ipSrc && !ipPrefixAt(c.ipSrc, b, net, v4, v6, ipv4.SRC_ADDR, ipv6.SRC_ADDR)) return false;
    if (!dstChecked && c.ipDst && !ipPrefixAt(c.ipDst, b, net, v4, v6, ipv4.DST_ADDR, ipv6.DST_ADDR)) return false;
    if (c.ipProto >= 0 && (!(v4 || v6) || L.l4Proto !== c.ipProto)) return false;
    if (c.srcPort >= 0 || c.dstPort >= 0) {
      const tr = L.transOff;
      const ported = L.l4Proto === IP_PROTO.TCP || L.l4Proto === IP_PROTO.UDP;
      // transOff is set only for a decoded (complete, first-fragment) TCP/UDP header.
      if (!ported || tr < 0 || L.l4HdrLen === 0) return false;
      if (c.srcPort >= 0 && ((b[tr]! << 8) | b[tr + 1]!) !== c.srcPort) return false;
      if (c.dstPort >= 0 && ((b[tr + 2]! << 8) | b[tr + 3]!) !== c.dstPort) return false;
    }
    return true;
  }
}

function ipPrefixAt(p: Prefix, b: Uint8Array, net: number, v4: boolean, v6: boolean, off4: number, off6: number): boolean {
  if (p.v6) return v6 && prefixMatches(p, b, net + off6);
  return v4 && prefixMatches(p, b, net + off4);
}
