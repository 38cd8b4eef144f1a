/**
 * LINKTYPE_* numbers (tcpdump.org/linktypes.html): the link type of a pcap file header or a
 * pcapng Interface Description Block.
 */
export const LINKTYPE = {
  /** BSD loopback: 4-byte address family in host byte order of the capturing machine. */
  NULL: 0,
  ETHERNET: 1,
  PPP: 9,
  /** Raw IPv4 or IPv6, version from the first nibble. */
  RAW: 101,
  IEEE802_11: 105,
  /** OpenBSD loopback: 4-byte address family in network byte order. */
  LOOP: 108,
  LINUX_SLL: 113,
  IEEE802_11_RADIOTAP: 127,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;
export type LinkType = (typeof LINKTYPE)[keyof typeof LINKTYPE];

const NAMES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE.NULL, 'NULL'],
  [LINKTYPE.ETHERNET, 'ETHERNET'],
  [LINKTYPE.PPP, 'PPP'],
  [LINKTYPE.RAW, 'RAW'],
  [LINKTYPE.IEEE802_11, 'IEEE802_11'],
  [LINKTYPE.LOOP, 'LOOP'],
  [LINKTYPE.LINUX_SLL, 'LINUX_SLL'],
  [LINKTYPE.IEEE802_11_RADIOTAP, 'IEEE802_11_RADIOTAP'],
  [LINKTYPE.IPV4, 'IPV4'],
  [LINKTYPE.IPV6, 'IPV6'],
  [LINKTYPE.LINUX_SLL2, 'LINUX_SLL2'],
]);

/** 'ETHERNET' for 1; 'LINKTYPE_<n>' for numbers without a name here. */
export function linkTypeName(linkType: number): string {
  return NAMES.get(linkType) ?? `LINKTYPE_${linkType}`;
}

/**
 * The link type in the pcap header's LinkType-and-additional-information field: the upper bits
 * carry the FCS length (bits 28-31) and its flag (bit 26, as libpcap's LT_FCS_DATAMASK places
 * it); libpcap keeps bits 0-25 (LT_LINKTYPE).
 */
export function pcapHeaderLinkType(field: number): number {
  return field & 0x03ff_ffff;
}

/**
 * Highest LINKTYPE_ value assigned in the tcpdump.org registry (LINKTYPE_DECT_NR). A pcap file
 * header is read through that registry, so readers refuse a whole pcap file with a link type
 * outside it (Wireshark: "network type N unknown or unsupported"), while pcapng keeps such an
 * interface readable: its packets are merely undissected.
 */
export const PCAP_LINKTYPE_MAX = 301;

/** True when a pcap file header can carry `linkType` (a registered LINKTYPE_ value). */
export function pcapCarries(linkType: number): boolean {
  return Number.isInteger(linkType) && linkType >= 0 && linkType <= PCAP_LINKTYPE_MAX;
}
