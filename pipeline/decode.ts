/**
 * The decoder chain: fills a reusable `Layers` record with the absolute offsets of one frame's
 * headers (gopacket DecodingLayerParser: one preallocated record, no object per layer), parsing
 * laxly like etherparse `LaxSlicedPacket`: everything decoded before a problem is kept, and the
 * problem is reported as `status` + `stopLayer` + `stopOff` instead of failing the whole packet.
 *
 *   Ethernet -> VLAN (<= 2 tags: 0x8100, 0x88a8, 0x9100) -> MPLS stack (payload guessed by its
 *   first nibble: 4 = IPv4, 6 = IPv6) -> IPv4 (options) | IPv6 (extension headers HOPOPTS,
 *   ROUTING, FRAGMENT, DSTOPTS, AH, MH; stops at ESP / NONE) -> TCP | UDP | ICMP | ICMPv6.
 *
 * Status:
 * - OK: every header the chain knows was decoded. stopLayer is the last decoded layer and
 *   stopOff where the undecoded rest starts (payloadOff when set). An unknown EtherType or IP
 *   protocol is OK: its bytes are payload (netOff / transOff point at them, header length 0).
 * - TRUNCATED: the header at stopOff (layer stopLayer) does not fit in the captured bytes.
 * - MALFORMED: a length/version field contradicts itself or an enclosing length (IHL < 5, total
 *   length < IHL*4, TCP data offset < 5, UDP length < 8, a header past the IP datagram end...).
 * - UNSUPPORTED: a structure the chain deliberately does not follow (a 3rd VLAN tag, more than
 *   MAX_MPLS_LABELS labels, an MPLS payload that is neither IPv4 nor IPv6).
 *
 * Offsets are only set for headers that were completely decoded; the failing header's offset is
 * stopOff. Every read is bounds-checked against `end` (clamped to b.length); the decoder never
 * throws and never allocates. VXLAN (a UDP port decision, one list per pipeline) is followed by
 * layer-record.ts, which decodes the frame inside it with a second `Layers`: the record a packet
 * carries through the pipeline.
 */
import { NO_OFFSET, type Packet } from './packet.js';
import { ETHER_TYPE } from './wire/ether-type.js';
import { IP_PROTO } from './wire/ip-proto.js';
import * as ethernet from './wire/ethernet.js';
import * as vlan from './wire/vlan.js';
import * as mpls from './wire/mpls.js';
import * as ipv4 from './wire/ipv4.js';
import * as ipv6 from './wire/ipv6.js';
import * as tcp from './wire/tcp.js';
import * as udp from './wire/udp.js';
import * as icmp from './wire/icmp.js';

export const DECODE = { OK: 0, TRUNCATED: 1, MALFORMED: 2, UNSUPPORTED: 3 } as const;
export type DecodeStatus = (typeof DECODE)[keyof typeof DECODE];
/** Names for DECODE values, indexed by status (messages, counters). */
export const DECODE_NAME = ['ok', 'truncated', 'malformed', 'unsupported'] as const;

/** Which header decoding stopped at ('' before anything was decoded). */
export type DecodeLayer =
  | ''
  | 'ethernet'
  | 'vlan'
  | 'mpls'
  | 'ipv4'
  | 'ipv6'
  | 'ipv6-ext'
  | 'tcp'
  | 'udp'
  | 'icmp'
  | 'icmpv6';

export const MAX_VLAN_TAGS = 2;
export const MAX_MPLS_LABELS = 8;
/** Layers.l4Proto when no IP layer was decoded. */
export const NO_PROTO = -1;

/** Offsets of one frame's headers; allocate once per stage and reuse for every packet. */
export class Layers {
  /** A DECODE value. */
  status: number = DECODE.OK;
  /** Absolute offset where decoding stopped (see module doc). */
  stopOff: number = NO_OFFSET;
  stopLayer: DecodeLayer = '';

