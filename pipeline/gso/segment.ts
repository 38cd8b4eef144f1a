/**
 * Software segmentation of a GSO super-packet: `skb_segment` plus the per-protocol fix-ups of
 * `inet_gso_segment` / `ipv6_gso_segment` (IP lengths, IPv4 ID and header checksum),
 * `tcp_gso_segment` (sequence numbers, FIN/PSH/CWR, checksum), `__udp_gso_segment` (UDP length
 * and checksum per datagram), `__skb_udp_tunnel_segment` (outer UDP length and checksum of a
 * VXLAN tunnel) and `mpls_gso_segment` (the L2 header and label stack repeated verbatim).
 *
 * One engine serves every kind, because all of them are "copy the header bytes, append one
 * payload slice, patch a fixed set of fields":
 *   - VLAN tags and MPLS labels are header bytes and are copied unchanged;
 *   - IPv4 (outer and inner): total length, ID (+k unless TCP_FIXEDID applies), header checksum;
 *   - IPv6 (outer and inner): payload length (extension headers included);
 *   - tunnel outer UDP: length, and its checksum with UDP_TUNNEL_CSUM;
 *   - innermost TCP: seq + k·M, flags, checksum; innermost UDP (UDP_L4): length, checksum.
 *
 * Cost per segment: one native copy of headers + slice into a slab region with HEADROOM, and at
 * most one JS pass over the slice (`sum16`, only when a checksum must be computed). Header sums
 * are taken over the few header bytes only and combined with the slice sum.
 *
 * GSO partial (SKB_GSO_PARTIAL, skb_segment in net/core/skbuff.c): one chunk of ⌊P/M⌋·M payload (when ⌊P/M⌋ ≥ 2) that stays a GSO packet
 * (GSO.PARTIAL, gso_segs = ⌊P/M⌋) with every length except the innermost L4's written for one
 * M-sized segment, plus a normal remainder segment.
 */
import { CSUM, GSO, HEADROOM, NO_OFFSET, Packet } from '../packet.js';
import { finish, fold, pseudoV4, pseudoV6, sum16, udpFinal } from '../wire/checksum.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import { TCP_FLAG } from '../wire/tcp.js';
import { bufferOf, copyRange, setU16 } from '../wire/bytes.js';
import * as ipv4 from '../wire/ipv4.js';
import * as ipv6 from '../wire/ipv6.js';
import * as tcp from '../wire/tcp.js';
import * as udp from '../wire/udp.js';
import type { EgressLayout } from './layout.js';
import { PacketSlab } from '../packet-slab.js';
import { egressPacket } from './fragment.js';

/** How one checksum of the segments is left. */
export const SEG_CSUM = {
  /** Not present / not touched (outer UDP of a tunnel without UDP_TUNNEL_CSUM: stays 0). */
  NONE: 0,
  /** Computed in software (`gso_make_checksum` / LCO). */
  SOFTWARE: 1,
  /** Left CHECKSUM_PARTIAL for the device: the field holds the segment's pseudo-header sum. */
  PARTIAL: 2,
} as const;
export type SegCsum = (typeof SEG_CSUM)[keyof typeof SEG_CSUM];

export interface SegmentPlan {
  /** gso_size M. */
  gsoSize: number;
  /** gso_type of the super-packet (TCP_FIXEDID, UDP_TUNNEL_CSUM... are read from it). */
  gsoType: number;
  /** Innermost L4 checksum. */
  inner: SegCsum;
  /** Outer UDP checksum of a tunnel (NONE without UDP_TUNNEL_CSUM). */
  outer: SegCsum;
  /** GSO partial shape (driver view of a device that finishes the split). */
  partial: boolean;
}

/** Where segments are built outside a recycling pipeline (see packet-slab.ts for the ownership rule). */
const slab = new PacketSlab();

/**
 * Cut `pkt` (described by `lay`, already parsed with gso = true) into segments and pass each to
 * `emit`, in order. The caller has checked that the payload is longer than M.
 * Returns the number of packets emitted.
 */
