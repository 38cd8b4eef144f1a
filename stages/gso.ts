/**
 * `gso`: the NIC egress step, always the last stage. What `validate_xmit_skb` and the device do
 * to each packet, against the pipeline's NIC profile:
 *
 *   1. `checksum.fix`: repair captured checksums first (see pipeline/gso/checksum-fix.ts).
 *   2. Super-packets: a packet with a segmentation request from an earlier stage (gsoSize > 0),
 *      or a TCP/UDP packet longer than the MTU, or a captured VXLAN frame (UDP port in
 *      `vxlanPorts`) longer than the MTU around one (UDP-tunnel GSO, as vxlan-encap marks it)
 *      (env.superPackets.mark, rule in pipeline/gso/classify.ts). Decide as
 *      netif_skb_features does (decideTx), then
 *        driver view: hardware → passed whole with a note `gso type=… size=… segs=…`;
 *                     software → segmented here, checksums completed in software when the
 *                     features can't checksum them, else left partial per segment;
 *                     partial  → one chunk + remainder (GSO partial shape), chunk noted;
 *        wire view:   always fully segmented with every checksum complete (what leaves the NIC).
 *   3. Other packets with a partial checksum: completed in software when the device can't
 *      (driver view), always in the wire view.
 *   4. Non-GSO packets longer than the MTU: `mtuPolicy` kernel (default): IPv4 without DF is
 *      fragmented (ip_fragment), the rest dropped `mtu-exceeded`; `drop`: all dropped; `ignore`:
 *      passed unchanged.
 *
 * Drop reasons: `gso-bad-header` (a super-packet whose headers don't match its gso_type or can't
 * be parsed), `mpls-gso-bad-stack` (stack length not > 0 and a multiple of 4), `mtu-exceeded`.
 * A super-packet (or over-MTU packet) whose capture is snaplen-truncated can't be segmented:
 * it is passed on unchanged with a warning and a note (no drop: the packet stays visible).
 * IPv4 IDs: segments get ID + k even where the device has tx-tcp-mangleid-segmentation (one of
 * the behaviours the kernel allows it).
 */
import { z } from 'zod';
import { mssOption, udpPort } from '../pipeline/option-schemas.js';
import { defineStage, type Stage, type StageContext, type StageEnv } from './stage.js';
import { CSUM, GSO, NO_OFFSET, type Packet } from '../pipeline/packet.js';
import { EgressLayout } from '../pipeline/gso/layout.js';
import { SEG_CSUM, segmentSuperPacket, type SegCsum } from '../pipeline/gso/segment.js';
import { checksumHelp } from '../pipeline/gso/checksum-help.js';
import { fragmentIpv4 } from '../pipeline/gso/fragment.js';
import { ChecksumFixer } from '../pipeline/gso/checksum-fix.js';
import { DEFAULT_VXLAN_PORTS, SuperPackets } from '../pipeline/gso/classify.js';
import { formatGsoNote } from '../pipeline/gso/notes.js';
import { decideTx } from '../pipeline/nic/decide.js';
import { NETIF_F } from '../pipeline/nic/features.js';
import * as udp from '../pipeline/wire/udp.js';
import * as ipv4 from '../pipeline/wire/ipv4.js';
import * as ipv6 from '../pipeline/wire/ipv6.js';

export const gsoOptions = z
  .object({
    /** gso_size for captured super-packets: `auto` (see describeMssRule) or a number of bytes. */
    mss: mssOption.default('auto'),
    /** Egress MTU (IP bytes); default: the NIC profile's. */
    mtu: z.number().int().min(68).max(65535).optional(),
    /** Non-GSO packets longer than the MTU: kernel (fragment IPv4 without DF, drop the rest) | drop | ignore. */
    mtuPolicy: z.enum(['kernel', 'drop', 'ignore']).default('kernel'),
    /**
     * UDP destination ports of VXLAN: a captured VXLAN frame to one of them that is longer than
     * the MTU and carries a TCP/UDP super-packet is a UDP-tunnel super-packet (classify.ts).
     */
    vxlanPorts: z.array(udpPort).default([...DEFAULT_VXLAN_PORTS]),
    /** Repair captured checksums (capture taken with checksum offload on). */
    checksum: z
      .object({ fix: z.boolean().default(false) })
      .strict()
      .default({ fix: false }),
  })
  .strict();

export type GsoOptions = z.output<typeof gsoOptions>;