  macOff: number = NO_OFFSET;
  /** Up to 2 tags (QinQ); a 3rd is UNSUPPORTED. vlanOffN is the offset of the tag's TPID. */
  vlanCount = 0;
  vlanOff0: number = NO_OFFSET;
  vlanOff1: number = NO_OFFSET;
  /** EtherType after the VLAN tags, i.e. the one at ethTypeOff (0 when not reached). */
  etherType = 0;
  ethTypeOff: number = NO_OFFSET;

  /** Label stack: first LSE offset and number of labels (until BoS). */
  mplsOff: number = NO_OFFSET;
  mplsCount = 0;

  /** Network header; netProto is 0x0800 / 0x86dd, or the other EtherType whose payload starts there. */
  netOff: number = NO_OFFSET;
  netProto = 0;
  /** IPv4: IHL*4. IPv6: 40 + extension headers before the L4 header (so far, when stopped inside them). */
  ipHdrLen = 0;
  /** IP protocol of the L4 header (after IPv6 extension headers); NO_PROTO without IP. */
  l4Proto: number = NO_PROTO;
  /** L4 header; for an unknown protocol the start of its bytes (l4HdrLen 0). NO_OFFSET for a non-first fragment. */
  transOff: number = NO_OFFSET;
  l4HdrLen = 0;
  /** Start of the bytes after the last decoded header. */
  payloadOff: number = NO_OFFSET;
  /** End of the IP datagram per its length field, clamped to the captured tail. */
  ipEnd: number = NO_OFFSET;
  /** The IP length field says more than was captured (snaplen truncation). */
  ipLenMismatch = false;
  /** IPv4 MF/offset, or an IPv6 fragment header. L4 is decoded only in a first fragment. */
  isFragment = false;

  reset(): void {
    this.status = DECODE.OK;
    this.stopOff = NO_OFFSET;
    this.stopLayer = '';
    this.macOff = NO_OFFSET;
    this.vlanCount = 0;
    this.vlanOff0 = NO_OFFSET;
    this.vlanOff1 = NO_OFFSET;
    this.etherType = 0;
    this.ethTypeOff = NO_OFFSET;
    this.mplsOff = NO_OFFSET;
    this.mplsCount = 0;
    this.netOff = NO_OFFSET;
    this.netProto = 0;
    this.ipHdrLen = 0;
    this.l4Proto = NO_PROTO;
    this.transOff = NO_OFFSET;
    this.l4HdrLen = 0;
    this.payloadOff = NO_OFFSET;
    this.ipEnd = NO_OFFSET;
    this.ipLenMismatch = false;
    this.isFragment = false;
  }

  /** Every offset moves by d: the frame was copied to another place (Packet.reserve). */
  shift(d: number): void {
    this.stopOff = moved(this.stopOff, d);
    this.macOff = moved(this.macOff, d);
    this.vlanOff0 = moved(this.vlanOff0, d);
    this.vlanOff1 = moved(this.vlanOff1, d);
    this.ethTypeOff = moved(this.ethTypeOff, d);
    this.mplsOff = moved(this.mplsOff, d);
    this.netOff = moved(this.netOff, d);
    this.transOff = moved(this.transOff, d);
    this.payloadOff = moved(this.payloadOff, d);
    this.ipEnd = moved(this.ipEnd, d);
  }

  /** Offsets below `at` move by d: the bytes in front of `at` moved (Packet.insertAt / removeAt). */
  shiftBelow(at: number, d: number): void {
    if (this.stopOff < at) this.stopOff = moved(this.stopOff, d);
    if (this.macOff < at) this.macOff = moved(this.macOff, d);
    if (this.vlanOff0 < at) this.vlanOff0 = moved(this.vlanOff0, d);
    if (this.vlanOff1 < at) this.vlanOff1 = moved(this.vlanOff1, d);
    if (this.ethTypeOff < at) this.ethTypeOff = moved(this.ethTypeOff, d);
    if (this.mplsOff < at) this.mplsOff = moved(this.mplsOff, d);
    if (this.netOff < at) this.netOff = moved(this.netOff, d);
    if (this.transOff < at) this.transOff = moved(this.transOff, d);
    if (this.payloadOff < at) this.payloadOff = moved(this.payloadOff, d);
    if (this.ipEnd < at) this.ipEnd = moved(this.ipEnd, d);
  }
}

