/**
 * The checksum state of a packet at ingress, in the kernel's terms (`skb->ip_summed`).
 *
 * A capture taken on a host with transmit checksum offload shows every locally sent TCP/UDP
 * packet as the stack handed it to the device: CHECKSUM_PARTIAL, its L4 checksum field holding
 * the folded pseudo-header sum over the L4 length (`__tcp_v4_send_check`, `udp4_hwcsum`,
 * `udp_set_csum` for the outer UDP header of a tunnel), not only the TSO super-packets. Such a
 * packet is given back its CHECKSUM_PARTIAL state here, so the egress completes it exactly as
 * `validate_xmit_skb` would (skb_checksum_help when the device can't checksum it, always in the
 * wire view).
 *
 * The layer looked at: the L4 header of the frame inside a VXLAN frame (UDP to one of the
 * pipeline's `vxlanPorts`) first, then the outer one (a tunnel with a complete inner checksum
 * and `udp_set_csum` leaving the outer partial); behind VLAN tags and under an MPLS stack too.
 * One checksum per packet can be partial, as in the kernel (one csum_start/csum_offset).
 */
import { u16 } from './wire/bytes.js';
import { CSUM, NO_OFFSET, type Packet } from './packet.js';
import { DECODE, type Layers } from './decode.js';
import { LayerRecord, layersOf, vxlanPortTable } from './layer-record.js';
import { ETHER_TYPE } from './wire/ether-type.js';
import { IP_PROTO } from './wire/ip-proto.js';
import { fold, pseudoV4, pseudoV6, sum16 } from './wire/checksum.js';
import * as ipv4 from './wire/ipv4.js';
import * as ipv6 from './wire/ipv6.js';
import * as tcp from './wire/tcp.js';
import * as udp from './wire/udp.js';
import * as vxlan from './wire/vxlan.js';
import { pseudoDstV6 } from './gso/pseudo-dst.js';

/** What an L4 checksum field holds, as far as ingress can tell without summing every packet. */
export const L4_CSUM = {
  /** No TCP/UDP header decoded, a fragment, or a truncated capture. */
  UNKNOWN: 0,
  /** Not the partial value (complete or bad: not summed; see `verify` of l4State). */
  FILLED: 1,
  /** The folded pseudo-header sum, and it does not verify: CHECKSUM_PARTIAL. */
  PARTIAL: 2,
  /** UDP over IPv4 with a zero field: no checksum. */
  NONE: 3,
  /** Verified (l4State with `verify`): it sums to 0xffff with the pseudo-header. */
  COMPLETE: 4,
  /** Verified (l4State with `verify`): neither complete, partial nor none. */
  BAD: 5,
} as const;
export type L4CsumState = (typeof L4_CSUM)[keyof typeof L4_CSUM];

export class IngressChecksums {
  /** Decoded into only for a packet without a layer record (not in a pipeline). */
  private readonly scratch: LayerRecord;
  /** Packets found partial (their checksum left for the egress). */
  partial = 0;

  /**
   * `countBad`: tell bad checksums from complete ones (classify's result), at the price of a sum
   * over every TCP/UDP packet; without it, classify sums only a checksum that equals the partial
   * value and returns false.
   */
  constructor(
    vxlanPorts: readonly number[],
    private readonly countBad = false,
  ) {
    this.scratch = new LayerRecord(vxlanPortTable(vxlanPorts));
  }

