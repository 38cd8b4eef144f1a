/**
 * Which captured packets are GSO super-packets, and with which gso_size.
 *
 * A host capture taken with TSO/USO on shows what the socket layer handed the device: TCP
 * segments and UDP datagrams larger than the MTU. `SuperPacketMarker.mark` turns such a packet
 * back into the GSO skb the kernel had, so the gso stage (or vxlan-encap) can segment it.
 * A capture taken on a VXLAN host's underlay with tunnel TSO on shows VXLAN frames larger than
 * the MTU: those become UDP-tunnel GSO skbs, as vxlan-encap would have marked them.
 * The rule is `MSS_RULE_TEXT` below (shown by `capflow info`).
 */
import { u16, setU16 } from '../wire/bytes.js';
import { CSUM, GSO, NO_OFFSET, type Packet } from '../packet.js';
import { DECODE, Layers, decodeFrame } from '../decode.js';
import { LayerRecord, layersOf, vxlanPortTable } from '../layer-record.js';
import { ETHER_TYPE } from '../wire/ether-type.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import { fold, pseudoV4, pseudoV6, sum16 } from '../wire/checksum.js';
import * as ipv4 from '../wire/ipv4.js';
import * as ipv6 from '../wire/ipv6.js';
import * as tcp from '../wire/tcp.js';
import { TCP_FLAG } from '../wire/tcp.js';
import * as udp from '../wire/udp.js';
import * as vxlan from '../wire/vxlan.js';
import * as ethernet from '../wire/ethernet.js';
import { formatIp } from '../wire/ip-address.js';
import { pseudoDstV6 } from './pseudo-dst.js';
import type { EgressView } from '../egress.js';

export type MssOption = 'auto' | number;

/** UDP destination ports taken as VXLAN by default (the one list in wire/vxlan.ts). */
export const DEFAULT_VXLAN_PORTS: readonly number[] = vxlan.DEFAULT_PORTS;

export interface MarkerOptions {
  /** gso `mss` option: `auto` or a fixed gso_size. */
  mss: MssOption;
  /** Egress MTU (gso `mtu` option, else the NIC profile's). */
  mtu: number;
  /** UDP destination ports whose over-MTU frames are VXLAN super-packets (gso `vxlanPorts`). */
  vxlanPorts?: readonly number[];
  /**
   * Decide and record (gso fields, offsets, per-flow summary) without writing the packet's
   * bytes: no checksum field is rewritten (`capflow info`, which only reads).
   */
  readOnly?: boolean;
}

export const MSS_RULE_TEXT = [
  'A TCP segment or UDP datagram (IPv4 or IPv6, under VLAN tags or an MPLS stack) whose frame,',
  'from the network header (top MPLS label) on, is longer than the egress MTU is a GSO super-packet',
  '(what a host with TSO/USO hands its NIC). IP fragments and truncated captures are never marked.',
  'gso_type: TCPV4 or TCPV6 (+TCP_ECN when CWR is set, as tcp_ecn_send marks it); UDP_L4 for UDP.',
  'A VXLAN frame (UDP destination port in vxlanPorts, default 4789 and 8472, I flag set) longer than',
  'the MTU whose inner Ethernet frame carries such a TCP segment or UDP datagram is a UDP-tunnel',
  'super-packet (a host with tunnel TSO): the inner type + UDP_TUNNEL when the outer UDP checksum',
  'is 0, + UDP_TUNNEL_CSUM otherwise (the field then becomes the pseudo-header sum, as udp_set_csum',
  'leaves a GSO skb), encapsulation with inner offsets, inner protocol 0x6558.',
  'gso_size with mss=N: N. With mss=auto, for TCP the smaller of',
  '  (a) the MSS option of the peer\'s SYN or SYN-ACK seen earlier in the capture for the reverse',
  '      direction of the flow, less the option bytes this segment carries (e.g. 12 for timestamps), and',
  '  (b) MTU − MPLS stack − IP header (options / extension headers included) − TCP header (options included);',
  '(b) alone when no SYN of the flow was seen. For UDP: MTU − MPLS stack − IP header − 8.',
  'For the inner frame of a captured VXLAN super-packet, and for a frame vxlan-encap is about to',
  'encapsulate (a super-packet when its own IP packet is longer than the MTU), the outer headers up',
  'to and including the inner Ethernet header are subtracted from the MTU as well, so that every',
  'segment fits the MTU once encapsulated. A packet whose payload',
  'is not longer than gso_size is not marked. The (inner) L4 checksum becomes CHECKSUM_PARTIAL: the',
  'field holds the pseudo-header sum over the super-packet\'s L4 length, as __tcp_v4_send_check /',
  'udp4_hwcsum leave a GSO skb (IPv6 with a Routing header: over the final destination).',
].join('\n');

