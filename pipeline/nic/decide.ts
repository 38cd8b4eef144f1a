/**
 * The transmit-time offload decision: `netif_skb_features` followed by the choice
 * `validate_xmit_skb` makes (net/core/dev.c, 6.1), against a NIC profile.
 *
 * Order (netif_skb_features, net/core/dev.c):
 *   1. F = features
 *   2. GSO skb: gso_features_check (max segs / max size, partial features, mangleid without DF,
 *      IPv6 extension headers vs IPV6_CSUM)
 *   3. encapsulation: F &= hw_enc_features
 *   4. VLAN-tagged: F = intersect(F, vlan_features | VLAN TX insert)
 *   5. ndo_features_check: QinQ mask; driver quirks (ixgbe mangleid, i40e/ice minimum gso_size,
 *      mlx5/bnxt tunnel ports)
 *   6. harmonize_features: MPLS → F &= mpls_features; checksum impossible for the protocol →
 *      remove all checksum and GSO bits
 * then: GSO offloaded iff every gso_type bit has its feature (net_gso_ok); else GSO partial when
 * possible (__skb_gso_segment); else full software segmentation.
 *
 * Pure function of (profile, request): no allocation besides the result and, when asked for, its
 * reasons (the egress asks for none: formatting them for every packet cost more than deciding).
 */
import { GSO } from '../packet.js';
import {
  canChecksumProtocol,
  CSUM_MASK,
  ETH_P,
  type FeatureSet,
  formatFeatures,
  GSO_MASK,
  intersectFeatures,
  MULTI_TAG_MASK,
  NETIF_F as F,
  VLAN_TX,
} from './features.js';
import type { NicProfile } from './profile.js';

/** What the packet asks of the device (the skb fields netif_skb_features reads). */
export interface TxRequest {
  /** SKB_GSO_* bits (GSO.* from pipeline/packet.ts); 0 = not a GSO packet. */
  gsoType: number;
  gsoSize: number;
  gsoSegs: number;
  /** skb->len: the whole frame. */
  len: number;
  /** A checksum is left for the device (CHECKSUM_PARTIAL). GSO packets always count as pending. */
  csumPartial: boolean;
  /** skb->encapsulation (a tunnel header was pushed and inner offsets are valid). */
  encapsulation: boolean;
  /** Ethertype after VLAN tags, e.g. 0x0800, 0x86dd, 0x8847. */
  outerProto: number;
  /** For MPLS: inner_protocol; for tunnels: the inner network ethertype. */
  innerProto: number;
  /** In-band VLAN tags: 0, 1 or 2 (QinQ). */
  vlanTags: number;
  /** The IPv4 header TSO applies to (the inner one if encapsulated) has DF set. */
  innerIpv4Df: boolean;
  /** The outer IPv6 header is followed by extension headers (network header length ≠ 40). */
  ipv6ExtHeaders: boolean;
  /** Outer UDP destination port of a UDP tunnel; 0 when not a UDP tunnel. */
  tunnelDstPort: number;
}

/** How a GSO packet leaves: whole to the device, cut by software, or GSO partial. "none" = not GSO. */
export type TxOutcome = 'hardware' | 'software' | 'partial' | 'none';

export interface TxDecision {
  /**
   * Software segments the packet before the device sees it. Also true for GSO partial, where
   * software cuts one big chunk plus a remainder (see `gsoPartial`).
   */
  segmentInSoftware: boolean;
  /** GSO partial (SKB_GSO_PARTIAL, skb_segment): software cuts, the device splits the chunk. Implies segmentInSoftware. */
  gsoPartial: boolean;
  /** The pending L4 checksum(s) are completed in software (per segment when segmented). */
  checksumInSoftware: boolean;
  /** The device may keep IPv4 IDs fixed across segments it cuts (TSO_MANGLEID survived). */
  mangleId: boolean;
  outcome: TxOutcome;
  /** The final feature set F. */
  features: FeatureSet;
  /** Why, step by step, in human terms. */
  reasons: string[];
}

/** Bits of SKB_GSO_* (6.1 numbering) that packet.ts does not name. */
const SKB_GSO_EXTRA = {
  FCOE: 1 << 5,
  GRE: 1 << 6,
  GRE_CSUM: 1 << 7,
  IPXIP4: 1 << 8,
  IPXIP6: 1 << 9,
  TUNNEL_REMCSUM: 1 << 13,
  SCTP: 1 << 14,
  ESP: 1 << 15,
  FRAGLIST: 1 << 18,
} as const;

/** A bit no FeatureSet ever has: the gso type has no feature capflow models (UFO, FCoE, remote csum). */
const NO_FEATURE = 1 << 30;

