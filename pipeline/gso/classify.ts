/**
 * Which captured packets are GSO super-packets, and with which gso_size.
 *
 * A host capture taken with TSO/USO on shows what the socket layer handed the device: TCP
 * segments and UDP datagrams larger than the MTU. `SuperPacketMarker.mark` turns such a packet
 * back into the GSO skb the kernel had, so the gso stage (or vxlan-encap) can segment it.
 * The rule is `MSS_RULE_TEXT` below (shown by `capflow info`).
 */
import { CSUM, GSO, NO_OFFSET, type Packet } from '../packet.js';
import { DECODE, Layers, decodeFrame } from '../decode.js';
import { ETHER_TYPE } from '../wire/ether-type.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import { fold, pseudoV4, pseudoV6 } from '../wire/checksum.js';
import * as ipv4 from '../wire/ipv4.js';
import * as ipv6 from '../wire/ipv6.js';
import * as tcp from '../wire/tcp.js';
import { TCP_FLAG } from '../wire/tcp.js';
import * as udp from '../wire/udp.js';
import { formatIp } from '../wire/ip-address.js';
import type { SuperPacketMarker } from '../../stages/stage.js';

export type MssOption = 'auto' | number;

export interface MarkerOptions {
  /** gso `mss` option: `auto` or a fixed gso_size. */
  mss: MssOption;
  /** Egress MTU (gso `mtu` option, else the NIC profile's). */
  mtu: number;
}

export const MSS_RULE_TEXT = [
  'A TCP segment or UDP datagram (IPv4 or IPv6, under VLAN tags or an MPLS stack) whose frame,',
  'from the network header (top MPLS label) on, is longer than the egress MTU is a GSO super-packet',
  '(what a host with TSO/USO hands its NIC). IP fragments and truncated captures are never marked.',
  'gso_type: TCPV4 or TCPV6 (+TCP_ECN when CWR is set, as tcp_ecn_send marks it); UDP_L4 for UDP.',
  'gso_size with mss=N: N. With mss=auto, for TCP the smaller of',
  '  (a) the MSS option of the peer\'s SYN or SYN-ACK seen earlier in the capture for the reverse',
  '      direction of the flow, less the option bytes this segment carries (e.g. 12 for timestamps), and',
  '  (b) MTU − MPLS stack − IP header (options / extension headers included) − TCP header (options included);',
  '(b) alone when no SYN of the flow was seen. For UDP: MTU − MPLS stack − IP header − 8.',
  'For an inner frame (vxlan-encap), the outer headers up to and including the inner Ethernet header',
  'are subtracted from the MTU as well. A packet whose payload is not longer than gso_size is not',
  'marked. The L4 checksum becomes CHECKSUM_PARTIAL: the field holds the pseudo-header sum over the',
  'super-packet\'s L4 length, as __tcp_v4_send_check / udp4_hwcsum leave a GSO skb.',
].join('\n');

/** The rule gso `mss: auto` applies, as text (for `capflow info` and docs). */
export function describeMssRule(opts?: MarkerOptions): string {
  if (!opts) return MSS_RULE_TEXT;
  return `mss=${opts.mss}, mtu=${opts.mtu}\n${MSS_RULE_TEXT}`;
}

export interface FlowMss {
  /** Direction the MSS limits: "src:port > dst:port" (the data sender first). */
  flow: string;
  /** The MSS option the receiver advertised in its SYN / SYN-ACK. */
  peerMss: number;
}

/** `mark` outcome counters. */
export interface MarkerStats {
  tcp: number;
  udp: number;
  synMssLearned: number;
}

export class SuperPackets implements SuperPacketMarker {
  readonly mtu: number;
  readonly mss: MssOption;
  /** Peer-advertised MSS per data direction key. */
  private readonly peerMss = new Map<string, number>();
  private readonly L = new Layers();
  private readonly outerL = new Layers();
  readonly stats: MarkerStats = { tcp: 0, udp: 0, synMssLearned: 0 };

  constructor(opts: MarkerOptions) {
    this.mtu = opts.mtu;
    this.mss = opts.mss;
  }

  /** The learned SYN MSS values, one entry per data direction. */
  flowSummary(): FlowMss[] {
    return [...this.peerMss].map(([flow, peerMss]) => ({ flow, peerMss }));
  }

  /** The peer MSS learned for data sent from (src, sport) to (dst, dport), or 0. */
  peerMssFor(src: string, sport: number, dst: string, dport: number): number {
    return this.peerMss.get(flowKey(src, sport, dst, dport)) ?? 0;
  }