/** The rule gso `mss: auto` applies, as text (for `capflow info` and docs). */
export function describeMssRule(opts?: MarkerOptions): string {
  if (!opts) return MSS_RULE_TEXT;
  const ports = opts.vxlanPorts ?? DEFAULT_VXLAN_PORTS;
  return `mss=${opts.mss}, mtu=${opts.mtu}, vxlanPorts=${ports.join(',')}\n${MSS_RULE_TEXT}`;
}

export interface FlowMss {
  /** Direction the MSS limits: "src:port > dst:port" (the data sender first). */
  flow: string;
  /** The MSS option the receiver advertised in its SYN / SYN-ACK. */
  peerMss: number;
}

/** How gso_size was chosen for the super-packets of one flow (`capflow info`, `SuperPackets.autoMss()`). */
export interface FlowGso {
  /** Data direction "src:port > dst:port" (inner addresses for a VXLAN super-packet). */
  flow: string;
  proto: 'tcp' | 'udp';
  /** The super-packets were inner frames of captured VXLAN super-packets. */
  vxlan: boolean;
  /** gso_size chosen. */
  gsoSize: number;
  /** Super-packets of the flow marked with this gso_size. */
  superPackets: number;
  /** `mss`: the fixed gso `mss` option; `peer-syn`: rule (a); `mtu`: rule (b). */
  source: 'mss' | 'peer-syn' | 'mtu';
  /** Peer SYN MSS option (0 when no SYN of the flow was seen). */
  peerMss: number;
  /** TCP option bytes the super-packet carries (subtracted from the peer MSS). */
  optionBytes: number;
  /** The terms of rule (b): egress MTU, outer headers (VXLAN), MPLS stack, IP header, L4 header. */
  mtu: number;
  outer: number;
  mpls: number;
  ipHeader: number;
  l4Header: number;
  /** One line, e.g. "peer SYN MSS 1400 − 12 option bytes" or "MTU 1500 − 20 IP − 32 TCP". */
  reason: string;
}

/** `mark` outcome counters. */
export interface MarkerStats {
  tcp: number;
  udp: number;
  /** Of tcp + udp: captured VXLAN super-packets (UDP tunnel GSO). */
  vxlan: number;
  synMssLearned: number;
}

/** Outer facts of a VXLAN frame, for marking its inner frame. */
interface TunnelCtx {
  /** Outer frame qualifies (not truncated, consistent lengths) and is longer than the MTU. */
  markable: boolean;
  /** Outer datagram end per its IP length (= the outer UDP end). */
  end: number;
  /** Bytes from the outer network header (top label) to the inner network header. */
  overhead: number;
}

