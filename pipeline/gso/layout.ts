/**
 * Where the headers of a packet at NIC egress are, in the form segmentation and the offload
 * decision need: the outer network header (after VLAN tags and an MPLS stack), the tunnel
 * (outer UDP + VXLAN + inner Ethernet) when the packet is encapsulated, and the innermost L4
 * header whose payload GSO cuts. One `EgressLayout` is allocated per stage and refilled per packet.
 */
import { CSUM, GSO, NO_OFFSET, type Packet } from '../packet.js';
import { DECODE, Layers, decodeFrame } from '../decode.js';
import { LayerRecord, layersOf } from '../layer-record.js';
import { ETHER_TYPE } from '../wire/ether-type.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import * as ipv4 from '../wire/ipv4.js';
import * as tcp from '../wire/tcp.js';
import * as udp from '../wire/udp.js';
import type { TxRequest } from '../nic/decide.js';
import { pseudoDstV6 } from './pseudo-dst.js';

/** Why a packet's headers can't be used for GSO (a drop reason), or '' when they can. */
export type LayoutError = '' | 'gso-bad-header' | 'mpls-gso-bad-stack';

export class EgressLayout {
  /** Outer decode (whole frame): the packet's layer record. */
  outer: Layers;
  /** Inner decode (the frame after the VXLAN header) when encapsulated. */
  inner: Layers;
  /** Decoded into only for a packet without a layer record (not in a pipeline). */
  private readonly scratch = new LayerRecord();
  private readonly ownInner = new Layers();

  constructor() {
    this.outer = this.scratch.outer;
    this.inner = this.ownInner;
  }

  /** The packet carries a tunnel and inner offsets are valid. */
  tunnel = false;
  /** Outer UDP header of the tunnel. */
  udpOff: number = NO_OFFSET;
  /** Pseudo-header destination of the outer UDP checksum (IPv6: the final destination, pseudo-dst.ts). */
  udpDstOff: number = NO_OFFSET;
  /** MPLS: offset of the top label and the stack length (0 without MPLS). */
  mplsOff: number = NO_OFFSET;
  mplsLen = 0;
  vlanTags = 0;
  /** EtherType after VLAN tags (0x8847 for MPLS). */
  etherType = 0;

  /** Outermost IP header (the only one without a tunnel). */
  ipOff: number = NO_OFFSET;
  ipV4 = false;
  /** Inner IP header of a tunnel (NO_OFFSET without one). */
  innerIpOff: number = NO_OFFSET;
  innerIpV4 = false;

  /** Innermost L4 header: protocol, offset, header length (TCP: data offset; UDP: 8). */
  l4Proto = -1;
  l4Off: number = NO_OFFSET;
  l4HdrLen = 0;
  /** The IP header the L4 header belongs to (pseudo-header addresses). */
  l4IpOff: number = NO_OFFSET;
  l4IpV4 = false;
  /**
   * Pseudo-header destination address of the innermost L4 checksum: the IPv4 destination, or
   * the IPv6 final destination (from a Routing header when it has segments left, see pseudo-dst.ts).
   */
  l4DstOff: number = NO_OFFSET;
  /** Start of the innermost L4 payload and end of the data GSO cuts. */
  payOff: number = NO_OFFSET;
  end: number = NO_OFFSET;
  /** Outer IPv6 header followed by extension headers. */
  ipv6Ext = false;

