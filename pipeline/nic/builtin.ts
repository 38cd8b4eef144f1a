/**
 * Built-in NIC profiles, in the contract's profile-file format (what `capflow nic show NAME`
 * prints). Feature sets were read from Linux 6.1 driver source; see `source` and `variant` of
 * each profile and docs section 9 of the kernel semantics notes.
 *
 * Lists hold the sets as the kernel has them after `register_netdevice` (its additions, such as
 * SG and GSO_PARTIAL in hw_enc_features, are written out). loadProfile applies the same
 * registration and `netdev_fix_features` rules again, so a hand-written profile may leave them out.
 *
 * Kept as a TypeScript module rather than JSON files so `tsc` output in dist/ is self-contained.
 */
import type { ProfileJson } from './profile.js';

const SG = 'tx-scatter-gather';
const IP_CSUM = 'tx-checksum-ipv4';
const HW_CSUM = 'tx-checksum-ip-generic';
const IPV6_CSUM = 'tx-checksum-ipv6';
const GSO = 'tx-generic-segmentation';
const TSO = 'tx-tcp-segmentation';
const TSO_ECN = 'tx-tcp-ecn-segmentation';
const TSO_MANGLEID = 'tx-tcp-mangleid-segmentation';
const TSO6 = 'tx-tcp6-segmentation';
const UDP_TNL = 'tx-udp_tnl-segmentation';
const UDP_TNL_CSUM = 'tx-udp_tnl-csum-segmentation';
const GSO_PARTIAL = 'tx-gso-partial';
const UDP_L4 = 'tx-udp-segmentation';
const GSO_ROBUST = 'tx-gso-robust';
const CTAG_TX = 'tx-vlan-hw-insert';
const STAG_TX = 'tx-vlan-stag-hw-insert';
const FRAGLIST = 'tx-scatter-gather-fraglist';
const SCTP_CRC = 'tx-checksum-sctp';
const GRE = 'tx-gre-segmentation';
const GRE_CSUM = 'tx-gre-csum-segmentation';
const IPXIP4 = 'tx-ipxip4-segmentation';
const IPXIP6 = 'tx-ipxip6-segmentation';
const GSO_SCTP = 'tx-sctp-segmentation';
const GSO_LIST = 'tx-gso-list';

const HIGHDMA = 'highdma';
const GRO = 'rx-gro';
const GRO_HW = 'rx-gro-hw';
const RXCSUM = 'rx-checksum';
const RXHASH = 'rx-hashing';
const CTAG_RX = 'rx-vlan-hw-parse';
const CTAG_FILTER = 'rx-vlan-filter';
const STAG_RX = 'rx-vlan-stag-hw-parse';
const STAG_FILTER = 'rx-vlan-stag-filter';
const NTUPLE = 'rx-ntuple-filter';
const LLTX = 'tx-lockless';

/** NETIF_F_GSO_SOFTWARE in 6.1. */
const GSO_SOFTWARE = [TSO, TSO_ECN, TSO_MANGLEID, TSO6, GSO_SCTP, UDP_L4, GSO_LIST];
/** NETIF_F_GSO_ENCAP_ALL. */
const GSO_ENCAP_ALL = [GRE, GRE_CSUM, IPXIP4, IPXIP6, UDP_TNL, UDP_TNL_CSUM];
/** The tunnel GSO types Intel drivers list in gso_partial_features (IXGBE_/I40E_GSO_PARTIAL_FEATURES). */
const INTEL_PARTIAL = [GRE, GRE_CSUM, IPXIP4, IPXIP6, UDP_TNL, UDP_TNL_CSUM];

const DEFAULTS = { mtu: 1500, gsoMaxSize: 65536, gsoMaxSegs: 65535 } as const;

const none: ProfileJson = {
  name: 'none',
  description:
    'A device with no offloads at all (no scatter-gather, no checksum offload, no TSO): every GSO packet is segmented and every checksum completed in software.',
  source: 'net/core/dev.c register_netdevice, netdev_fix_features (defaults only)',
  variant:
    'plain device: only the registration defaults (GSO, GRO; hw_enc_features SG|GSO_PARTIAL; mpls_features SG; vlan_features HIGHDMA). tx-generic-segmentation is dropped by netdev_fix_features because SG is off.',
  ...DEFAULTS,
  features: [GSO, GRO],
  hwEncFeatures: [SG, GSO_PARTIAL],
  mplsFeatures: [SG],
  vlanFeatures: [HIGHDMA],
  gsoPartialFeatures: [],
};

const VETH_FEATURES = [
  SG, FRAGLIST, HW_CSUM, RXCSUM, SCTP_CRC, HIGHDMA, ...GSO_SOFTWARE, ...GSO_ENCAP_ALL,
  CTAG_TX, CTAG_RX, STAG_TX, STAG_RX,
];