function moved(off: number, d: number): number {
  return off === NO_OFFSET ? off : off + d;
}

function stop(L: Layers, status: number, layer: DecodeLayer, off: number): number {
  L.status = status;
  L.stopLayer = layer;
  L.stopOff = off;
  return status;
}

function done(L: Layers, layer: DecodeLayer, payloadOff: number): number {
  L.payloadOff = payloadOff;
  return stop(L, DECODE.OK, layer, payloadOff);
}

/** Decode the Ethernet frame in b[off, end). Returns L.status. */
export function decodeFrame(b: Uint8Array, off: number, end: number, L: Layers): number {
  L.reset();
  if (end > b.length) end = b.length;
  if (off < 0 || end - off < ethernet.HEADER_LEN) return stop(L, DECODE.TRUNCATED, 'ethernet', off);
  L.macOff = off;
  let typeOff = off + ethernet.ETHER_TYPE;
  let type = (b[typeOff]! << 8) | b[typeOff + 1]!;
  let layer: DecodeLayer = 'ethernet';
  while (vlan.isVlanTpid(type)) {
    if (L.vlanCount === MAX_VLAN_TAGS) return stop(L, DECODE.UNSUPPORTED, 'vlan', typeOff);
    // The tag (TPID + TCI) and the EtherType after it.
    if (end - typeOff < vlan.HEADER_LEN + 2) return stop(L, DECODE.TRUNCATED, 'vlan', typeOff);
    if (L.vlanCount === 0) L.vlanOff0 = typeOff;
    else L.vlanOff1 = typeOff;
    L.vlanCount++;
    typeOff += vlan.HEADER_LEN;
    type = (b[typeOff]! << 8) | b[typeOff + 1]!;
    layer = 'vlan';
  }
  L.etherType = type;
  L.ethTypeOff = typeOff;
  L.stopLayer = layer;
  return decodeNet(b, typeOff + 2, end, type, L, layer);
}

/**
 * Decode from a network header at `off` whose EtherType is `etherType` (IPv4, IPv6, MPLS, or any
 * other: then OK with netOff = off). Resets L first; Ethernet/VLAN fields stay unset.
 */
export function decodeIp(b: Uint8Array, off: number, end: number, etherType: number, L: Layers): number {
  L.reset();
  if (end > b.length) end = b.length;
  if (off < 0 || off > end) return stop(L, DECODE.TRUNCATED, etherType === ETHER_TYPE.IPV6 ? 'ipv6' : 'ipv4', off);
  L.etherType = etherType;
  return decodeNet(b, off, end, etherType, L, '');
}

/**
 * `decodeFrame(pkt.buf, pkt.head, pkt.tail, L)`, then copies macOff, netOff, transOff and
 * protocol (L.etherType) into the packet. Inner offsets and innerProtocol are left alone.
 */
export function decodePacket(pkt: Packet, L: Layers): number {
  const status = decodeFrame(pkt.buf, pkt.head, pkt.tail, L);
  pkt.macOff = L.macOff;
  pkt.netOff = L.netOff;
  pkt.transOff = L.transOff;
  pkt.protocol = L.etherType;
  return status;
}