  /**
   * Fill from a packet. `gso` = the packet is a GSO packet: its data then runs to the end of the
   * frame (a GSO-partial chunk's IP length describes one segment only).
   * Returns '' or the drop reason.
   */
  parse(pkt: Packet, gso: boolean): LayoutError {
    this.reset();
    const b = pkt.buf;
    const rec = layersOf(pkt, this.scratch);
    const O = rec.outer;
    this.outer = O;
    this.vlanTags = O.vlanCount;
    this.etherType = O.etherType;
    if (O.mplsOff !== NO_OFFSET) {
      this.mplsOff = O.mplsOff;
      // The stack as mpls-push recorded it (inner network header − network header), else as decoded.
      const stack = pkt.innerNetOff !== NO_OFFSET && pkt.netOff !== NO_OFFSET && !pkt.encapsulation ? pkt.innerNetOff - pkt.netOff : O.netOff - O.mplsOff;
      this.mplsLen = stack;
      if (gso && (stack <= 0 || stack % 4 !== 0 || (O.netOff !== NO_OFFSET && O.mplsOff + stack !== O.netOff))) return 'mpls-gso-bad-stack';
    }
    if (O.netOff === NO_OFFSET || (O.netProto !== ETHER_TYPE.IPV4 && O.netProto !== ETHER_TYPE.IPV6)) {
      return gso ? (O.mplsOff !== NO_OFFSET && O.netOff === NO_OFFSET ? 'mpls-gso-bad-stack' : 'gso-bad-header') : '';
    }
    this.ipOff = O.netOff;
    this.ipV4 = O.netProto === ETHER_TYPE.IPV4;
    this.ipv6Ext = !this.ipV4 && O.ipHdrLen !== 40;

    let L = O;
    if (pkt.encapsulation && pkt.innerMacOff !== NO_OFFSET) {
      if (O.l4Proto !== IP_PROTO.UDP || O.transOff === NO_OFFSET) return gso ? 'gso-bad-header' : '';
      this.tunnel = true;
      this.udpOff = O.transOff;
      this.udpDstOff = this.ipV4 ? O.netOff + 16 : pseudoDstV6(b, O.netOff, O.transOff);
      // The record's inner decode when it is that frame (vxlan-encap, a captured VXLAN super-packet).
      if (rec.hasInner && rec.inner.macOff === pkt.innerMacOff) this.inner = rec.inner;
      else {
        this.inner = this.ownInner;
        decodeFrame(b, pkt.innerMacOff, pkt.tail, this.inner);
      }
      L = this.inner;
      if (L.netOff === NO_OFFSET || (L.netProto !== ETHER_TYPE.IPV4 && L.netProto !== ETHER_TYPE.IPV6)) return gso ? 'gso-bad-header' : '';
      this.innerIpOff = L.netOff;
      this.innerIpV4 = L.netProto === ETHER_TYPE.IPV4;
    }
    this.l4IpOff = L.netOff;
    this.l4IpV4 = L.netProto === ETHER_TYPE.IPV4;
    if (L.transOff === NO_OFFSET || (L.l4Proto !== IP_PROTO.TCP && L.l4Proto !== IP_PROTO.UDP) || L.l4HdrLen === 0) {
      return gso ? 'gso-bad-header' : '';
    }
    if (L.status !== DECODE.OK && !(gso && L.status === DECODE.MALFORMED && L.stopLayer === 'udp')) {
      if (gso) return 'gso-bad-header';
    }
    this.l4Proto = L.l4Proto;
    this.l4Off = L.transOff;
    this.l4HdrLen = L.l4Proto === IP_PROTO.TCP ? tcp.headerLen(b, L.transOff) : udp.HEADER_LEN;
    this.l4DstOff = this.l4IpV4 ? L.netOff + 16 : pseudoDstV6(b, L.netOff, L.transOff);
    this.payOff = this.l4Off + this.l4HdrLen;
    this.end = gso ? pkt.tail : L.ipEnd;
    if (this.payOff > this.end) return gso ? 'gso-bad-header' : '';
    if (gso && (L.isFragment || O.isFragment)) return 'gso-bad-header';
    return '';
  }

  /** Payload bytes GSO cuts. */
  get payloadLen(): number {
    return this.end - this.payOff;
  }

  /** Check the packet's gso_type against the headers (tcp4_gso_segment / udp4_ufo_fragment sanity). */
  matchesGsoType(gsoType: number): boolean {
    if (gsoType & (GSO.TCPV4 | GSO.TCPV6)) {
      if (this.l4Proto !== IP_PROTO.TCP) return false;
      if (gsoType & GSO.TCPV4 && !this.l4IpV4) return false;
      if (gsoType & GSO.TCPV6 && this.l4IpV4) return false;
      return true;
    }
    if (gsoType & GSO.UDP_L4) return this.l4Proto === IP_PROTO.UDP;
    return false;
  }

  /** The TxRequest netif_skb_features reads, for this packet. */
  txRequest(pkt: Packet, gsoSegs: number): TxRequest {
    const b = pkt.buf;
    const dfIp = this.tunnel ? this.innerIpOff : this.l4IpOff;
    const dfV4 = this.tunnel ? this.innerIpV4 : this.l4IpV4;
    // Every field given: a literal, not makeTxRequest's defaults spread under them (one object per packet).
    return {
      gsoType: pkt.gsoSize > 0 ? pkt.gsoType : 0,
      gsoSize: pkt.gsoSize,
      gsoSegs,
      len: pkt.length,
      csumPartial: pkt.csumMode === CSUM.PARTIAL,
      encapsulation: this.tunnel,
      outerProto: this.etherType,
      innerProto: this.tunnel ? this.inner.etherType : this.mplsOff !== NO_OFFSET ? (this.ipV4 ? ETHER_TYPE.IPV4 : ETHER_TYPE.IPV6) : 0,
      vlanTags: this.vlanTags,
      innerIpv4Df: dfV4 && dfIp !== NO_OFFSET ? ipv4.df(b, dfIp) : false,
      ipv6ExtHeaders: this.ipv6Ext,
      tunnelDstPort: this.tunnel ? udp.dstPort(b, this.udpOff) : 0,
    };
  }

  private reset(): void {
    this.tunnel = false;
    this.udpOff = NO_OFFSET;
    this.udpDstOff = NO_OFFSET;
    this.mplsOff = NO_OFFSET;
    this.mplsLen = 0;
    this.vlanTags = 0;
    this.etherType = 0;
    this.ipOff = NO_OFFSET;
    this.ipV4 = false;
    this.innerIpOff = NO_OFFSET;
    this.innerIpV4 = false;
    this.l4Proto = -1;
    this.l4Off = NO_OFFSET;
    this.l4HdrLen = 0;
    this.l4IpOff = NO_OFFSET;
    this.l4IpV4 = false;
    this.l4DstOff = NO_OFFSET;
    this.payOff = NO_OFFSET;
    this.end = NO_OFFSET;
    this.ipv6Ext = false;
  }
}