export class SuperPackets implements EgressView {
  readonly mtu: number;
  readonly mss: MssOption;
  /** Peer-advertised MSS per data direction key. */
  private readonly peerMss = new Map<string, number>();
  private readonly flows = new Map<string, FlowGso>();
  /** The key strings of the directions seen, found again from the header bytes (no string per packet). */
  private readonly keys = new FlowKeys();
  /** The outer facts of the VXLAN frame being marked (one object, rewritten per packet). */
  private readonly tun: TunnelCtx = { markable: false, end: 0, overhead: 0 };
  /** Decoded into only for a frame that is not the packet's (or a packet without a layer record). */
  private readonly L = new Layers();
  private readonly innerL = new Layers();
  private scratch: LayerRecord;
  /** The VXLAN ports as given; per packet the scratch record's port table is read instead (an index, not a hash lookup). */
  private ports: ReadonlySet<number>;
  private readonly readOnly: boolean;
  /** The current `mark` call's `onlyPartial`. */
  private onlyPartial = false;
  readonly stats: MarkerStats = { tcp: 0, udp: 0, vxlan: 0, synMssLearned: 0 };

  constructor(opts: MarkerOptions) {
    this.mtu = opts.mtu;
    this.mss = opts.mss;
    this.ports = new Set(opts.vxlanPorts ?? DEFAULT_VXLAN_PORTS);
    this.scratch = new LayerRecord(vxlanPortTable([...this.ports]));
    this.readOnly = opts.readOnly ?? false;
  }

  /** UDP destination ports taken as VXLAN. */
  get vxlanPorts(): number[] {
    return [...this.ports];
  }

  /** Forget the flows, handshakes and counts seen: as just made (Pipeline.reset). */
  reset(): void {
    this.peerMss.clear();
    this.flows.clear();
    this.keys.clear();
    this.onlyPartial = false;
    this.stats.tcp = this.stats.udp = this.stats.vxlan = this.stats.synMssLearned = 0;
  }

  /** Replace the VXLAN port set (the gso stage applies its `vxlanPorts` option to the shared marker). */
  setVxlanPorts(ports: readonly number[]): void {
    this.ports = new Set(ports);
    this.scratch = new LayerRecord(vxlanPortTable(ports));
  }

  /** The options this marker applies (for describeMssRule). */
  get options(): MarkerOptions {
    return { mss: this.mss, mtu: this.mtu, vxlanPorts: this.vxlanPorts };
  }

  /** The learned SYN MSS values, one entry per data direction. */
  flowSummary(): FlowMss[] {
    return [...this.peerMss].map(([flow, peerMss]) => ({ flow, peerMss }));
  }

  /** gso_size per flow for the super-packets marked so far, with the reason (first seen first). */
  autoMss(): FlowGso[] {
    return [...this.flows.values()].map((f) => ({ ...f }));
  }

  /** The peer MSS learned for data sent from (src, sport) to (dst, dport), or 0. */
  peerMssFor(src: string, sport: number, dst: string, dport: number): number {
    return this.peerMss.get(flowKey(src, sport, dst, dport)) ?? 0;
  }

  /**
   * `onlyPartial`: the packet is at the size it was captured with and the user gave no MTU: it
   * is a super-packet only when its (inner) L4 checksum is partial, the pseudo-header sum a
   * host capture with TSO shows; with a complete checksum it crossed a link of a larger MTU.
   */
  mark(pkt: Packet, off: number, outerLen = 0, onlyPartial = false): boolean {
    if (pkt.gsoSize > 0) return true;
    this.onlyPartial = onlyPartial;
    // The packet's own frame: its layer record (decoded at ingress) says where everything is.
    const rec = off === pkt.head ? layersOf(pkt, this.scratch) : null;
    const L = rec ? rec.outer : this.L;
    const st = rec ? L.status : decodeFrame(pkt.buf, off, pkt.tail, L);
    if (rec && outerLen === 0 && !pkt.encapsulation && this.ports.size > 0) {
      const inner = this.vxlanInner(pkt, L, st);
      if (inner !== NO_OFFSET) return this.markTunnel(pkt, L, inner, rec);
    }
    return this.classify(pkt, off, L, st, null, outerLen);
  }