export function segmentSuperPacket(pkt: Packet, lay: EgressLayout, plan: SegmentPlan, emit: (p: Packet) => void): number {
  const M = plan.gsoSize;
  const P = lay.end - lay.payOff;
  const total = Math.ceil(P / M);
  let units = 0;
  let n = 0;
  // The headers every segment starts with, one view for all (a plain view: `subarray` on a
  // Buffer, a library caller's frame, goes through Buffer's slower species path).
  const src = pkt.buf;
  const headers = new Uint8Array(bufferOf(src), src.byteOffset + pkt.head, lay.payOff - pkt.head);
  if (plan.partial) {
    const chunkSegs = Math.floor(P / M);
    if (chunkSegs >= 2) {
      // The chunk: k·M bytes of payload, a GSO packet with lengths of one M-sized segment.
      const chunkLen = chunkSegs * M;
      emit(buildSegment(pkt, headers, lay, plan, 0, chunkLen, 0, chunkLen >= P, chunkSegs));
      n++;
      units = chunkSegs;
    }
  }
  for (let k = units; k < total; k++) {
    const start = k * M;
    const len = Math.min(M, P - start);
    emit(buildSegment(pkt, headers, lay, plan, start, len, k, k === total - 1, 0));
    n++;
  }
  return n;
}

/**
 * One segment: `headers` (the super-packet's bytes up to the payload) + payload[start, start+len). `k` = segments (of M) before this one
 * (sequence and ID offset). `chunkSegs` > 0: a GSO-partial chunk of that many segments.
 */
