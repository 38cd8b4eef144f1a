/**
 * The packet's layer record: where its headers are, decoded once when the packet enters the
 * pipeline and kept right by the packet as it changes, the way the kernel keeps
 * skb->mac_header / network_header / transport_header (and the inner_* ones of an encapsulated
 * skb) set from the receive path on: skb_push / skb_pull move data, not the recorded headers.
 *
 * Two `Layers`: the frame itself (`outer`) and, when its outer UDP header goes to one of the
 * pipeline's `vxlanPorts` with room for the VXLAN header, the Ethernet frame inside (`inner`,
 * decoded up to the end of the UDP datagram, as udp_rcv trims the skb to the UDP length).
 * Stages and the egress read offsets from here instead of decoding again:
 *
 * - `Packet.reserve` shifts every recorded offset (the frame was copied); `insertAt` /
 *   `removeAt` shift the ones in front of the gap; any change of headers (those two, `push`,
 *   `pull`) leaves the record `valid = false` until the stage that made it says what the frame
 *   is now: `decapsulated` (vxlan_rcv pulled the outer headers: the inner decode is the frame),
 *   `encapsulated` (the old frame is the inner one, only the new outer headers are decoded), or
 *   `redecodeOuter` (mpls push/pop: the outer frame decoded again, the inner one kept).
 * - A packet that did not come through `Pipeline.process` has no record: `layersOf` decodes it
 *   into the caller's own scratch record (never stored on the packet), so nothing allocates.
 */
import { Layers, decodeFrame } from './decode.js';
import { NO_OFFSET, type Packet } from './packet.js';
import { ETHER_TYPE } from './wire/ether-type.js';
import { IP_PROTO } from './wire/ip-proto.js';
import * as ethernet from './wire/ethernet.js';
import * as ipv4 from './wire/ipv4.js';
import * as ipv6 from './wire/ipv6.js';
import * as udp from './wire/udp.js';
import * as vxlan from './wire/vxlan.js';

/** A lookup table over UDP ports (index = port, 1 = taken as VXLAN). */
export function vxlanPortTable(ports: readonly number[] = vxlan.DEFAULT_PORTS): Uint8Array {
  const t = new Uint8Array(65536);
  for (const p of ports) t[p] = 1;
  return t;
}

export class LayerRecord {
  /** The frame [head, tail). */
  outer = new Layers();
  /** The Ethernet frame inside VXLAN; meaningful only when `hasInner`. */
  inner = new Layers();
  hasInner = false;
  /** The record describes the frame as it is now (false: decode before reading). */
  valid = false;
  /** UDP destination ports taken as VXLAN (vxlanPortTable). */
  readonly ports: Uint8Array;

  constructor(ports: Uint8Array = vxlanPortTable()) {
    this.ports = ports;
  }

  /** Packet.reserve: the frame moved by d. */
  shift(d: number): void {
    this.outer.shift(d);
    this.inner.shift(d);
  }

  /** Packet.insertAt / removeAt: the bytes in front of `at` moved by d. */
  shiftBelow(at: number, d: number): void {
    this.outer.shiftBelow(at, d);
    // Without an inner frame the inner record is not read until a decode fills it anew.
    if (this.hasInner) this.inner.shiftBelow(at, d);
  }

  /** Decode the packet's frame, and the frame inside VXLAN. */
  decode(pkt: Packet): void {
    decodeFrame(pkt.buf, pkt.head, pkt.tail, this.outer);
    this.decodeInner(pkt);
    this.valid = true;
  }

  /**
   * The outer frame's headers changed in front of the inner frame (an MPLS stack pushed or
   * popped): decode it again; the inner frame, which did not move, keeps its decode.
   */
  redecodeOuter(pkt: Packet): void {
    const hadInner = this.hasInner;
    const innerAt = this.inner.macOff;
    decodeFrame(pkt.buf, pkt.head, pkt.tail, this.outer);
    const at = this.innerStart(pkt);
    if (!hadInner || at !== innerAt) this.decodeInner(pkt);
    else this.hasInner = at !== NO_OFFSET;
    this.valid = true;
  }

  /**
   * vxlan-decap pulled the outer headers and the frame is the inner one (whose decode, up to the
   * UDP end, is what remains). Its own VXLAN payload, if any, is decoded now: that frame was
   * never decoded.
   */
  decapsulated(pkt: Packet): void {
    const t = this.outer;
    this.outer = this.inner;
    this.inner = t;
    this.decodeInner(pkt);
    this.valid = true;
  }