/** net_gso_ok's mapping, SKB_GSO_* bit index → NETIF_F_* bit. */
const GSO_TYPE_FEATURE: readonly number[] = (() => {
  const pairs: Array<[number, number]> = [
    [GSO.TCPV4, F.TSO],
    [GSO.DODGY, F.GSO_ROBUST],
    [GSO.TCP_ECN, F.TSO_ECN],
    [GSO.TCP_FIXEDID, F.TSO_MANGLEID],
    [GSO.TCPV6, F.TSO6],
    [SKB_GSO_EXTRA.FCOE, NO_FEATURE],
    [SKB_GSO_EXTRA.GRE, F.GSO_GRE],
    [SKB_GSO_EXTRA.GRE_CSUM, F.GSO_GRE_CSUM],
    [SKB_GSO_EXTRA.IPXIP4, F.GSO_IPXIP4],
    [SKB_GSO_EXTRA.IPXIP6, F.GSO_IPXIP6],
    [GSO.UDP_TUNNEL, F.GSO_UDP_TUNNEL],
    [GSO.UDP_TUNNEL_CSUM, F.GSO_UDP_TUNNEL_CSUM],
    [GSO.PARTIAL, F.GSO_PARTIAL],
    [SKB_GSO_EXTRA.TUNNEL_REMCSUM, NO_FEATURE],
    [SKB_GSO_EXTRA.SCTP, F.GSO_SCTP],
    [SKB_GSO_EXTRA.ESP, F.GSO_ESP],
    [GSO.UDP, NO_FEATURE],
    [GSO.UDP_L4, F.GSO_UDP_L4],
    [SKB_GSO_EXTRA.FRAGLIST, F.GSO_FRAGLIST],
  ];
  const table = new Array<number>(31).fill(NO_FEATURE);
  for (const [skb, netif] of pairs) table[31 - Math.clz32(skb)] = netif;
  return table;
})();

/** The features net_gso_ok requires for a gso_type: one per SKB_GSO_* bit. */
export function gsoTypeFeatures(gsoType: number): number {
  let need = 0;
  let t = gsoType >>> 0;
  while (t !== 0) {
    const low = t & -t;
    need |= GSO_TYPE_FEATURE[31 - Math.clz32(low)] ?? NO_FEATURE;
    t ^= low;
  }
  return need;
}

const names = (bits: number): string =>
  bits & NO_FEATURE ? `${formatFeatures(bits & ~NO_FEATURE)}${bits & ~NO_FEATURE ? ', ' : ''}(a gso type no device offloads)` : formatFeatures(bits);

const isMpls = (proto: number): boolean => proto === ETH_P.MPLS_UC || proto === ETH_P.MPLS_MC;

