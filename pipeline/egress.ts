/**
 * The NIC egress: what `validate_xmit_skb` (net/core/dev.c) and the device do to every packet
 * after the last stage, against the pipeline's NIC profile and view. It is a component of the
 * pipeline, not a stage: the pipeline owns it (top-level `egress:`, `nic`, `view`), and stages
 * see only the read-only `EgressView` (its MTU, and "mark this packet for segmentation").
 *
 *   1. `checksum.fix`: repair captured checksums first (pipeline/gso/checksum-fix.ts).
 *   2. Super-packets: a packet with a segmentation request (gsoSize > 0: from an earlier stage or
 *      from a capflow GSO comment), or a captured TCP/UDP packet longer than the MTU that is one
 *      (pipeline/gso/classify.ts: with an MTU the user gave, any such packet; with the profile's
 *      MTU only one whose checksum is partial, as a host capture with TSO shows it). Decided as
 *      netif_skb_features does (decideTx), then
 *        driver view: hardware → passed whole with a note `gso type=… size=… segs=…`;
 *                     software → segmented here (skb_gso_segment), checksums completed in
 *                     software when the features can't checksum them, else left partial;
 *                     partial  → one chunk + remainder (GSO partial shape), chunk noted;
 *        wire view:   always fully segmented with every checksum complete (what leaves the NIC).
 *   3. Other packets with a partial checksum: completed in software (skb_checksum_help) when the
 *      device can't (driver view), always in the wire view.
 *   4. Non-GSO packets longer than the MTU: `mtuPolicy` kernel (default): IPv4 without DF is
 *      fragmented (ip_fragment), the rest dropped `mtu-exceeded`; `drop`: all dropped; `ignore`:
 *      passed unchanged. Only packets a stage grew are measured against the profile's MTU; a
 *      packet captured at its size crossed its link already, so only an MTU the user gave
 *      (`egress.mtu`) applies to it.
 *
 * Drop reasons: `gso-bad-header` (a super-packet whose headers don't match its gso_type or can't
 * be parsed), `gso-too-many-segments` (UDP GSO over UDP_MAX_SEGMENTS), `mpls-gso-bad-stack`
 * (stack length not > 0 and a multiple of 4), `mtu-exceeded`.
 * A super-packet (or over-MTU packet) whose capture is snaplen-truncated can't be segmented:
 * it is passed on unchanged with a warning and a note (no drop: the packet stays visible).
 * IPv4 IDs: segments get ID + k even where the device has tx-tcp-mangleid-segmentation (one of
 * the behaviours the kernel allows it).
 */
import { CSUM, GSO, NO_OFFSET, type Packet } from './packet.js';
import { EgressLayout } from './gso/layout.js';
import { SEG_CSUM, segmentSuperPacket, type SegCsum } from './gso/segment.js';
import { checksumHelp } from './gso/checksum-help.js';
import { fragmentIpv4 } from './gso/fragment.js';
import { ChecksumFixer } from './gso/checksum-fix.js';
import { SuperPackets } from './gso/classify.js';
import type { EgressOptions } from './egress-options.js';
import type { NicProfile } from './nic/profile.js';
import { formatGsoNote } from './gso/notes.js';
import { decideTx } from './nic/decide.js';
import { NETIF_F } from './nic/features.js';
import { DECODE, type Layers } from './decode.js';
import { LayerRecord, layersOf, vxlanPortTable } from './layer-record.js';
import { ETHER_TYPE } from './wire/ether-type.js';
import { IP_PROTO } from './wire/ip-proto.js';
import * as ethernet from './wire/ethernet.js';
import * as udp from './wire/udp.js';
import * as vxlan from './wire/vxlan.js';
import * as ipv4 from './wire/ipv4.js';
import * as ipv6 from './wire/ipv6.js';
import type { DropReason } from './drop-reasons.js';

export type { EgressOptions } from './egress-options.js';

/**
 * Smallest `mss`: the kernel's smallest TCP MSS (`tcp_min_snd_mss`, default TCP_MIN_SND_MSS = 48,
 * net/ipv4/tcp_output.c), so no socket hands down a GSO packet with a smaller gso_size (UDP GSO
 * is bounded by UDP_MAX_SEGMENTS segments per datagram instead). A smaller one would also turn
 * one 64 KB packet into tens of thousands of segments held in memory at once.
 */
export const MIN_GSO_MSS = 48;

