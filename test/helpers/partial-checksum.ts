/**
 * A frame as a capture on its sender shows it with checksum offload (and TSO) on: the TCP or UDP
 * checksum field holds the folded pseudo-header sum, left for the NIC (CHECKSUM_PARTIAL, as
 * `__tcp_v4_send_check` / `udp4_hwcsum` leave it). capflow's egress recognises such a packet as
 * one the host sent, so a frame over the MTU is a super-packet to segment, not a captured frame.
 * Ethernet without tags, IPv4 (any header length) or IPv6 without extension headers.
 */
import { fold, pseudoV4, pseudoV6 } from '../../pipeline/wire/checksum.js';

export function withPartialChecksum(f: Uint8Array): Uint8Array {
  const ip = 14;
  const etherType = (f[12]! << 8) | f[13]!;
  let l4: number;
  let proto: number;
  let sum: number;
  if (etherType === 0x0800) {
    const ihl = (f[ip]! & 0x0f) * 4;
    proto = f[ip + 9]!;
    l4 = ip + ihl;
    sum = pseudoV4(f, ip + 12, ip + 16, proto, ((f[ip + 2]! << 8) | f[ip + 3]!) - ihl);
  } else if (etherType === 0x86dd) {
    proto = f[ip + 6]!;
    l4 = ip + 40;
    sum = pseudoV6(f, ip + 8, ip + 24, proto, (f[ip + 4]! << 8) | f[ip + 5]!);
  } else {
    throw new Error(`withPartialChecksum: EtherType 0x${etherType.toString(16)} is not IPv4 or IPv6`);
  }
  const field = proto === 6 ? l4 + 16 : proto === 17 ? l4 + 6 : -1;
  if (field < 0) throw new Error(`withPartialChecksum: IP protocol ${proto} is not TCP or UDP`);
  const v = fold(sum);
  f[field] = v >>> 8;
  f[field + 1] = v & 0xff;
  return f;
}