/** Counters the stage keeps (also useful to tests and `--json` summaries). */
export interface GsoStats {
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

export class GsoStage implements Stage {
  readonly name = 'gso';
  readonly stats: GsoStats = {
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
  private readonly lay = new EgressLayout();
  private readonly fixer: ChecksumFixer | null;
  private readonly mtu: number;
  private readonly wire: boolean;
  private ctx: StageContext | null = null;
  private readonly emitFn = (p: Packet): void => {
    this.stats.segmentsOut++;
    this.ctx!.emit(p);
  };
  private readonly emitFrag = (p: Packet): void => {
    this.stats.fragmentsOut++;
    this.ctx!.emit(p);
  };

  constructor(
    private readonly opts: GsoOptions,
    private readonly env: StageEnv,
  ) {
    this.mtu = opts.mtu ?? env.superPackets?.mtu ?? env.nic.mtu;
    this.wire = env.view === 'wire';
    this.fixer = opts.checksum.fix ? new ChecksumFixer(opts.vxlanPorts) : null;
    // The marker is shared with earlier stages and built before the stages: give it our ports.
    if (env.superPackets instanceof SuperPackets) env.superPackets.setVxlanPorts(opts.vxlanPorts);
  }

  process(pkt: Packet, ctx: StageContext): void {
    this.ctx = ctx;
    if (this.fixer) {
      const r = this.fixer.fix(pkt);
      if (r === 'truncated') {
        this.stats.fixSkippedTruncated++;
        ctx.warnOnce('gso-fix-truncated', 'snaplen-truncated: checksums not fixed (gso checksum.fix cannot compute them)');
      } else if (r === 'fixed') this.stats.fixed++;
    }
    if (pkt.gsoSize === 0 && !pkt.encapsulation) this.env.superPackets?.mark(pkt, pkt.head);

    const gso = pkt.gsoSize > 0;
    const lay = this.lay;
    const err = lay.parse(pkt, gso);
    if (gso) {
      if (err) return ctx.drop(pkt, err);
      if (!lay.matchesGsoType(pkt.gsoType)) return ctx.drop(pkt, 'gso-bad-header');
      if (pkt.truncated || lay.end > pkt.tail) return this.passTruncated(pkt, ctx);
      const P = lay.payloadLen;
      if (P > pkt.gsoSize) return this.superPacket(pkt, ctx);
      // R-TCP-5: not longer than one segment: leaves as a plain packet.
      pkt.gsoSize = pkt.gsoType = pkt.gsoSegs = 0;
    }
    this.plain(pkt, ctx);
  }

  private superPacket(pkt: Packet, ctx: StageContext): void {
    const lay = this.lay;
    const M = pkt.gsoSize;
    const segs = Math.ceil(lay.payloadLen / M);
    pkt.gsoSegs = segs;
    this.stats.superPackets++;
    const dec = decideTx(this.env.nic, lay.txRequest(pkt, segs));
    const tunnelCsum = lay.tunnel && (pkt.gsoType & GSO.UDP_TUNNEL_CSUM) !== 0;

    if (this.wire) {
      this.stats.segmentedSoftware++;
      segmentSuperPacket(pkt, lay, { gsoSize: M, gsoType: pkt.gsoType, inner: SEG_CSUM.SOFTWARE, outer: tunnelCsum ? SEG_CSUM.SOFTWARE : SEG_CSUM.NONE, partial: false }, this.emitFn);
      return;
    }
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
      // R-UT-4: software (LCO) when the inner checksum stays partial or the device can't checksum the outer family.
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

  /** A packet that is not (or no longer) a GSO packet. */
  private plain(pkt: Packet, ctx: StageContext): void {
    const lay = this.lay;
    if (pkt.csumMode === CSUM.PARTIAL) {
      let sw = this.wire;
      if (!sw) sw = decideTx(this.env.nic, lay.txRequest(pkt, 0)).checksumInSoftware;
      if (sw) {
        if (checksumHelp(pkt, this.partialEnd(pkt))) this.stats.checksumsCompleted++;
      }
    }
    // Only IP packets are measured against the MTU (an MPLS-labelled ARP frame is not).
    if (lay.ipOff === NO_OFFSET || this.opts.mtuPolicy === 'ignore') return ctx.emit(pkt);
    const l3Len = this.l3Length(pkt);
    if (l3Len <= this.mtu) return ctx.emit(pkt);
    if (pkt.truncated) return this.passTruncated(pkt, ctx);
    if (this.opts.mtuPolicy === 'kernel' && lay.mplsOff === NO_OFFSET && lay.ipV4 && !ipv4.df(pkt.buf, lay.ipOff)) {
      const n = fragmentIpv4(pkt, this.mtu, this.emitFrag, lay.ipOff);
      if (n > 0) {
        this.stats.fragmented++;
        return;
      }
    }
    ctx.drop(pkt, 'mtu-exceeded');
  }

  /** Length from the network header (top MPLS label) per the IP length field (what was on the wire). */
  private l3Length(pkt: Packet): number {
    const lay = this.lay;
    const b = pkt.buf;
    const start = lay.mplsOff !== NO_OFFSET ? lay.mplsOff : lay.ipOff;
    const ipLen = lay.ipV4 ? ipv4.totalLength(b, lay.ipOff) : ipv6.HEADER_LEN + ipv6.payloadLength(b, lay.ipOff);
    return lay.ipOff - start + ipLen;
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

  private passTruncated(pkt: Packet, ctx: StageContext): void {
    this.stats.truncatedPassed++;
    ctx.warnOnce('gso-truncated', 'over the MTU but snaplen-truncated passed unchanged (gso cannot segment or fragment them)');
    pkt.note('gso not applied: capture truncated');
    pkt.gsoSize = pkt.gsoType = pkt.gsoSegs = 0;
    ctx.emit(pkt);
  }
}

export const gsoStage = defineStage({
  name: 'gso',
  summary: 'NIC egress: software segmentation (TSO/USO/tunnel/MPLS GSO), checksum completion, fragmentation, per NIC profile',
  options: gsoOptions,
  create: (options, env) => new GsoStage(options, env),
});