/**
 * Most segments of one UDP GSO request (UDP_MAX_SEGMENTS, include/linux/udp.h): udp_send_skb and
 * virtio_net_hdr_to_skb refuse a larger one, so no UDP GSO skb has more.
 */
export const UDP_MAX_SEGMENTS = 128;

export type View = 'driver' | 'wire';

/** Where the egress (and every stage) sends a packet: on, or dropped with a reason. */
export interface PacketContext {
  /** Pass the packet on (to the next stage, the egress, or the output). */
  emit(pkt: Packet): void;
  /** Drop the packet, counted under `reason` (one of pipeline/drop-reasons.ts, listed by `capflow drops`). */
  drop(pkt: Packet, reason: DropReason): void;
  /** Count bytes after the IP datagram (padding, a trailer) cut before segmenting or fragmenting. */
  countTrailer?(bytes: number): void;
  /**
   * Count this packet under a warning `key`: the runner prints each key once per input with its
   * packet count, "FILE: N packets MESSAGE", so `message` reads after "N packets".
   */
  warnOnce(key: string, message: string): void;
}

/** What stages may know of the egress: read-only. */
export interface EgressView {
  /** Egress MTU (`egress.mtu`, else the NIC profile's). */
  readonly mtu: number;
  /**
   * Learn from the packet (e.g. SYN MSS options) and, if it is a TCP segment or UDP datagram
   * larger than the MTU that is not yet marked, set gsoSize/gsoType/gsoSegs and make its L4
   * checksum CHECKSUM_PARTIAL. `off` is the Ethernet header to look at. `outerLen`: bytes of
   * outer network headers the frame is about to be carried behind (vxlan-encap: outer IP + UDP +
   * VXLAN), so that its segments fit the MTU with them. Returns true for a super-packet.
   */
  mark(pkt: Packet, off: number, outerLen?: number): boolean;
}



/** What the egress needs from the pipeline besides its options. */
export interface EgressEnv {
  nic: NicProfile;
  view: View;
  /** UDP destination ports taken as VXLAN (the pipeline's `vxlanPorts`). */
  vxlanPorts: readonly number[];
}

/** Counters the egress keeps (also useful to tests and `--json` summaries). */
export interface EgressStats {
  superPackets: number;
  passedWhole: number;
  segmentedSoftware: number;
  partial: number;
  segmentsOut: number;
  fragmented: number;
  fragmentsOut: number;
  checksumsCompleted: number;
  fixed: number;
  fixSkippedTruncated: number;
  truncatedPassed: number;
}

export class Egress {
  readonly name = 'egress';
  readonly stats: EgressStats = {
    superPackets: 0,
    passedWhole: 0,
    segmentedSoftware: 0,
    partial: 0,
    segmentsOut: 0,
    fragmented: 0,
    fragmentsOut: 0,
    checksumsCompleted: 0,
    fixed: 0,
    fixSkippedTruncated: 0,
    truncatedPassed: 0,
  };
  /** The super-packet marker; `view` is its read-only face for stages. */
  readonly superPackets: SuperPackets;
  private readonly lay = new EgressLayout();
  private readonly fixer: ChecksumFixer | null;
  private readonly mtu: number;
  /** The user gave the MTU: it applies to packets captured at their size too. */
  private readonly mtuGiven: boolean;
  private readonly wire: boolean;
  private ctx: PacketContext | null = null;
  private readonly emitFn = (p: Packet): void => {
    this.stats.segmentsOut++;
    this.commentsOnFirst(p, 'segment');
    this.ctx!.emit(p);
  };
  private readonly emitFrag = (p: Packet): void => {
    this.stats.fragmentsOut++;
    this.commentsOnFirst(p, 'fragment');
    this.ctx!.emit(p);
  };
  /** Decoded into only for a packet without a layer record (not in a pipeline). */
  private readonly scratch: LayerRecord;
  private readonly vxlanPortTable: Uint8Array;
  /** Packets emitted so far from the packet being cut, and how many segments it makes (0: fragments). */
  private cutIndex = 0;
  private cutTotal = 0;

  constructor(
    private readonly opts: EgressOptions,
    private readonly env: EgressEnv,
  ) {
    this.mtu = opts.mtu ?? env.nic.mtu;
    this.mtuGiven = opts.mtu !== undefined;
    this.wire = env.view === 'wire';
    this.fixer = opts.checksum.fix ? new ChecksumFixer(env.vxlanPorts) : null;
    this.superPackets = new SuperPackets({ mss: opts.mss, mtu: this.mtu, vxlanPorts: env.vxlanPorts });
    this.vxlanPortTable = vxlanPortTable(env.vxlanPorts);
    this.scratch = new LayerRecord(this.vxlanPortTable);
  }

