/**
 * Device TX features: the `ethtool -k` names (kernel `net/ethtool/common.c`,
 * `netdev_features_strings`) of the NETIF_F_* bits that decide TX segmentation and checksums.
 *
 * A set of features is a plain number used as a bitmask (`FeatureSet`): 25 bits, one per name
 * in FEATURE_NAMES (bit i = FEATURE_NAMES[i]). Profiles convert their name lists into masks once,
 * so the per-packet decision is a handful of AND/OR operations.
 *
 * Bit positions are ours, not the kernel's: only the names and the meaning are shared.
 */

/** The TX-relevant feature names, in bit order. */
export const FEATURE_NAMES = [
  'tx-scatter-gather', // SG
  'tx-checksum-ipv4', // IP_CSUM
  'tx-checksum-ip-generic', // HW_CSUM
  'tx-checksum-ipv6', // IPV6_CSUM
  'tx-generic-segmentation', // GSO (software GSO allowed)
  'tx-tcp-segmentation', // TSO
  'tx-tcp-ecn-segmentation', // TSO_ECN
  'tx-tcp-mangleid-segmentation', // TSO_MANGLEID
  'tx-tcp6-segmentation', // TSO6
  'tx-udp_tnl-segmentation', // GSO_UDP_TUNNEL
  'tx-udp_tnl-csum-segmentation', // GSO_UDP_TUNNEL_CSUM
  'tx-gso-partial', // GSO_PARTIAL
  'tx-udp-segmentation', // GSO_UDP_L4
  'tx-gso-robust', // GSO_ROBUST
  'tx-vlan-hw-insert', // HW_VLAN_CTAG_TX
  'tx-vlan-stag-hw-insert', // HW_VLAN_STAG_TX
  'tx-scatter-gather-fraglist', // FRAGLIST
  'tx-checksum-sctp', // SCTP_CRC
  'tx-gre-segmentation', // GSO_GRE
  'tx-gre-csum-segmentation', // GSO_GRE_CSUM
  'tx-ipxip4-segmentation', // GSO_IPXIP4
  'tx-ipxip6-segmentation', // GSO_IPXIP6
  'tx-sctp-segmentation', // GSO_SCTP
  'tx-gso-list', // GSO_FRAGLIST
  'tx-esp-segmentation', // GSO_ESP
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];

/** A set of features as a bitmask over FEATURE_NAMES. */
export type FeatureSet = number;

const bit = (name: FeatureName): number => 1 << FEATURE_NAMES.indexOf(name);

/** NETIF_F_* bits under their kernel names. */
export const NETIF_F = {
  SG: bit('tx-scatter-gather'),
  IP_CSUM: bit('tx-checksum-ipv4'),
  HW_CSUM: bit('tx-checksum-ip-generic'),
  IPV6_CSUM: bit('tx-checksum-ipv6'),
  GSO: bit('tx-generic-segmentation'),
  TSO: bit('tx-tcp-segmentation'),
  TSO_ECN: bit('tx-tcp-ecn-segmentation'),
  TSO_MANGLEID: bit('tx-tcp-mangleid-segmentation'),
  TSO6: bit('tx-tcp6-segmentation'),
  GSO_UDP_TUNNEL: bit('tx-udp_tnl-segmentation'),
  GSO_UDP_TUNNEL_CSUM: bit('tx-udp_tnl-csum-segmentation'),
  GSO_PARTIAL: bit('tx-gso-partial'),
  GSO_UDP_L4: bit('tx-udp-segmentation'),
  GSO_ROBUST: bit('tx-gso-robust'),
  HW_VLAN_CTAG_TX: bit('tx-vlan-hw-insert'),
  HW_VLAN_STAG_TX: bit('tx-vlan-stag-hw-insert'),
  FRAGLIST: bit('tx-scatter-gather-fraglist'),
  SCTP_CRC: bit('tx-checksum-sctp'),
  GSO_GRE: bit('tx-gre-segmentation'),
  GSO_GRE_CSUM: bit('tx-gre-csum-segmentation'),
  GSO_IPXIP4: bit('tx-ipxip4-segmentation'),
  GSO_IPXIP6: bit('tx-ipxip6-segmentation'),
  GSO_SCTP: bit('tx-sctp-segmentation'),
  GSO_FRAGLIST: bit('tx-gso-list'),
  GSO_ESP: bit('tx-esp-segmentation'),
} as const;