function decodeNet(b: Uint8Array, off: number, end: number, type: number, L: Layers, prev: DecodeLayer): number {
  if (type === ETHER_TYPE.MPLS_UC || type === ETHER_TYPE.MPLS_MC) return decodeMpls(b, off, end, L);
  if (type === ETHER_TYPE.IPV4) return decodeIpv4(b, off, end, L);
  if (type === ETHER_TYPE.IPV6) return decodeIpv6(b, off, end, L);
  // Unknown EtherType (ARP, LLC length field...): its bytes are the payload.
  L.netOff = off;
  L.netProto = type;
  return done(L, prev, off);
}

function decodeMpls(b: Uint8Array, off: number, end: number, L: Layers): number {
  let o = off;
  for (;;) {
    if (L.mplsCount === MAX_MPLS_LABELS) return stop(L, DECODE.UNSUPPORTED, 'mpls', o);
    if (end - o < mpls.LSE_LEN) return stop(L, DECODE.TRUNCATED, 'mpls', o);
    if (L.mplsCount === 0) L.mplsOff = off;
    L.mplsCount++;
    const bos = (b[o + 2]! & 0x01) !== 0;
    o += mpls.LSE_LEN;
    if (bos) break;
  }
  // RFC 3032 does not say what follows the stack: guess by the IP version nibble.
  if (o >= end) return stop(L, DECODE.TRUNCATED, 'mpls', o);
  const nibble = b[o]! >>> 4;
  if (nibble === 4) return decodeIpv4(b, o, end, L);
  if (nibble === 6) return decodeIpv6(b, o, end, L);
  L.payloadOff = o;
  return stop(L, DECODE.UNSUPPORTED, 'mpls', o);
}

function decodeIpv4(b: Uint8Array, off: number, end: number, L: Layers): number {
  if (end - off < ipv4.HEADER_LEN) return stop(L, DECODE.TRUNCATED, 'ipv4', off);
  const vihl = b[off]!;
  if (vihl >>> 4 !== 4) return stop(L, DECODE.MALFORMED, 'ipv4', off);
  const hl = (vihl & 0x0f) << 2;
  if (hl < ipv4.HEADER_LEN) return stop(L, DECODE.MALFORMED, 'ipv4', off);
  const total = (b[off + ipv4.TOTAL_LENGTH]! << 8) | b[off + ipv4.TOTAL_LENGTH + 1]!;
  if (total < hl) return stop(L, DECODE.MALFORMED, 'ipv4', off);
  if (end - off < hl) return stop(L, DECODE.TRUNCATED, 'ipv4', off);
  L.netOff = off;
  L.netProto = ETHER_TYPE.IPV4;
  L.ipHdrLen = hl;
  const declaredEnd = off + total;
  L.ipLenMismatch = declaredEnd > end;
  L.ipEnd = L.ipLenMismatch ? end : declaredEnd;
  const proto = b[off + ipv4.PROTOCOL]!;
  L.l4Proto = proto;
  const frag = ((b[off + ipv4.FLAGS_FRAG]! << 8) | b[off + ipv4.FLAGS_FRAG + 1]!) & (ipv4.FLAG_MF | ipv4.FRAG_OFFSET_MASK);
  const l4Off = off + hl;
  if (frag !== 0) {
    L.isFragment = true;
    if ((frag & ipv4.FRAG_OFFSET_MASK) !== 0) return done(L, 'ipv4', l4Off);
  }
  return decodeL4(b, l4Off, end, declaredEnd, proto, L, 'ipv4');
}