const veth: ProfileJson = {
  name: 'veth',
  description:
    'Virtual Ethernet pair: advertises every software GSO type and tunnel GSO, so the kernel hands it super-packets whole (the peer segments later, if at all).',
  source: 'drivers/net/veth.c veth_setup (VETH_FEATURES)',
  variant: '6.1 defaults; tso_max_size raised to 512 KiB but gso_max_size stays 65536 (no BIG TCP configured).',
  ...DEFAULTS,
  features: [...VETH_FEATURES, LLTX, GSO, GRO],
  hwEncFeatures: [...VETH_FEATURES, GSO_PARTIAL],
  mplsFeatures: [SG, HW_CSUM, ...GSO_SOFTWARE],
  vlanFeatures: [SG, FRAGLIST, HW_CSUM, RXCSUM, SCTP_CRC, HIGHDMA, ...GSO_SOFTWARE, ...GSO_ENCAP_ALL, LLTX],
  gsoPartialFeatures: [],
};

const VIRTIO_FEATURES = [HIGHDMA, HW_CSUM, SG, GSO_ROBUST, TSO, TSO6, RXCSUM, GRO_HW];

const virtioNet: ProfileJson = {
  name: 'virtio-net',
  description:
    'virtio-net guest device with checksum and TCP segmentation offload to the host: TCP is passed whole; tunnel GSO, UDP GSO and MPLS are done in software.',
  source: 'drivers/net/virtio_net.c virtnet_probe',
  variant:
    '6.1 with VIRTIO_NET_F_CSUM, HOST_TSO4, HOST_TSO6 (no HOST_ECN, no HOST_USO), GUEST_CSUM and GUEST_TSO4/6; vlan_features copied from features; no tunnel offload (hw_enc_features default).',
  ...DEFAULTS,
  features: [...VIRTIO_FEATURES, GSO, GRO],
  hwEncFeatures: [SG, GSO_PARTIAL],
  mplsFeatures: [SG],
  vlanFeatures: [...VIRTIO_FEATURES, TSO_MANGLEID],
  gsoPartialFeatures: [],
};

const MLX5_VLAN = [SG, HW_CSUM, GRO, TSO, TSO6, RXCSUM, RXHASH, GSO_PARTIAL, UDP_TNL, UDP_TNL_CSUM];

const mlx5: ProfileJson = {
  name: 'mlx5',
  description:
    'NVIDIA/Mellanox ConnectX (mlx5_core): HW checksum, TSO/TSO6, VXLAN TSO on port 4789, MPLS TSO; outer-checksum VXLAN, GRE, IPIP and UDP GSO through GSO partial.',
  source: 'drivers/net/ethernet/mellanox/mlx5/core/en_main.c mlx5e_build_nic_netdev, mlx5e_features_check',
  variant:
    '6.1, firmware with VXLAN, GRE and IPIP TX tunnel offload caps; the NIC UDP port table holds only 4789 (no other local vxlan device ports); LRO off; gso_max_size left at 65536 (tso_max_size 512 KiB).',
  ...DEFAULTS,
  features: [
    ...MLX5_VLAN,
    CTAG_TX, CTAG_RX, CTAG_FILTER, STAG_TX, STAG_FILTER,
    GRE, GRE_CSUM, IPXIP4, IPXIP6, UDP_L4, HIGHDMA, GSO,
  ],
  hwEncFeatures: [
    SG, CTAG_TX, CTAG_RX, HW_CSUM, TSO, TSO6, TSO_MANGLEID, GSO_PARTIAL,
    UDP_TNL, UDP_TNL_CSUM, GRE, GRE_CSUM, IPXIP4, IPXIP6,
  ],
  mplsFeatures: [SG, HW_CSUM, TSO, TSO6, TSO_MANGLEID],
  vlanFeatures: [...MLX5_VLAN, TSO_MANGLEID, HIGHDMA],
  gsoPartialFeatures: [UDP_TNL_CSUM, GRE, GRE_CSUM, IPXIP4, IPXIP6, UDP_L4],
  tunnelPorts: [4789],
};

const IXGBE_BASE = [
  SG, TSO, TSO6, RXHASH, RXCSUM, HW_CSUM, GSO_PARTIAL, ...INTEL_PARTIAL, SCTP_CRC, UDP_L4, HIGHDMA,
];

const ixgbe: ProfileJson = {
  name: 'ixgbe',
  description:
    'Intel 82599/X540/X550 (ixgbe): HW checksum, TSO/TSO6, UDP GSO, MPLS TSO; tunnel GSO only as GSO partial and, for inner IPv4, only with tx-tcp-mangleid-segmentation on (off by default).',
  source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_main.c ixgbe_probe, ixgbe_features_check',
  variant:
    '6.1, mac type 82599 or newer (SCTP_CRC and GSO_UDP_L4 enabled), 64-bit DMA; tx-tcp-mangleid-segmentation available but off (its default); RSC/LRO not modelled (receive side).',
  ...DEFAULTS,
  features: [...IXGBE_BASE, CTAG_FILTER, CTAG_RX, CTAG_TX, GSO, GRO],
  hwEncFeatures: [...IXGBE_BASE, TSO_MANGLEID],
  mplsFeatures: [SG, TSO, TSO6, HW_CSUM, TSO_MANGLEID, ...INTEL_PARTIAL],
  vlanFeatures: [...IXGBE_BASE, TSO_MANGLEID],
  gsoPartialFeatures: INTEL_PARTIAL,
  encapTso4NeedsMangleId: true,
};