const F = NETIF_F;

/** NETIF_F_CSUM_MASK. */
export const CSUM_MASK: FeatureSet = F.IP_CSUM | F.HW_CSUM | F.IPV6_CSUM;

/** NETIF_F_ALL_TSO. */
export const ALL_TSO: FeatureSet = F.TSO | F.TSO6 | F.TSO_ECN | F.TSO_MANGLEID;

/** NETIF_F_GSO_MASK: the bits that mirror SKB_GSO_* types (not the software-GSO switch NETIF_F_GSO). */
export const GSO_MASK: FeatureSet =
  ALL_TSO |
  F.GSO_ROBUST |
  F.GSO_UDP_TUNNEL |
  F.GSO_UDP_TUNNEL_CSUM |
  F.GSO_PARTIAL |
  F.GSO_UDP_L4 |
  F.GSO_GRE |
  F.GSO_GRE_CSUM |
  F.GSO_IPXIP4 |
  F.GSO_IPXIP6 |
  F.GSO_SCTP |
  F.GSO_FRAGLIST |
  F.GSO_ESP;

/** TX VLAN tag insertion (CTAG and STAG). */
export const VLAN_TX: FeatureSet = F.HW_VLAN_CTAG_TX | F.HW_VLAN_STAG_TX;

/** What `vlan_features_check` leaves for multi-tagged (QinQ) frames (HIGHDMA is not modelled). */
export const MULTI_TAG_MASK: FeatureSet = F.SG | F.HW_CSUM | F.FRAGLIST | VLAN_TX;

/** NETIF_F_GSO_SOFTWARE (6.1): ALL_TSO | GSO_SCTP | GSO_UDP_L4 | GSO_FRAGLIST. */
export const GSO_SOFTWARE: FeatureSet = ALL_TSO | F.GSO_SCTP | F.GSO_UDP_L4 | F.GSO_FRAGLIST;

/** NETIF_F_GSO_ENCAP_ALL. */
export const GSO_ENCAP_ALL: FeatureSet =
  F.GSO_GRE | F.GSO_GRE_CSUM | F.GSO_IPXIP4 | F.GSO_IPXIP6 | F.GSO_UDP_TUNNEL | F.GSO_UDP_TUNNEL_CSUM;

/**
 * Other `ethtool -k` names (receive side, hardware extras, legacy group lines). They are accepted
 * in profiles without a warning and ignored by the TX decision.
 */
export const OTHER_FEATURE_NAMES: ReadonlySet<string> = new Set([
  'highdma',
  'tx-checksum-fcoe-crc',
  'tx-fcoe-segmentation',
  'tx-tunnel-remcsum-segmentation',
  'tx-tcp-accecn-segmentation',
  'tx-lockless',
  'netns-local',
  'vlan-challenged',
  'rx-vlan-hw-parse',
  'rx-vlan-filter',
  'rx-vlan-stag-hw-parse',
  'rx-vlan-stag-filter',
  'rx-gro',
  'rx-gro-hw',
  'rx-lro',
  'rx-gro-list',
  'rx-udp-gro-forwarding',
  'rx-ntuple-filter',
  'rx-hashing',
  'rx-checksum',
  'rx-fcs',
  'rx-all',
  'tx-nocache-copy',
  'loopback',
  'fcoe-mtu',
  'l2-fwd-offload',
  'hw-tc-offload',
  'esp-hw-offload',
  'esp-tx-csum-hw-offload',
  'rx-udp_tunnel-port-offload',
  'tls-hw-tx-offload',
  'tls-hw-rx-offload',
  'tls-hw-record',
  'macsec-hw-offload',
  'hsr-tag-ins-offload',
  'hsr-tag-rm-offload',
  'hsr-fwd-offload',
  'hsr-dup-offload',
]);