/** Decide how the device transmits this packet. `explain` false: `reasons` is left empty. */
export function decideTx(profile: NicProfile, req: TxRequest, explain = true): TxDecision {
  const b = profile.bits;
  const reasons: string[] | null = explain ? [] : null;
  const gso = req.gsoType !== 0;
  const need = gso ? gsoTypeFeatures(req.gsoType) : 0;
  let f = b.features;

  /** Apply a mask step; explain it when it removes something the packet needs (or a checksum bit). */
  const restrict = (next: FeatureSet, why: string | ((lost: FeatureSet) => string)): void => {
    const lost = f & ~next & (need | CSUM_MASK);
    if (lost !== 0 && reasons !== null) reasons.push(typeof why === 'string' ? `${why}: removes ${formatFeatures(lost)}` : why(lost));
    f = next;
  };

  // 2. gso_features_check
  if (gso) {
    if (req.gsoSegs > profile.gsoMaxSegs) {
      restrict(f & ~GSO_MASK, `gso_segs ${req.gsoSegs} > gsoMaxSegs ${profile.gsoMaxSegs}`);
    }
    if (req.len >= profile.gsoMaxSize) {
      restrict(f & ~GSO_MASK, `length ${req.len} ≥ gsoMaxSize ${profile.gsoMaxSize}`);
    }
    if (!(req.gsoType & GSO.PARTIAL)) {
      restrict(f & ~b.partial, 'not yet GSO-partial: gsoPartialFeatures are held back');
    }
    if (req.gsoType & GSO.TCPV4 && !req.innerIpv4Df) {
      restrict(f & ~F.TSO_MANGLEID, 'IPv4 header without DF');
    }
    if (req.ipv6ExtHeaders && f & F.IPV6_CSUM) {
      restrict(f & ~(F.IPV6_CSUM | F.TSO6 | F.GSO_UDP_L4), 'IPv6 extension headers with tx-checksum-ipv6');
    }
  }

  // 3. encapsulation
  if (req.encapsulation) restrict(f & b.hwEnc, (lost) => `encapsulated: hwEncFeatures lacks ${formatFeatures(lost)}`);

  // 4. VLAN
  if (req.vlanTags > 0) {
    restrict(intersectFeatures(f, b.vlan | VLAN_TX), (lost) => `VLAN-tagged: vlanFeatures lacks ${formatFeatures(lost)}`);
  }

  // 5. ndo_features_check
  if (req.vlanTags >= 2) {
    restrict(f & MULTI_TAG_MASK, 'multi-tagged (QinQ): only SG, HW checksum, fraglist and VLAN insert remain');
  }
  if (profile.encapTso4NeedsMangleId && req.encapsulation && !(f & F.TSO_MANGLEID)) {
    restrict(f & ~F.TSO, 'driver: encapsulated TCPv4 TSO needs tx-tcp-mangleid-segmentation (off)');
  }
  if (gso && profile.minGsoSize !== undefined && req.gsoSize < profile.minGsoSize) {
    restrict(f & ~GSO_MASK, `driver: gso_size ${req.gsoSize} < ${profile.minGsoSize}`);
  }
  if (
    profile.tunnelPorts !== undefined &&
    req.encapsulation &&
    req.tunnelDstPort !== 0 &&
    !profile.tunnelPorts.includes(req.tunnelDstPort)
  ) {
    restrict(
      f & ~(CSUM_MASK | GSO_MASK),
      `driver: UDP port ${req.tunnelDstPort} is not an offloaded tunnel port (${profile.tunnelPorts.join(', ')})`,
    );
  }

  // 6. harmonize_features
  const csumPending = req.csumPartial || gso;
  if (isMpls(req.outerProto)) {
    restrict(f & b.mpls, (lost) => `MPLS: mplsFeatures lacks ${formatFeatures(lost)}`);
  }
  if (csumPending && !canChecksumProtocol(f, req.outerProto)) {
    const why = isMpls(req.outerProto)
      ? 'MPLS checksum offload needs tx-checksum-ip-generic'
      : `no checksum feature for ethertype 0x${req.outerProto.toString(16).padStart(4, '0')}`;
    restrict(f & ~(CSUM_MASK | GSO_MASK), `${why}: checksum and GSO offload removed`);
  }

  // validate_xmit_skb
  let outcome: TxOutcome = 'none';
  if (gso) {
    if ((need & f) === need) {
      outcome = 'hardware';
    } else if ((need & (f | F.GSO_ROBUST)) === need) {
      outcome = 'hardware';
      reasons?.push('untrusted (DODGY) GSO packet: headers validated, gso_segs recomputed, passed whole');
    } else if (f & F.GSO_PARTIAL && (need & (f | F.GSO_ROBUST | (b.features & b.partial))) === need) {
      outcome = 'partial';
      reasons?.push(`GSO partial: device finishes ${names(need & b.features & b.partial)}`);
    } else {
      outcome = 'software';
      reasons?.push(`software segmentation: features lack ${names(need & ~f)}`);
    }
  }

  const segmentInSoftware = outcome === 'software' || outcome === 'partial';
  let checksumInSoftware = false;
  if (outcome === 'software') {
    checksumInSoftware =
      !canChecksumProtocol(f, req.outerProto) ||
      (req.encapsulation && !canChecksumProtocol(f, req.innerProto));
  } else if (outcome === 'none' && req.csumPartial) {
    checksumInSoftware = !checksumOffloaded(f, req);
    if (checksumInSoftware) reasons?.push(`checksum in software: features ${formatFeatures(f & CSUM_MASK)} can't checksum this packet`);
  }
  const mangleId = outcome !== 'software' && outcome !== 'none' && (req.gsoType & GSO.TCPV4) !== 0 && (f & F.TSO_MANGLEID) !== 0;

  return { segmentInSoftware, gsoPartial: outcome === 'partial', checksumInSoftware, mangleId, outcome, features: f, reasons: reasons ?? [] };
}

/** skb_csum_hwoffload_help for a non-GSO CHECKSUM_PARTIAL packet (outer protocol decides). */
function checksumOffloaded(f: FeatureSet, req: TxRequest): boolean {
  if (f & F.HW_CSUM) return true;
  if (req.outerProto === ETH_P.IP) return (f & F.IP_CSUM) !== 0;
  if (req.outerProto === ETH_P.IPV6) return (f & F.IPV6_CSUM) !== 0 && !req.ipv6ExtHeaders;
  return false;
}

/** A TxRequest with defaults for every field not given: a non-GSO IPv4 packet, DF set, no checksum pending. */
export function makeTxRequest(fields: Partial<TxRequest> = {}): TxRequest {
  return {
    gsoType: 0,
    gsoSize: 0,
    gsoSegs: 0,
    len: 0,
    csumPartial: false,
    encapsulation: false,
    outerProto: ETH_P.IP,
    innerProto: 0,
    vlanTags: 0,
    innerIpv4Df: true,
    ipv6ExtHeaders: false,
    tunnelDstPort: 0,
    ...fields,
  };
}