  /**
   * vxlan-encap pushed outer headers in front of the frame: the frame's decode becomes the inner
   * one, and only the new outer headers (Ethernet, IP, UDP) are decoded.
   */
  encapsulated(pkt: Packet): void {
    const t = this.inner;
    this.inner = this.outer;
    this.outer = t;
    decodeFrame(pkt.buf, pkt.head, pkt.tail, this.outer);
    this.hasInner = true;
    this.valid = true;
  }

  /**
   * `encapsulated` for outer headers the caller has just written and knows: an untagged
   * Ethernet header at head, IPv4 without options (`netProto` 0x0800) or IPv6 without extension
   * headers (0x86dd), `ipLen` bytes long by its length field, then UDP (with the VXLAN header
   * behind it in the captured bytes). The outer record is filled as decodeFrame fills it, without
   * reading the headers back; a length its 16-bit field cannot hold is decoded as written.
   */
  encapsulatedUdp(pkt: Packet, netProto: number, ipLen: number): void {
    const v6 = netProto === ETHER_TYPE.IPV6;
    const ipHdr = v6 ? ipv6.HEADER_LEN : ipv4.HEADER_LEN;
    const udpLen = ipLen - ipHdr;
    const head = pkt.head;
    const net = head + ethernet.HEADER_LEN;
    const u = net + ipHdr;
    if ((v6 ? udpLen : ipLen) > 0xffff || udpLen < udp.HEADER_LEN + vxlan.HEADER_LEN || pkt.tail < u + udp.HEADER_LEN + vxlan.HEADER_LEN) {
      this.encapsulated(pkt);
      return;
    }
    const t = this.inner;
    this.inner = this.outer;
    this.outer = t;
    t.reset();
    t.macOff = head;
    t.etherType = netProto;
    t.ethTypeOff = head + ethernet.ETHER_TYPE;
    t.netOff = net;
    t.netProto = netProto;
    t.ipHdrLen = ipHdr;
    const declaredEnd = net + ipLen;
    t.ipLenMismatch = declaredEnd > pkt.tail;
    t.ipEnd = t.ipLenMismatch ? pkt.tail : declaredEnd;
    t.l4Proto = IP_PROTO.UDP;
    t.transOff = u;
    t.l4HdrLen = udp.HEADER_LEN;
    t.payloadOff = t.stopOff = u + udp.HEADER_LEN;
    t.stopLayer = 'udp';
    this.hasInner = true;
    this.valid = true;
  }

  /** Where the frame inside VXLAN starts, or NO_OFFSET when the outer frame is not VXLAN. */
  private innerStart(pkt: Packet): number {
    const O = this.outer;
    // transOff is set for UDP only when its header was decoded whole, in a first fragment.
    if (O.l4Proto !== IP_PROTO.UDP || O.transOff === NO_OFFSET || O.isFragment) return NO_OFFSET;
    const u = O.transOff;
    if (!this.ports[udp.dstPort(pkt.buf, u)]) return NO_OFFSET;
    const at = u + udp.HEADER_LEN + vxlan.HEADER_LEN;
    return at <= this.innerEnd(pkt) ? at : NO_OFFSET;
  }

  /** The end of the outer UDP datagram, within the captured bytes. */
  private innerEnd(pkt: Packet): number {
    const u = this.outer.transOff;
    const end = u + udp.length(pkt.buf, u);
    return end < pkt.tail ? end : pkt.tail;
  }

  private decodeInner(pkt: Packet): void {
    const at = this.innerStart(pkt);
    this.hasInner = at !== NO_OFFSET;
    if (this.hasInner) decodeFrame(pkt.buf, at, this.innerEnd(pkt), this.inner);
  }
}

/**
 * The packet's record, decoded first if a change left it stale; for a packet without one (not
 * through Pipeline.process: a stage or the egress driven directly), `scratch` decoded anew.
 */
export function layersOf(pkt: Packet, scratch: LayerRecord): LayerRecord {
  const r = pkt.layers;
  if (r === null) {
    scratch.decode(pkt);
    return scratch;
  }
  if (!r.valid) r.decode(pkt);
  return r;
}

/**
 * A stage changed the packet's outer headers in front of the inner frame (an MPLS stack pushed
 * or popped): decode the outer frame again, once, so that later stages need not.
 */
export function outerHeadersChanged(pkt: Packet): void {
  pkt.layers?.redecodeOuter(pkt);
}