  /**
   * Mark the packet CHECKSUM_PARTIAL (csumStart/csumOffset) when one of its L4 checksums is
   * partial. A packet already partial (from a stage) or snaplen-truncated is left alone.
   * With `countBad`, returns true when a checksum is bad: an IPv4 header, or a TCP/UDP checksum
   * that is neither complete, partial nor none, outside or inside VXLAN. Telling bad from complete
   * sums each checksummed byte once per packet (what the kernel's receive path does,
   * `__skb_checksum_complete`); the packet is forwarded unchanged all the same.
   */
  classify(pkt: Packet): boolean {
    if (pkt.csumMode === CSUM.PARTIAL || pkt.truncated) return false;
    const b = pkt.buf;
    const rec = layersOf(pkt, this.scratch);
    const O = rec.outer;
    const verify = this.countBad;
    let bad = verify && badIpv4Header(b, O);
    if (O.transOff === NO_OFFSET || O.isFragment || O.ipLenMismatch) return bad;
    // The frame inside VXLAN (decoded up to the UDP end, which the IP datagram holds here).
    if (rec.hasInner && O.status === DECODE.OK && vxlan.hasVni(b, O.transOff + udp.HEADER_LEN)) {
      const I = rec.inner;
      if (verify && badIpv4Header(b, I)) bad = true;
      const inner = I.ipLenMismatch ? L4_CSUM.UNKNOWN : l4State(b, I, verify);
      // The outer checksum of a tunnel whose inner one is partial was computed as if the inner
      // one were complete (local checksum offload, `udp_set_csum`): not verifiable as it is.
      if (inner === L4_CSUM.PARTIAL) {
        this.mark(pkt, I);
        return bad;
      }
      if (inner === L4_CSUM.BAD) bad = true;
    }
    const outer = l4State(b, O, verify);
    if (outer === L4_CSUM.PARTIAL) this.mark(pkt, O);
    return bad || outer === L4_CSUM.BAD;
  }

  private mark(pkt: Packet, L: Layers): void {
    pkt.csumMode = CSUM.PARTIAL;
    pkt.csumStart = L.transOff;
    pkt.csumOffset = L.l4Proto === IP_PROTO.TCP ? tcp.CHECKSUM : udp.CHECKSUM;
    this.partial++;
  }
}

/** An IPv4 header, captured whole, whose checksum does not verify. */
function badIpv4Header(b: Uint8Array, L: Layers): boolean {
  return L.netProto === ETHER_TYPE.IPV4 && L.ipHdrLen >= ipv4.HEADER_LEN && L.netOff + L.ipHdrLen <= L.ipEnd && !ipv4.verifyChecksum(b, L.netOff);
}

/**
 * The state of the TCP/UDP checksum of the decoded layers L. Without `verify` a checksum that is
 * not the partial value is FILLED (complete or bad, not summed); with it, COMPLETE or BAD.
 */
export function l4State(b: Uint8Array, L: Layers, verify = false): L4CsumState {
  const t = L.transOff;
  if (t === NO_OFFSET || L.isFragment || L.status !== DECODE.OK) return L4_CSUM.UNKNOWN;
  const isTcp = L.l4Proto === IP_PROTO.TCP;
  if (!isTcp && L.l4Proto !== IP_PROTO.UDP) return L4_CSUM.UNKNOWN;
  const v4 = L.netProto === ETHER_TYPE.IPV4;
  // UDP covers its own length (the IP datagram may carry more); TCP runs to the datagram end.
  const end = isTcp ? L.ipEnd : t + udp.length(b, t);
  if (end > L.ipEnd) return L4_CSUM.UNKNOWN;
  const field = t + (isTcp ? tcp.CHECKSUM : udp.CHECKSUM);
  const value = u16(b, field);
  if (!isTcp && v4 && value === 0) return L4_CSUM.NONE;
  const ip = L.netOff;
  const proto = isTcp ? IP_PROTO.TCP : IP_PROTO.UDP;
  const ps = v4 ? pseudoV4(b, ip + ipv4.SRC_ADDR, ip + ipv4.DST_ADDR, proto, end - t) : pseudoV6(b, ip + ipv6.SRC_ADDR, pseudoDstV6(b, ip, t), proto, end - t);
  if (value !== fold(ps)) {
    if (!verify) return L4_CSUM.FILLED;
    return fold(sum16(b, t, end, ps)) === 0xffff ? L4_CSUM.COMPLETE : L4_CSUM.BAD;
  }
  // The pseudo-header sum can also be the right checksum of some payload: only then sum it all.
  if (fold(sum16(b, t, end, ps)) !== 0xffff) return L4_CSUM.PARTIAL;
  return verify ? L4_CSUM.COMPLETE : L4_CSUM.FILLED;
}