/**
 * Legacy group lines printed by ethtool userspace (`off_flag_def`) that summarise several kernel
 * features, whose members are printed indented beneath them: never a feature themselves.
 */
export const ETHTOOL_GROUP_NAMES: ReadonlySet<string> = new Set([
  'tx-checksumming',
  'scatter-gather',
  'tcp-segmentation-offload',
  'udp-fragmentation-offload',
]);

/**
 * Legacy ethtool names that stand for exactly one kernel feature: ethtool prints these instead of
 * the kernel name (e.g. "tx-vlan-offload: on" and no "tx-vlan-hw-insert" line).
 */
export const ETHTOOL_LEGACY_ALIASES: ReadonlyMap<string, string> = new Map([
  ['rx-checksumming', 'rx-checksum'],
  ['generic-segmentation-offload', 'tx-generic-segmentation'],
  ['generic-receive-offload', 'rx-gro'],
  ['large-receive-offload', 'rx-lro'],
  ['rx-vlan-offload', 'rx-vlan-hw-parse'],
  ['tx-vlan-offload', 'tx-vlan-hw-insert'],
  ['ntuple-filters', 'rx-ntuple-filter'],
  ['receive-hashing', 'rx-hashing'],
]);

const INDEX = new Map<string, number>(FEATURE_NAMES.map((n, i) => [n, i]));

/** True for a TX-relevant feature name. */
export function isFeatureName(name: string): name is FeatureName {
  return INDEX.has(name);
}

/** The bit of one name, or 0 when it is not a TX-relevant feature. */
export function featureBit(name: string): FeatureSet {
  const i = INDEX.get(name);
  return i === undefined ? 0 : 1 << i;
}

/**
 * Mask of a list of names. `unknown` collects names that are neither TX-relevant nor in
 * OTHER_FEATURE_NAMES (a typo or a feature newer than this table).
 */
export function featureSet(names: Iterable<string>, unknown?: string[]): FeatureSet {
  let set = 0;
  for (const n of names) {
    const b = featureBit(n);
    if (b !== 0) set |= b;
    else if (unknown && !OTHER_FEATURE_NAMES.has(n)) unknown.push(n);
  }
  return set;
}

/** Names of the bits in a mask, in FEATURE_NAMES order. */
export function featureNames(set: FeatureSet): FeatureName[] {
  const out: FeatureName[] = [];
  for (let i = 0; i < FEATURE_NAMES.length; i++) if (set & (1 << i)) out.push(FEATURE_NAMES[i]!);
  return out;
}

/** Comma-separated names of a mask ("none" when empty), for messages. */
export function formatFeatures(set: FeatureSet): string {
  const names = featureNames(set);
  return names.length === 0 ? 'none' : names.join(', ');
}

/**
 * `netdev_intersect_features`: AND of two sets where HW_CSUM on one side stands for
 * IP_CSUM|IPV6_CSUM on the other.
 */
export function intersectFeatures(a: FeatureSet, b: FeatureSet): FeatureSet {
  if ((a ^ b) & F.HW_CSUM) {
    if (a & F.HW_CSUM) a |= F.IP_CSUM | F.IPV6_CSUM;
    else b |= F.IP_CSUM | F.IPV6_CSUM;
  }
  return a & b;
}

/** ETH_P_* values the decision looks at. */
export const ETH_P = {
  IP: 0x0800,
  IPV6: 0x86dd,
  MPLS_UC: 0x8847,
  MPLS_MC: 0x8848,
  TEB: 0x6558,
} as const;

/** `can_checksum_protocol`: HW_CSUM covers every protocol, IP_CSUM IPv4 only, IPV6_CSUM IPv6 only. */
export function canChecksumProtocol(set: FeatureSet, ethertype: number): boolean {
  if (set & F.HW_CSUM) return true;
  if (ethertype === ETH_P.IP) return (set & F.IP_CSUM) !== 0;
  if (ethertype === ETH_P.IPV6) return (set & F.IPV6_CSUM) !== 0;
  return false;
}