  /** The inner Ethernet header of a VXLAN frame (decoded in L), else NO_OFFSET. */
  private vxlanInner(pkt: Packet, L: Layers, st: number): number {
    if (L.l4Proto !== IP_PROTO.UDP || L.transOff === NO_OFFSET || L.isFragment || st !== DECODE.OK) return NO_OFFSET;
    const u = L.transOff;
    const b = pkt.buf;
    if (this.scratch.ports[udp.dstPort(b, u)] !== 1) return NO_OFFSET;
    const vx = u + udp.HEADER_LEN;
    if (vx + vxlan.HEADER_LEN + ethernet.HEADER_LEN > pkt.tail || !vxlan.hasVni(b, vx)) return NO_OFFSET;
    return vx + vxlan.HEADER_LEN;
  }

  /**
   * A VXLAN frame: the inner frame decides (and learns its SYNs); when it is a super-packet and
   * the outer frame is longer than the MTU, the packet becomes a UDP-tunnel GSO packet exactly as
   * vxlan-encap marks one (udp_tunnel_xmit_skb + udp_set_csum).
   */
  private markTunnel(pkt: Packet, O: Layers, innerEth: number, rec: LayerRecord): boolean {
    const b = pkt.buf;
    const v4 = O.netProto === ETHER_TYPE.IPV4;
    const ip = O.netOff;
    const u = O.transOff;
    const l3Start = O.mplsOff !== NO_OFFSET ? O.mplsOff : ip;
    const end = v4 ? ip + ipv4.totalLength(b, ip) : ip + ipv6.HEADER_LEN + ipv6.payloadLength(b, ip);
    const consistent = !pkt.truncated && !O.ipLenMismatch && udp.length(b, u) === end - u;
    // The record's inner decode (to the UDP end) when it follows this port, else one of our own.
    const own = !rec.hasInner || rec.inner.macOff !== innerEth;
    const I = own ? this.innerL : rec.inner;
    const ist = own ? decodeFrame(b, innerEth, pkt.tail, I) : I.status;
    const innerStart = I.mplsOff !== NO_OFFSET ? I.mplsOff : I.netOff;
    const tun = this.tun;
    tun.markable = consistent && end - l3Start > this.mtu && innerStart !== NO_OFFSET;
    tun.end = end;
    tun.overhead = innerStart === NO_OFFSET ? 0 : innerStart - l3Start;
    if (!this.classify(pkt, innerEth, I, ist, tun)) return false;

    // Outer UDP checksum: 0 → SKB_GSO_UDP_TUNNEL (stays 0 on every segment); anything else →
    // UDP_TUNNEL_CSUM, the field being the pseudo-header sum over the whole datagram.
    const csum = udp.checksum(b, u) !== 0;
    pkt.gsoType |= csum ? GSO.UDP_TUNNEL_CSUM : GSO.UDP_TUNNEL;
    if (csum && !this.readOnly) {
      const udpLen = end - u;
      const ps = v4 ? pseudoV4(b, ip + ipv4.SRC_ADDR, ip + ipv4.DST_ADDR, IP_PROTO.UDP, udpLen) : pseudoV6(b, ip + ipv6.SRC_ADDR, pseudoDstV6(b, ip, u), IP_PROTO.UDP, udpLen);
      udp.setChecksum(b, u, fold(ps));
    }
    pkt.macOff = pkt.head;
    pkt.protocol = O.etherType;
    pkt.netOff = l3Start;
    pkt.transOff = u;
    pkt.innerMacOff = innerEth;
    pkt.innerNetOff = I.netOff;
    pkt.innerTransOff = I.transOff;
    pkt.innerProtocol = ETHER_TYPE.TEB;
    pkt.encapsulation = true;
    this.stats.vxlan++;
    return true;
  }

