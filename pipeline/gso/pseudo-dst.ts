/**
 * The destination address of the TCP/UDP pseudo-header over IPv6 (RFC 8200 §8.1): with a
 * Routing header, the *final* destination, which a sending host has put in the Routing header
 * while the IPv6 header carries the first segment.
 *
 * Linux agrees for locally generated packets: TCP checksums with the socket's `sk_v6_daddr` and
 * UDP with `fl6->daddr` restored by `ip6_dst_lookup_flow(..., final_dst)`, both the final
 * destination; `ipv6_push_nfrag_opts` then writes the first hop into the header:
 *   - type 0 (and 1): `ipv6_push_rthdr0` — the final destination is the *last* address;
 *   - type 2 (Mobile IPv6): the one address (the home address);
 *   - type 4 (SRH, `ipv6_push_rthdr4`): Segment List[0] (the list is in reverse order).
 * And GSO keeps it: `tcp_gso_segment` / `__udp_gso_segment` only adjust the checksum field for
 * the new length, they never re-read the addresses, so every segment keeps the final destination.
 *
 * With Segments Left = 0 the header already holds the final destination (a packet at its last
 * segment, or as received). Other routing types (3, RPL, compressed addresses) are not followed:
 * the header destination is used (a known limitation: Linux only sends them from the RPL
 * lwtunnel, which rewrites checksums itself).
 */
import { IP_PROTO } from '../wire/ip-proto.js';
import * as ipv6 from '../wire/ipv6.js';

const RH_TYPE = 2;
const RH_SEGMENTS_LEFT = 3;
const RH_ADDRS = 8;

/**
 * Absolute offset of the 16 bytes to use as pseudo-header destination for the IPv6 header at
 * `ip` whose upper-layer header is at `l4` (the extension headers in between were validated by
 * the decoder). The header's destination field (`ip + 24`) unless a Routing header says otherwise.
 */
export function pseudoDstV6(b: Uint8Array, ip: number, l4: number): number {
  let next = b[ip + ipv6.NEXT_HEADER]!;
  let o = ip + ipv6.HEADER_LEN;
  while (o + 2 <= l4 && ipv6.isExtHeader(next)) {
    const len = ipv6.extHeaderLen(b, o, next);
    if (o + len > l4) break;
    if (next === IP_PROTO.ROUTING && b[o + RH_SEGMENTS_LEFT]! > 0) {
      const type = b[o + RH_TYPE]!;
      const addrBytes = len - RH_ADDRS;
      if ((type === 0 || type === 1 || type === 2) && addrBytes >= 16) return o + RH_ADDRS + ((addrBytes >>> 4) - 1) * 16;
      if (type === 4 && addrBytes >= 16) return o + RH_ADDRS;
    }
    next = b[o]!;
    o += len;
  }
  return ip + ipv6.DST_ADDR;
}