const I40E_ENC = [
  SG, HW_CSUM, HIGHDMA, GSO, GRO, TSO, TSO_ECN, TSO6, GRE, GRE_CSUM, GSO_PARTIAL, IPXIP4, IPXIP6,
  UDP_TNL, UDP_TNL_CSUM, UDP_L4, SCTP_CRC, RXHASH, RXCSUM,
];

const i40e: ProfileJson = {
  name: 'i40e',
  description:
    'Intel X710/XL710 (i40e): HW checksum, TSO/TSO6/TSO_ECN, UDP GSO, MPLS TSO; every tunnel GSO type through GSO partial; no GSO for gso_size < 64.',
  source: 'drivers/net/ethernet/intel/i40e/i40e_main.c i40e_config_netdev, i40e_features_check',
  variant:
    '6.1 PF (not a VF), I40E_GSO_PARTIAL_FEATURES as the final gso_partial_features assignment; header-length limits of i40e_features_check not modelled.',
  ...DEFAULTS,
  features: [...I40E_ENC, CTAG_TX, CTAG_RX, CTAG_FILTER, NTUPLE],
  hwEncFeatures: [...I40E_ENC, TSO_MANGLEID],
  mplsFeatures: [SG, HW_CSUM, TSO, TSO6, TSO_MANGLEID, ...INTEL_PARTIAL],
  vlanFeatures: [...I40E_ENC, TSO_MANGLEID],
  gsoPartialFeatures: INTEL_PARTIAL,
  minGsoSize: 64,
};

const ICE_SETS = [
  SG, HIGHDMA, NTUPLE, RXHASH, RXCSUM, IP_CSUM, SCTP_CRC, IPV6_CSUM,
  TSO, TSO_ECN, TSO6, GRE, UDP_TNL, GRE_CSUM, UDP_TNL_CSUM, GSO_PARTIAL, IPXIP4, IPXIP6, UDP_L4,
];

const ice: ProfileJson = {
  name: 'ice',
  description:
    'Intel E810 (ice): IPv4/IPv6 checksum offload (no generic HW_CSUM), TSO/TSO6/TSO_ECN, VXLAN TSO, UDP GSO; outer-checksum tunnels via GSO partial; MPLS falls back to software (no HW_CSUM in features); no GSO for gso_size < 64.',
  source: 'drivers/net/ethernet/intel/ice/ice_main.c ice_set_netdev_features, ice_features_check',
  variant:
    '6.1 PF in double VLAN mode (CTAG offloads on, STAG available but off); header-length limits of ice_features_check not modelled.',
  ...DEFAULTS,
  features: [...ICE_SETS, CTAG_FILTER, CTAG_TX, CTAG_RX, STAG_FILTER, GSO, GRO],
  hwEncFeatures: [...ICE_SETS, TSO_MANGLEID],
  mplsFeatures: [SG, HW_CSUM, TSO, TSO6, TSO_MANGLEID],
  vlanFeatures: [...ICE_SETS, TSO_MANGLEID],
  gsoPartialFeatures: [UDP_TNL_CSUM, GRE_CSUM],
  minGsoSize: 64,
};

const BNXT_HW = [
  IP_CSUM, IPV6_CSUM, SG, TSO, TSO6, UDP_TNL, GRE, IPXIP4, UDP_TNL_CSUM, GRE_CSUM, GSO_PARTIAL,
  RXHASH, RXCSUM, GRO,
];

const bnxt: ProfileJson = {
  name: 'bnxt',
  description:
    'Broadcom NetXtreme-C/E (bnxt_en): IPv4/IPv6 checksum offload, TSO/TSO6, VXLAN TSO on the one registered port; outer-checksum tunnels via GSO partial; no UDP GSO in 6.1; MPLS in software.',
  source: 'drivers/net/ethernet/broadcom/bnxt/bnxt.c bnxt_init_one, bnxt_features_check',
  variant:
    '6.1 PF, firmware with VLAN RX strip and TX insert; a local VXLAN device registered UDP port 4789 with the NIC (bnxt keeps one VXLAN and one GENEVE port); hardware GRO on, LRO off.',
  ...DEFAULTS,
  features: [...BNXT_HW, GRO_HW, CTAG_RX, STAG_RX, CTAG_TX, STAG_TX, HIGHDMA, GSO],
  hwEncFeatures: [IP_CSUM, IPV6_CSUM, SG, TSO, TSO6, TSO_MANGLEID, UDP_TNL, GRE, UDP_TNL_CSUM, GRE_CSUM, IPXIP4, GSO_PARTIAL],
  mplsFeatures: [SG],
  vlanFeatures: [...BNXT_HW, HIGHDMA, TSO_MANGLEID],
  gsoPartialFeatures: [UDP_TNL_CSUM, GRE_CSUM],
  tunnelPorts: [4789],
};

/** Every built-in profile, in the order `capflow nic list` shows them. */
export const BUILTIN_PROFILE_JSON: readonly ProfileJson[] = [none, veth, virtioNet, mlx5, ixgbe, i40e, ice, bnxt];