  /**
   * The TCP/UDP rule on the frame at `off` (decoded in L with status st). `tun`: the frame is
   * the inner frame of a VXLAN frame with these outer facts.
   */
  private classify(pkt: Packet, off: number, L: Layers, st: number, tun: TunnelCtx | null, outerLen = 0): boolean {
    const b = pkt.buf;
    if (L.transOff === NO_OFFSET || L.l4HdrLen === 0 || L.isFragment) return false;
    const isTcp = L.l4Proto === IP_PROTO.TCP;
    const isUdp = L.l4Proto === IP_PROTO.UDP;
    if (!isTcp && !isUdp) return false;
    const v4 = L.netProto === ETHER_TYPE.IPV4;
    const ip = L.netOff;
    const t = L.transOff;

    if (isTcp && tcp.flags(b, t) & TCP_FLAG.SYN) this.learnSyn(b, ip, v4, t, L.l4HdrLen);

    // Length check on what was on the wire (the IP length fields), not on what was captured.
    if (pkt.truncated || st !== DECODE.OK || L.ipLenMismatch) return false;
    // A VXLAN frame (UDP to a VXLAN port, I flag set) is a super-packet only as a whole (markTunnel),
    // never cut as UDP_L4 (skb_udp_tunnel_segment segments one tunnel level; pieces of a VXLAN
    // payload are no VXLAN frames).
    if (isUdp && this.scratch.ports[udp.dstPort(b, t)] === 1 && t + udp.HEADER_LEN + vxlan.HEADER_LEN <= pkt.tail && vxlan.hasVni(b, t + udp.HEADER_LEN)) return false;
    const l3Start = L.mplsOff !== NO_OFFSET ? L.mplsOff : ip;
    const declaredEnd = v4 ? ip + ipv4.totalLength(b, ip) : ip + ipv6.HEADER_LEN + ipv6.payloadLength(b, ip);
    let overhead = 0;
    if (tun) {
      // The inner datagram fills the VXLAN payload exactly (no padding in a super-packet).
      if (!tun.markable || declaredEnd !== tun.end) return false;
      overhead = tun.overhead;
    } else if (outerLen > 0) {
      // A frame about to be encapsulated (vxlan-encap): it is a super-packet only when it could
      // not have crossed the link without TSO (larger than the MTU itself, as the kernel's
      // socket would not build it otherwise), but its segments must fit the MTU with the outer
      // headers (outer IP + UDP + VXLAN + the inner L2 header) in front.
      if (declaredEnd - l3Start <= this.mtu) return false;
      overhead = outerLen + (l3Start - off);
    }
    const mtu = this.mtu - overhead;
    if (declaredEnd - l3Start <= mtu) return false;
    // Before the gso_size (whose peer-MSS lookup builds the flow's key): most over-MTU packets
    // of a capture with complete checksums stop here.
    if (this.onlyPartial && !partialChecksum(pkt, ip, v4, t, isTcp, declaredEnd)) return false;

    const hdrFixed = ip - l3Start + L.ipHdrLen + L.l4HdrLen;
    const payload = declaredEnd - (t + L.l4HdrLen);
    let size: number;
    let source: FlowGso['source'] = 'mtu';
    let peer = 0;
    const optBytes = isTcp ? L.l4HdrLen - tcp.HEADER_LEN : 0;
    if (typeof this.mss === 'number') {
      size = this.mss;
      source = 'mss';
    } else {
      size = mtu - hdrFixed;
      if (isTcp) {
        peer = this.peerMss.get(this.keys.of(b, ip, v4, t, false).key) ?? 0;
        if (peer > 0 && peer - optBytes < size) {
          size = peer - optBytes;
          source = 'peer-syn';
        }
      }
    }
    if (size <= 0 || payload <= size) return false;

    let type: number;
    if (isTcp) {
      type = v4 ? GSO.TCPV4 : GSO.TCPV6;
      if (tcp.flags(b, t) & TCP_FLAG.CWR) type |= GSO.TCP_ECN;
      this.stats.tcp++;
    } else {
      type = GSO.UDP_L4;
      this.stats.udp++;
    }
    pkt.gsoSize = size;
    pkt.gsoType = type;
    pkt.gsoSegs = Math.ceil(payload / size);
    this.record(b, ip, v4, t, isTcp, tun !== null, size, source, peer, optBytes, overhead, ip - l3Start, L.ipHdrLen, L.l4HdrLen);

    // CHECKSUM_PARTIAL with the pseudo-header sum over the whole L4 length.
    const l4Len = declaredEnd - t;
    if (!this.readOnly) {
      const ps = fold(v4 ? pseudoV4(b, ip + ipv4.SRC_ADDR, ip + ipv4.DST_ADDR, L.l4Proto, l4Len) : pseudoV6(b, ip + ipv6.SRC_ADDR, pseudoDstV6(b, ip, t), L.l4Proto, l4Len));
      const field = t + (isTcp ? tcp.CHECKSUM : udp.CHECKSUM);
      setU16(b, field, ps);
    }
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

  private record(
    b: Uint8Array,
    ip: number,
    v4: boolean,
    t: number,
    isTcp: boolean,
    inVxlan: boolean,
    gsoSize: number,
    source: FlowGso['source'],
    peerMss: number,
    optionBytes: number,
    outer: number,
    mpls: number,
    ipHeader: number,
    l4Header: number,
  ): void {
    const dir = this.keys.of(b, ip, v4, t, false);
    const proto = isTcp ? 'tcp' : 'udp';
    // The super-packets of a direction mostly share one summary: found without building its key.
    const last = dir.summary;
    if (last && last.gsoSize === gsoSize && last.source === source && last.vxlan === inVxlan && last.proto === proto) {
      last.superPackets++;
      return;
    }
    const flow = dir.key;
    const k = `${proto} ${flow} ${gsoSize} ${source}${inVxlan ? ' vxlan' : ''}`;
    const have = this.flows.get(k);
    if (have) {
      have.superPackets++;
      dir.summary = have;
      return;
    }
    const f: FlowGso = { flow, proto, vxlan: inVxlan, gsoSize, superPackets: 1, source, peerMss, optionBytes, mtu: this.mtu, outer, mpls, ipHeader, l4Header, reason: '' };
    f.reason = flowReason(f);
    this.flows.set(k, f);
    dir.summary = f;
  }

  /** A SYN's MSS option, for the data the other side sends. */
  private learnSyn(b: Uint8Array, ip: number, v4: boolean, t: number, hl: number): void {
    const o = tcp.findMssOption(b, t, hl);
    if (o < 0) return;
    // The MSS a SYN advertises limits what the other side sends: key = reverse direction.
    const key = this.keys.of(b, ip, v4, t, true).key;
    if (!this.peerMss.has(key)) this.stats.synMssLearned++;
    this.peerMss.set(key, tcp.mssValue(b, o));
  }
}

/**
 * The L4 checksum at t holds the folded pseudo-header sum over the L4 length and does not verify:
 * what a host capture shows for a CHECKSUM_PARTIAL skb (__tcp_v4_send_check, udp4_hwcsum).
 */
function partialChecksum(pkt: Packet, ip: number, v4: boolean, t: number, isTcp: boolean, end: number): boolean {
  const b = pkt.buf;
  const proto = isTcp ? IP_PROTO.TCP : IP_PROTO.UDP;
  const csumOffset = isTcp ? tcp.CHECKSUM : udp.CHECKSUM;
  const ps = v4 ? pseudoV4(b, ip + ipv4.SRC_ADDR, ip + ipv4.DST_ADDR, proto, end - t) : pseudoV6(b, ip + ipv6.SRC_ADDR, pseudoDstV6(b, ip, t), proto, end - t);
  if (u16(b, t + csumOffset) !== fold(ps)) return false;
  // Already found partial at ingress (IngressChecksums summed this very checksum): not again.
  if (pkt.csumMode === CSUM.PARTIAL && pkt.csumStart === t && pkt.csumOffset === csumOffset) return true;
  return fold(sum16(b, t, end, ps)) !== 0xffff;
}

/** "peer SYN MSS 1400 − 12 option bytes", "MTU 1500 − 50 outer − 20 IP − 32 TCP", "mss=1000". */
export function flowReason(f: FlowGso): string {
  if (f.source === 'mss') return `mss=${f.gsoSize}`;
  const peer = f.optionBytes > 0 ? `peer SYN MSS ${f.peerMss} − ${f.optionBytes} option bytes` : `peer SYN MSS ${f.peerMss}`;
  if (f.source === 'peer-syn') return peer;
  const terms = [`MTU ${f.mtu}`];
  if (f.outer) terms.push(`${f.outer} outer`);
  if (f.mpls) terms.push(`${f.mpls} MPLS`);
  terms.push(`${f.ipHeader} IP`, `${f.l4Header} ${f.proto.toUpperCase()}`);
  const mtu = terms.join(' − ');
  return f.peerMss > 0 ? `${mtu}; not above ${peer}` : mtu;
}

/** One data direction seen: its key string and the summary its last super-packet counted in. */
export interface FlowDirection {
  /** The family, addresses and ports as read (reversed for a SYN's reverse direction). */
  readonly tuple: Uint8Array;
  /** "src:port > dst:port" (flowKey). */
  readonly key: string;
  summary: FlowGso | null;
}

/**
 * The directions seen, looked up by a hash of their header bytes: formatting the addresses of
 * every super-packet (and every SYN) into a key string cost about a microsecond each.
 */
export class FlowKeys {
  private readonly table = new Map<number, FlowDirection | FlowDirection[]>();

