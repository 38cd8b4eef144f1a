/** EtherType numbers (IEEE 802 / IANA "ieee-802-numbers"). Unknown values stay plain numbers. */
export const ETHER_TYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  /** 802.1Q customer VLAN tag. */
  VLAN: 0x8100,
  /** 802.1ad service VLAN tag (QinQ outer). */
  QINQ: 0x88a8,
  /** Pre-standard QinQ outer tag. */
  QINQ_OLD: 0x9100,
  IPV6: 0x86dd,
  MPLS_UC: 0x8847,
  MPLS_MC: 0x8848,
  /** Transparent Ethernet bridging: the payload is an Ethernet frame (VXLAN inner protocol). */
  TEB: 0x6558,
} as const;
export type EtherType = (typeof ETHER_TYPE)[keyof typeof ETHER_TYPE];
