/**
 * `skb_checksum_help` (net/core/dev.c): complete the one CHECKSUM_PARTIAL checksum of a packet in
 * software. The field holds the pseudo-header sum; summing from csum_start to the end of the L4
 * data with that field in place and storing the complement gives the final checksum. A result of
 * 0 is stored as 0xFFFF (CSUM_MANGLED_0) whatever the protocol, as the kernel does here.
 */
import { setU16 } from '../wire/bytes.js';
import { CSUM, type Packet } from '../packet.js';
import { finish, sum16 } from '../wire/checksum.js';

/**
 * Complete the packet's partial checksum over [csumStart, end). `end` defaults to the end of the
 * frame; pass the L4 end (IP datagram end) when the frame may carry Ethernet padding.
 * Returns false when the packet had no partial checksum or its offsets don't fit the frame.
 */
export function checksumHelp(pkt: Packet, end: number = pkt.tail): boolean {
  if (pkt.csumMode !== CSUM.PARTIAL) return false;
  const b = pkt.buf;
  const start = pkt.csumStart;
  const field = start + pkt.csumOffset;
  if (start < pkt.head || field + 2 > end || end > pkt.tail) return false;
  let c = finish(sum16(b, start, end));
  if (c === 0) c = 0xffff;
  setU16(b, field, c);
  pkt.csumMode = CSUM.NONE;
  pkt.csumStart = 0;
  pkt.csumOffset = 0;
  return true;
}