  /** `bucket`: maps the tuple's hash to its table slot (tests make every tuple collide). */
  constructor(private readonly bucket: (hash: number) => number = (h) => h) {}

  /** Forget every direction seen. */
  clear(): void {
    this.table.clear();
  }

  /** The tuple of the packet being looked up: family byte, source, destination, ports. */
  private readonly probe = new Uint8Array(1 + 2 * ipv6.ADDR_LEN + 4);

  /** The direction of the TCP/UDP header at t under the IP header at ip (`reverse`: the answer's). */
  of(b: Uint8Array, ip: number, v4: boolean, t: number, reverse: boolean): FlowDirection {
    const alen = v4 ? ipv4.ADDR_LEN : ipv6.ADDR_LEN;
    const src = ip + (v4 ? ipv4.SRC_ADDR : ipv6.SRC_ADDR);
    const dst = ip + (v4 ? ipv4.DST_ADDR : ipv6.DST_ADDR);
    const from = reverse ? dst : src;
    const to = reverse ? src : dst;
    // TCP and UDP ports sit at the same offsets.
    const fromPort = t + (reverse ? tcp.DST_PORT : tcp.SRC_PORT);
    const toPort = t + (reverse ? tcp.SRC_PORT : tcp.DST_PORT);
    const p = this.probe;
    const n = 1 + 2 * alen + 4;
    p[0] = alen;
    for (let i = 0; i < alen; i++) {
      p[1 + i] = b[from + i]!;
      p[1 + alen + i] = b[to + i]!;
    }
    const q = 1 + 2 * alen;
    p[q] = b[fromPort]!;
    p[q + 1] = b[fromPort + 1]!;
    p[q + 2] = b[toPort]!;
    p[q + 3] = b[toPort + 1]!;
    // FNV-1a.
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ p[i]!, 0x01000193);
    h = this.bucket(h);
    const slot = this.table.get(h);
    if (slot !== undefined) {
      if (!Array.isArray(slot)) {
        if (sameTuple(slot.tuple, p, n)) return slot;
      } else {
        for (const d of slot) if (sameTuple(d.tuple, p, n)) return d;
      }
    }
    const tuple = p.slice(0, n);
    const key = flowKey(formatIp(tuple.subarray(1, 1 + alen)), tcp.srcPort(tuple, q), formatIp(tuple.subarray(1 + alen, q)), tcp.dstPort(tuple, q));
    const d: FlowDirection = { tuple, key, summary: null };
    if (slot === undefined) this.table.set(h, d);
    else if (Array.isArray(slot)) slot.push(d);
    else this.table.set(h, [slot, d]);
    return d;
  }
}

function sameTuple(a: Uint8Array, p: Uint8Array, n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== p[i]) return false;
  return true;
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
