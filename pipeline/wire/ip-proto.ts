/** IP protocol / IPv6 next-header numbers (IANA "protocol-numbers"). Unknown values stay plain numbers. */
export const IP_PROTO = {
  /** IPv6 hop-by-hop options (RFC 8200). */
  HOPOPTS: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  /** IPv6 routing header. */
  ROUTING: 43,
  /** IPv6 fragment header. */
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  /** IPv6 "no next header". */
  NONE: 59,
  /** IPv6 destination options. */
  DSTOPTS: 60,
  /** Mobility header (RFC 6275). */
  MH: 135,
} as const;
export type IpProto = (typeof IP_PROTO)[keyof typeof IP_PROTO];