  /** Forget the flows seen and zero the counts: as just made (Pipeline.reset). */
  reset(): void {
    for (const k of Object.keys(this.stats) as (keyof EgressStats)[]) this.stats[k] = 0;
    this.superPackets.reset();
    if (this.fixer) this.fixer.rewritten = 0;
    this.ctx = null;
    this.cutIndex = this.cutTotal = 0;
  }

  /** The read-only face stages see. */
  get view(): EgressView {
    return this.superPackets;
  }

  /**
   * A packet no stage grew keeps the length it was captured with (decap only shrinks it), so it
   * crossed its link at that size. A packet that did not come through Pipeline.process
   * (ingressLen 0) counts as grown.
   */
  private atCapturedSize(pkt: Packet): boolean {
    return pkt.ingressLen !== 0 && pkt.origLen <= pkt.ingressLen;
  }

  process(pkt: Packet, ctx: PacketContext): void {
    this.ctx = ctx;
    if (this.fixer) {
      const r = this.fixer.fix(pkt);
      if (r === 'truncated') {
        this.stats.fixSkippedTruncated++;
        ctx.warnOnce('gso-fix-truncated', 'snaplen-truncated: checksums not fixed (gso checksum.fix cannot compute them)');
      } else if (r === 'fixed') this.stats.fixed++;
    }
    const atSize = !this.mtuGiven && this.atCapturedSize(pkt);
    // At its captured size a packet is a super-packet only when it shows the partial checksum a
    // TSO host capture shows (an over-MTU packet with a complete checksum crossed a larger MTU).
    if (pkt.gsoSize === 0 && !pkt.encapsulation) this.superPackets.mark(pkt, pkt.head, 0, atSize);

    const gso = pkt.gsoSize > 0;
    if (gso && !pkt.encapsulation && (pkt.gsoType & (GSO.UDP_TUNNEL | GSO.UDP_TUNNEL_CSUM)) !== 0 && !this.findTunnel(pkt)) {
      return ctx.drop(pkt, 'gso-bad-header');
    }
    // Nothing to segment or complete: only the outer headers matter (plain() reads the layout of
    // the inner ones only if it cuts a trailer).
    if (!gso && pkt.csumMode !== CSUM.PARTIAL) return this.plain(pkt, ctx, atSize, false);
    const lay = this.lay;
    const err = lay.parse(pkt, gso);
    if (gso) {
      if (err) return ctx.drop(pkt, err);
      if (!lay.matchesGsoType(pkt.gsoType)) return ctx.drop(pkt, 'gso-bad-header');
      if (pkt.truncated || lay.end > pkt.tail) return this.passTruncated(pkt, ctx);
      this.trimTrailer(pkt, ctx);
      const P = lay.payloadLen;
      if ((pkt.gsoType & GSO.UDP_L4) !== 0 && P > pkt.gsoSize * UDP_MAX_SEGMENTS) return ctx.drop(pkt, 'gso-too-many-segments');
      if (P > pkt.gsoSize) return this.superPacket(pkt, ctx);
      // Not longer than one segment: leaves as a plain packet (virtio_net_hdr_to_skb and
      // skb_gso_segment leave such a packet unsegmented).
      pkt.gsoSize = pkt.gsoType = pkt.gsoSegs = 0;
    }
    this.plain(pkt, ctx, atSize, true);
  }