  mark(pkt: Packet, off: number): boolean {
    if (pkt.gsoSize > 0) return true;
    const b = pkt.buf;
    const L = this.L;
    const st = decodeFrame(b, off, pkt.tail, L);
    if (L.transOff === NO_OFFSET || L.l4HdrLen === 0 || L.isFragment) return false;
    const isTcp = L.l4Proto === IP_PROTO.TCP;
    const isUdp = L.l4Proto === IP_PROTO.UDP;
    if (!isTcp && !isUdp) return false;
    const v4 = L.netProto === ETHER_TYPE.IPV4;
    const ip = L.netOff;
    const t = L.transOff;

    if (isTcp && b[t + tcp.FLAGS]! & TCP_FLAG.SYN) this.learnSyn(b, ip, v4, t, L.l4HdrLen);

    // Length check on what was on the wire (the IP length fields), not on what was captured.
    if (pkt.truncated || st !== DECODE.OK || L.ipLenMismatch) return false;
    const l3Start = L.mplsOff !== NO_OFFSET ? L.mplsOff : ip;
    const declaredEnd = v4 ? ip + ipv4.totalLength(b, ip) : ip + ipv6.HEADER_LEN + ipv6.payloadLength(b, ip);
    const overhead = off > pkt.head ? this.outerOverhead(pkt, off) : 0;
    const mtu = this.mtu - overhead;
    if (declaredEnd - l3Start <= mtu) return false;

    const hdrFixed = ip - l3Start + L.ipHdrLen + L.l4HdrLen;
    const payload = declaredEnd - (t + L.l4HdrLen);
    let size: number;
    if (typeof this.mss === 'number') size = this.mss;
    else {
      size = mtu - hdrFixed;
      if (isTcp) {
        const peer = this.peerMss.get(this.keyOf(b, ip, v4, t, false));
        if (peer !== undefined) size = Math.min(size, peer - (L.l4HdrLen - tcp.HEADER_LEN));
      }
    }
    if (size <= 0 || payload <= size) return false;

    let type: number;
    if (isTcp) {
      type = v4 ? GSO.TCPV4 : GSO.TCPV6;
      if (b[t + tcp.FLAGS]! & TCP_FLAG.CWR) type |= GSO.TCP_ECN;
      this.stats.tcp++;
    } else {
      type = GSO.UDP_L4;
      this.stats.udp++;
    }
    pkt.gsoSize = size;
    pkt.gsoType = type;
    pkt.gsoSegs = Math.ceil(payload / size);

    // CHECKSUM_PARTIAL with the pseudo-header sum over the whole L4 length.
    const l4Len = declaredEnd - t;
    const ps = fold(v4 ? pseudoV4(b, ip + 12, ip + 16, L.l4Proto, l4Len) : pseudoV6(b, ip + 8, ip + 24, L.l4Proto, l4Len));
    const field = t + (isTcp ? tcp.CHECKSUM : udp.CHECKSUM);
    b[field] = ps >>> 8;
    b[field + 1] = ps & 0xff;
    pkt.csumMode = CSUM.PARTIAL;
    pkt.csumStart = t;
    pkt.csumOffset = isTcp ? tcp.CHECKSUM : udp.CHECKSUM;
    if (off === pkt.head) {
      pkt.macOff = off;
      pkt.protocol = L.etherType;
      pkt.transOff = t;
      if (L.mplsOff !== NO_OFFSET) {
        pkt.netOff = L.mplsOff;
        pkt.innerNetOff = ip;
        pkt.innerProtocol = L.netProto;
      } else pkt.netOff = ip;
    }
    return true;
  }

  /** Bytes from the outer network header to the inner network header (outer IP + UDP + VXLAN + inner Ethernet). */
  private outerOverhead(pkt: Packet, innerEth: number): number {
    const O = this.outerL;
    decodeFrame(pkt.buf, pkt.head, innerEth, O);
    const start = O.mplsOff !== NO_OFFSET ? O.mplsOff : O.netOff;
    if (start === NO_OFFSET || start > innerEth) return 0;
    const innerNet = this.L.mplsOff !== NO_OFFSET ? this.L.mplsOff : this.L.netOff;
    return innerNet - start;
  }

  private learnSyn(b: Uint8Array, ip: number, v4: boolean, t: number, hl: number): void {
    const o = tcp.findMssOption(b, t, hl);
    if (o < 0) return;
    // The MSS a SYN advertises limits what the other side sends: key = reverse direction.
    const key = this.keyOf(b, ip, v4, t, true);
    if (!this.peerMss.has(key)) this.stats.synMssLearned++;
    this.peerMss.set(key, tcp.mssValue(b, o));
  }

  private keyOf(b: Uint8Array, ip: number, v4: boolean, t: number, reverse: boolean): string {
    const src = v4 ? formatIp(b.subarray(ip + 12, ip + 16)) : formatIp(b.subarray(ip + 8, ip + 24));
    const dst = v4 ? formatIp(b.subarray(ip + 16, ip + 20)) : formatIp(b.subarray(ip + 24, ip + 40));
    const sp = tcp.srcPort(b, t);
    const dp = tcp.dstPort(b, t);
    return reverse ? flowKey(dst, dp, src, sp) : flowKey(src, sp, dst, dp);
  }
}

function flowKey(src: string, sport: number, dst: string, dport: number): string {
  const s = src.includes(':') ? `[${src}]` : src;
  const d = dst.includes(':') ? `[${dst}]` : dst;
  return `${s}:${sport} > ${d}:${dport}`;
}

/** The marker the pipeline shares between stages. */
export function createSuperPacketMarker(opts: MarkerOptions): SuperPackets {
  return new SuperPackets(opts);
}