function decodeIpv6(b: Uint8Array, off: number, end: number, L: Layers): number {
  if (end - off < ipv6.HEADER_LEN) return stop(L, DECODE.TRUNCATED, 'ipv6', off);
  if (b[off]! >>> 4 !== 6) return stop(L, DECODE.MALFORMED, 'ipv6', off);
  L.netOff = off;
  L.netProto = ETHER_TYPE.IPV6;
  L.ipHdrLen = ipv6.HEADER_LEN;
  let next = b[off + ipv6.NEXT_HEADER]!;
  const plen = (b[off + ipv6.PAYLOAD_LENGTH]! << 8) | b[off + ipv6.PAYLOAD_LENGTH + 1]!;
  // Payload length 0 with hop-by-hop options: a jumbogram (RFC 2675). Its length lives in an
  // option we do not read, so only the captured bytes bound it.
  const jumbo = plen === 0 && next === IP_PROTO.HOPOPTS;
  const declaredEnd = jumbo ? Number.MAX_SAFE_INTEGER : off + ipv6.HEADER_LEN + plen;
  L.ipLenMismatch = declaredEnd > end && !jumbo;
  L.ipEnd = declaredEnd > end ? end : declaredEnd;
  let o = off + ipv6.HEADER_LEN;
  let firstFragment = true;
  while (ipv6.isExtHeader(next)) {
    L.l4Proto = next;
    if (o + 2 > declaredEnd) return stop(L, DECODE.MALFORMED, 'ipv6-ext', o);
    if (o + 2 > end) return stop(L, DECODE.TRUNCATED, 'ipv6-ext', o);
    const len = ipv6.extHeaderLen(b, o, next);
    if (o + len > declaredEnd) return stop(L, DECODE.MALFORMED, 'ipv6-ext', o);
    if (o + len > end) return stop(L, DECODE.TRUNCATED, 'ipv6-ext', o);
    if (next === IP_PROTO.FRAGMENT) {
      L.isFragment = true;
      if (ipv6.fragOffset(b, o) !== 0) firstFragment = false;
    }
    next = b[o]!;
    o += len;
    L.ipHdrLen += len;
  }
  L.l4Proto = next;
  if (!firstFragment) return done(L, 'ipv6-ext', o);
  return decodeL4(b, o, end, declaredEnd, next, L, o === off + ipv6.HEADER_LEN ? 'ipv6' : 'ipv6-ext');
}

/** L4 header at `off`; `declaredEnd` is the IP datagram end per its length field (may exceed `end`). */
function decodeL4(
  b: Uint8Array,
  off: number,
  end: number,
  declaredEnd: number,
  proto: number,
  L: Layers,
  prev: DecodeLayer,
): number {
  let layer: DecodeLayer;
  let need: number;
  if (proto === IP_PROTO.TCP) {
    layer = 'tcp';
    need = tcp.HEADER_LEN;
  } else if (proto === IP_PROTO.UDP) {
    layer = 'udp';
    need = udp.HEADER_LEN;
  } else if (proto === IP_PROTO.ICMP || proto === IP_PROTO.ICMPV6) {
    layer = proto === IP_PROTO.ICMP ? 'icmp' : 'icmpv6';
    need = icmp.HEADER_LEN;
  } else {
    // Unknown protocol, ESP, or NONE: the rest is opaque payload.
    L.transOff = off;
    L.l4HdrLen = 0;
    return done(L, prev, off);
  }
  if (off + need > declaredEnd) return stop(L, DECODE.MALFORMED, layer, off);
  if (off + need > end) return stop(L, DECODE.TRUNCATED, layer, off);
  if (proto === IP_PROTO.TCP) {
    need = (b[off + tcp.DATA_OFF]! >>> 4) << 2;
    if (need < tcp.HEADER_LEN || off + need > declaredEnd) return stop(L, DECODE.MALFORMED, layer, off);
    if (off + need > end) return stop(L, DECODE.TRUNCATED, layer, off);
  } else if (proto === IP_PROTO.UDP) {
    const ulen = (b[off + udp.LENGTH]! << 8) | b[off + udp.LENGTH + 1]!;
    // In a first fragment the UDP length covers the whole reassembled datagram.
    if (ulen < udp.HEADER_LEN || (off + ulen > declaredEnd && !L.isFragment)) return stop(L, DECODE.MALFORMED, layer, off);
  }
  L.transOff = off;
  L.l4HdrLen = need;
  return done(L, layer, off + need);
}
