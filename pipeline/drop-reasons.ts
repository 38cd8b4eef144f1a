/**
 * Every reason a packet can be dropped for, with who drops it and a one-line meaning: the one
 * list the stages, the egress and the runner draw from (`drop(pkt, reason)` takes only these, so
 * a misspelt reason does not compile), that `capflow drops` prints and the README's table shows.
 * Like the kernel's `enum skb_drop_reason` (include/net/dropreason-core.h): stable names, counted
 * per reason, never free text.
 */

export const DROP_REASONS = {
  'vlan-not-local': { by: 'vxlan-decap', meaning: "tagged with a VID not in `vlans` (the kernel's `PACKET_OTHERHOST`)" },
  'ip-bad-checksum': { by: 'vxlan-decap', meaning: 'outer IPv4 header checksum wrong' },
  'udp-bad-length': { by: 'vxlan-decap', meaning: 'UDP length below 8 or beyond the IP datagram' },
  'udp-bad-checksum': { by: 'vxlan-decap', meaning: 'non-zero outer UDP checksum that does not verify' },
  'udp6-zero-checksum': { by: 'vxlan-decap', meaning: 'zero UDP checksum over IPv6 without `udp6ZeroCsumRx`' },
  'vxlan-too-short': { by: 'vxlan-decap', meaning: 'UDP payload shorter than the VXLAN header' },
  'vxlan-bad-flags': { by: 'vxlan-decap', meaning: 'I flag clear' },
  'vxlan-vni-filtered': { by: 'vxlan-decap', meaning: 'VNI not in `vnis`' },
  'vxlan-inner-too-short': { by: 'vxlan-decap', meaning: 'inner frame shorter than an Ethernet header' },
  'vxlan-reserved-bits': { by: 'vxlan-decap', meaning: 'a flag or reserved bit the device does not use' },
  'vxlan-local-mac': { by: 'vxlan-decap', meaning: 'inner source MAC equals `localMac`' },
  'vxlan-inner-ip-too-short': { by: 'vxlan-decap', meaning: 'untagged inner IPv4 < 20 or IPv6 < 40 bytes' },
  'ecn-ce-on-not-ect': { by: 'vxlan-decap', meaning: 'outer CE over an untagged inner Not-ECT packet' },
  truncated: { by: 'vxlan-decap, mpls-push, mpls-pop', meaning: 'the capture ends before a header the stage must read or change' },
  'tunnel-key-drop': { by: 'tunnel-key', meaning: 'a `drop: true` rule matched' },
  'no-tunnel-metadata': { by: 'vxlan-encap', meaning: 'no metadata and `requireMetadata: true`' },
  'no-tunnel-destination': { by: 'vxlan-encap', meaning: 'metadata without a destination address' },
  'no-tunnel-source': { by: 'vxlan-encap', meaning: 'no source in the metadata nor in `src` for that family' },
  'vxlan-nested-gso': { by: 'vxlan-encap', meaning: 'the packet is already marked for tunnel GSO' },
  'mtu-exceeded': { by: 'vxlan-encap, egress', meaning: 'larger than the egress MTU and may not be fragmented' },
  'mpls-push-encapsulated': { by: 'mpls-push', meaning: 'pushing onto a tunnel-encapsulated packet' },
  'mpls-pop-unknown-payload': { by: 'mpls-pop', meaning: 'bottom label popped, payload neither IPv4 nor IPv6' },
  'gso-bad-header': { by: 'egress', meaning: 'a super-packet whose headers cannot be parsed or do not match its GSO type (a UDP-tunnel type on a frame without a VXLAN tunnel), or an IP fragment' },
  'gso-too-many-segments': {
    by: 'egress',
    meaning: 'a UDP GSO request of more than 128 segments (`UDP_MAX_SEGMENTS`: `udp_send_skb` and `virtio_net_hdr_to_skb` refuse it, so no UDP GSO skb has more)',
  },
  'mpls-gso-bad-stack': { by: 'egress', meaning: 'MPLS GSO with a label stack length that is not a positive multiple of 4' },
  'record-too-large': {
    by: '(runner)',
    meaning: 'a frame grown past 262,144 bytes (e.g. `mpls-push` on a maximal frame): capture readers (capflow, Wireshark) refuse such a record, so it is never written',
  },
} as const;

export type DropReason = keyof typeof DROP_REASONS;

export function isDropReason(s: string): s is DropReason {
  return Object.hasOwn(DROP_REASONS, s);
}