function buildSegment(
  pkt: Packet,
  headers: Uint8Array,
  lay: EgressLayout,
  plan: SegmentPlan,
  start: number,
  len: number,
  k: number,
  last: boolean,
  chunkSegs: number,
): Packet {
  const src = pkt.buf;
  const head = pkt.head;
  const hdrLen = headers.length;
  const segLen = hdrLen + len;
  // Headroom of at least HEADROOM, grown by 0-3 bytes so the payload starts 4-byte aligned (sum16
  // then sums it as whole words from its first byte).
  // The segment's region of a shared slab (8-byte aligned, so the alignment holds there too).
  const pad = (4 - ((HEADROOM + hdrLen) & 3)) & 3;
  const from = pkt.arena ?? slab;
  const floor = from.take(HEADROOM + pad + segLen, HEADROOM + pad);
  const b = from.buf;
  const room = floor + HEADROOM + pad;
  const d = room - head;
  b.set(headers, room);
  const dstPay = room + hdrLen;
  copyRange(src, lay.payOff + start, b, dstPay, len);

  const M = plan.gsoSize;
  const gsoType = plan.gsoType;
  const first = k === 0;
  // Lengths of every header but the innermost L4 describe one M-sized segment in a partial chunk.
  const hdrPay = chunkSegs > 0 ? M : len;
  const payEnd = lay.payOff + d + hdrPay;

  // Network headers. Innermost IPv4 keeps a fixed ID with TCP_FIXEDID; an outer tunnel header always increments.
  if (lay.tunnel) {
    fixIp(b, lay.ipOff + d, lay.ipV4, payEnd, k, false);
    fixIp(b, lay.innerIpOff + d, lay.innerIpV4, payEnd, k, (gsoType & GSO.TCP_FIXEDID) !== 0);
    udp.setLength(b, lay.udpOff + d, payEnd - (lay.udpOff + d));
  } else {
    fixIp(b, lay.ipOff + d, lay.ipV4, payEnd, k, (gsoType & GSO.TCP_FIXEDID) !== 0);
  }

  // Innermost L4.
  const l4 = lay.l4Off + d;
  const l4Len = lay.payOff - lay.l4Off + len;
  const isTcp = lay.l4Proto === IP_PROTO.TCP;
  let csumField: number;
  if (isTcp) {
    tcp.setSeq(b, l4, (tcp.seq(src, lay.l4Off) + k * M) >>> 0);
    let f = tcp.flags(b, l4);
    if (!last) f &= ~(TCP_FLAG.FIN | TCP_FLAG.PSH);
    if (!first) f &= ~TCP_FLAG.CWR;
    tcp.setFlags(b, l4, f);
    csumField = l4 + tcp.CHECKSUM;
  } else {
    udp.setLength(b, l4, l4Len);
    csumField = l4 + udp.CHECKSUM;
  }
  // Pseudo-header destination: for IPv6 with a Routing header the final destination (lay.l4DstOff).
  const ip = lay.l4IpOff + d;
  const pseudo = lay.l4IpV4
    ? pseudoV4(b, ip + ipv4.SRC_ADDR, ip + ipv4.DST_ADDR, lay.l4Proto, l4Len)
    : pseudoV6(b, ip + ipv6.SRC_ADDR, lay.l4DstOff + d, lay.l4Proto, l4Len);

  const needSum = plan.inner === SEG_CSUM.SOFTWARE || plan.outer === SEG_CSUM.SOFTWARE;
  let innerSum = 0; // L4 header (field 0) + payload, unfolded
  let innerFinal = 0;
  if (needSum) {
    setU16(b, csumField, 0);
    innerSum = sum16(b, l4, l4 + (lay.payOff - lay.l4Off), sum16(b, dstPay, dstPay + len));
    innerFinal = finish(pseudo + innerSum);
    if (!isTcp) innerFinal = udpFinal(innerFinal);
  }
  setU16(b, csumField, plan.inner === SEG_CSUM.SOFTWARE ? innerFinal : fold(pseudo));

  // Tunnel outer UDP checksum (UDP_TUNNEL_CSUM), covering the inner bytes as they leave the NIC.
  let outerPartial = false;
  if (lay.tunnel && plan.outer !== SEG_CSUM.NONE) {
    const u = lay.udpOff + d;
    const uLen = room + segLen - u; // real length of the UDP datagram in this segment
    const oip = lay.ipOff + d;
    const opseudo = lay.ipV4
      ? pseudoV4(b, oip + ipv4.SRC_ADDR, oip + ipv4.DST_ADDR, IP_PROTO.UDP, uLen)
      : pseudoV6(b, oip + ipv6.SRC_ADDR, lay.udpDstOff + d, IP_PROTO.UDP, uLen);
    if (plan.outer === SEG_CSUM.SOFTWARE) {
      udp.setChecksum(b, u, 0);
      // LCO: the inner L4 as it will be on the wire sums to innerSum + its final checksum.
      const s = sum16(b, u, l4, opseudo + innerSum + innerFinal);
      udp.setChecksum(b, u, udpFinal(finish(s)));
    } else {
      udp.setChecksum(b, u, fold(opseudo));
      outerPartial = true;
    }
  }

  const seg = egressPacket(pkt.arena, b, room, room + segLen, segLen, floor);
  seg.copyStateFrom(pkt, d);
  if (chunkSegs > 0) {
    seg.gsoSize = M;
    seg.gsoType = gsoType | GSO.PARTIAL;
    seg.gsoSegs = chunkSegs;
  } else {
    seg.gsoSize = 0;
    seg.gsoType = 0;
    seg.gsoSegs = 0;
  }
  if (plan.inner === SEG_CSUM.PARTIAL) {
    seg.csumMode = CSUM.PARTIAL;
    seg.csumStart = l4;
    seg.csumOffset = csumField - l4;
  } else if (outerPartial) {
    seg.csumMode = CSUM.PARTIAL;
    seg.csumStart = lay.udpOff + d;
    seg.csumOffset = udp.CHECKSUM;
  } else {
    seg.csumMode = CSUM.NONE;
    seg.csumStart = floor; // offset 0 of the segment's own bytes (as 0 was in a buffer of its own)
    seg.csumOffset = 0;
  }
  return seg;
}

/** Length, ID and header checksum of one IP header of a segment whose (header-)payload ends at payEnd. */
function fixIp(b: Uint8Array, off: number, v4: boolean, payEnd: number, k: number, fixedId: boolean): void {
  if (off < 0 || off === NO_OFFSET) return;
  if (v4) {
    ipv4.setTotalLength(b, off, payEnd - off);
    if (!fixedId && k !== 0) ipv4.setId(b, off, (ipv4.id(b, off) + k) & 0xffff);
    // Header checksum over IHL·4 bytes (20..60), summed inline: no general sum16 per segment.
    ipv4.setChecksum(b, off, 0);
    const hend = off + ipv4.headerLen(b, off);
    let s = 0;
    for (let i = off; i < hend; i += 2) s += (b[i]! << 8) | b[i + 1]!;
    s = (s & 0xffff) + (s >>> 16);
    s = (s & 0xffff) + (s >>> 16);
    ipv4.setChecksum(b, off, ~s & 0xffff);
  } else {
    ipv6.setPayloadLength(b, off, payEnd - off - ipv6.HEADER_LEN);
  }
}