  /**
   * A GSO request of a UDP-tunnel type on a packet without tunnel offsets: one read back from a
   * capflow note (the note keeps gso_type, not skb->encapsulation). capflow writes these types only
   * for encapsulated packets (udp_tunnel_xmit_skb set the inner offsets), so the tunnel is found
   * again: a UDP datagram to one of the VXLAN ports carrying a VXLAN header and an inner frame.
   * False when there is none (the request does not match the frame).
   */
  private findTunnel(pkt: Packet): boolean {
    const b = pkt.buf;
    const O = layersOf(pkt, this.scratch).outer;
    if (O.status !== DECODE.OK || O.l4Proto !== IP_PROTO.UDP || O.transOff === NO_OFFSET || O.isFragment) return false;
    if (!this.vxlanPortTable[udp.dstPort(b, O.transOff)]) return false;
    const vx = O.transOff + udp.HEADER_LEN;
    if (vx + vxlan.HEADER_LEN + ethernet.HEADER_LEN > pkt.tail || !vxlan.hasVni(b, vx)) return false;
    pkt.macOff = pkt.head;
    pkt.protocol = O.etherType;
    pkt.netOff = O.mplsOff !== NO_OFFSET ? O.mplsOff : O.netOff;
    pkt.transOff = O.transOff;
    pkt.innerMacOff = vx + vxlan.HEADER_LEN;
    pkt.innerNetOff = NO_OFFSET;
    pkt.innerTransOff = NO_OFFSET;
    pkt.innerProtocol = ETHER_TYPE.TEB;
    pkt.encapsulation = true;
    return true;
  }

  private superPacket(pkt: Packet, ctx: PacketContext): void {
    const lay = this.lay;
    const M = pkt.gsoSize;
    const segs = Math.ceil(lay.payloadLen / M);
    pkt.gsoSegs = segs;
    this.cutIndex = 0;
    this.cutTotal = segs;
    this.stats.superPackets++;
    const tunnelCsum = lay.tunnel && (pkt.gsoType & GSO.UDP_TUNNEL_CSUM) !== 0;

    if (this.wire) {
      this.stats.segmentedSoftware++;
      segmentSuperPacket(pkt, lay, { gsoSize: M, gsoType: pkt.gsoType, inner: SEG_CSUM.SOFTWARE, outer: tunnelCsum ? SEG_CSUM.SOFTWARE : SEG_CSUM.NONE, partial: false }, this.emitFn);
      return;
    }
    // Only the driver view asks the device (the decision, with its reasons, is not free).
    const dec = decideTx(this.env.nic, lay.txRequest(pkt, segs), false);
    if (dec.outcome === 'hardware') {
      this.stats.passedWhole++;
      pkt.note(formatGsoNote(pkt.gsoType, M, segs));
      ctx.emit(pkt);
      return;
    }
    const partial = dec.outcome === 'partial';
    const inner: SegCsum = !partial && dec.checksumInSoftware ? SEG_CSUM.SOFTWARE : SEG_CSUM.PARTIAL;
    let outer: SegCsum = SEG_CSUM.NONE;
    if (tunnelCsum) {
      // Outer checksum (__skb_udp_tunnel_segment): software (LCO) when the inner checksum stays partial or the device can't checksum the outer family.
      const f = this.env.nic.bits.features;
      const outerOk = (f & NETIF_F.HW_CSUM) !== 0 || (lay.ipV4 ? (f & NETIF_F.IP_CSUM) !== 0 : (f & NETIF_F.IPV6_CSUM) !== 0);
      outer = inner === SEG_CSUM.PARTIAL || !outerOk ? SEG_CSUM.SOFTWARE : SEG_CSUM.PARTIAL;
    }
    if (partial) this.stats.partial++;
    else this.stats.segmentedSoftware++;
    const emit = partial
      ? (p: Packet): void => {
          if (p.gsoSize > 0) p.note(formatGsoNote(p.gsoType, p.gsoSize, p.gsoSegs));
          this.emitFn(p);
        }
      : this.emitFn;
    segmentSuperPacket(pkt, lay, { gsoSize: M, gsoType: pkt.gsoType, inner, outer, partial }, emit);
  }

  /**
   * The user's comments stay on the first segment or fragment only, with a note saying which of
   * how many it is: copied onto every one, a few comments on a 64 KB packet cut at mss 48 became
   * megabytes of output (the kernel has no comments; the capture's reader wants them once).
   */
  private commentsOnFirst(p: Packet, what: 'segment' | 'fragment'): void {
    if (p.comments === null) return;
    if (this.cutIndex++ > 0) {
      p.comments = null;
      return;
    }
    const of = this.cutTotal > 0 ? ` of ${this.cutTotal}` : '';
    p.note(`${what} 1${of}: the packet's comments are on the first ${what} only`);
  }

  /**
   * A packet that is not (or no longer) a GSO packet. `parsed`: the layout is filled (always
   * with a partial checksum); else the outer decode alone is read and the layout parsed only if
   * a trailer is to be cut.
   */
  private plain(pkt: Packet, ctx: PacketContext, atSize: boolean, parsed: boolean): void {
    const lay = this.lay;
    if (pkt.csumMode === CSUM.PARTIAL) {
      let sw = this.wire;
      if (!sw) sw = decideTx(this.env.nic, lay.txRequest(pkt, 0), false).checksumInSoftware;
      if (sw) {
        if (checksumHelp(pkt, this.partialEnd(pkt))) this.stats.checksumsCompleted++;
      }
    }
    if (this.opts.mtuPolicy === 'ignore' || atSize) return ctx.emit(pkt);
    const O = parsed ? lay.outer : layersOf(pkt, this.scratch).outer;
    const ip = O.netOff;
    const v4 = O.netProto === ETHER_TYPE.IPV4;
    // Only IP packets are measured against the MTU (an MPLS-labelled ARP frame is not).
    if (ip === NO_OFFSET || (!v4 && O.netProto !== ETHER_TYPE.IPV6)) return ctx.emit(pkt);
    // The length from the network header (top MPLS label) per the IP length field (what was on the wire).
    const b = pkt.buf;
    const start = O.mplsOff !== NO_OFFSET ? O.mplsOff : ip;
    if (ip - start + (v4 ? ipv4.totalLength(b, ip) : ipv6.HEADER_LEN + ipv6.payloadLength(b, ip)) <= this.mtu) return ctx.emit(pkt);
    if (pkt.truncated) return this.passTruncated(pkt, ctx);
    if (this.opts.mtuPolicy === 'kernel' && O.mplsOff === NO_OFFSET && v4 && !ipv4.df(b, ip)) {
      if (parsed || this.hasTrailer(pkt, O)) {
        if (!parsed) lay.parse(pkt, false);
        this.trimTrailer(pkt, ctx);
      }
      this.cutIndex = 0;
      this.cutTotal = 0;
      const n = fragmentIpv4(pkt, this.mtu, this.emitFrag, ip);
      if (n > 0) {
        this.stats.fragmented++;
        return;
      }
    }
    ctx.drop(pkt, 'mtu-exceeded');
  }

  /** Bytes after the IP datagram that trimTrailer may cut (it decides with the layout). */
  private hasTrailer(pkt: Packet, O: Layers): boolean {
    return (pkt.gsoType & GSO.PARTIAL) === 0 && O.ipEnd !== NO_OFFSET && !O.ipLenMismatch && pkt.tail > O.ipEnd;
  }

  /**
   * Bytes after the (outer) IP datagram, Ethernet padding or a trailer, are not payload: the
   * kernel's `ip_rcv` / `ipv6_rcv` trimmed them (`pskb_trim_rcsum`) before `tcp_gso_segment` or
   * `__udp_gso_segment` ever saw the skb. Cut them before segmenting or fragmenting, counted
   * (`trailerBytes`). A GSO-partial chunk read back is left alone: its IP length describes one
   * segment only.
   */
  private trimTrailer(pkt: Packet, ctx: PacketContext): void {
    const O = this.lay.outer;
    if ((pkt.gsoType & GSO.PARTIAL) !== 0 || O.ipEnd === NO_OFFSET || O.ipLenMismatch) return;
    const n = pkt.tail - O.ipEnd;
    if (n <= 0 || O.ipEnd < this.lay.payOff) return;
    pkt.trim(pkt.length - n);
    if (this.lay.end > pkt.tail) this.lay.end = pkt.tail;
    ctx.countTrailer?.(n);
  }

  /** End of the data a partial checksum covers: the UDP length, else the IP datagram end. */
  private partialEnd(pkt: Packet): number {
    const lay = this.lay;
    if (pkt.csumOffset === udp.CHECKSUM && pkt.csumStart + 8 <= pkt.tail) {
      const e = pkt.csumStart + udp.length(pkt.buf, pkt.csumStart);
      if (e <= pkt.tail && e > pkt.csumStart) return e;
    }
    if (lay.l4Off === pkt.csumStart && lay.end !== NO_OFFSET && lay.end <= pkt.tail) return lay.end;
    return pkt.tail;
  }

  private passTruncated(pkt: Packet, ctx: PacketContext): void {
    this.stats.truncatedPassed++;
    ctx.warnOnce('gso-truncated', 'over the MTU but snaplen-truncated passed unchanged (gso cannot segment or fragment them)');
    pkt.note('gso not applied: capture truncated');
    pkt.gsoSize = pkt.gsoType = pkt.gsoSegs = 0;
    ctx.emit(pkt);
  }
}
