/**
 * The virtio_net_hdr that AF_PACKET with PACKET_VNET_HDR expects in front of each frame
 * (include/uapi/linux/virtio_net.h, read by virtio_net_hdr_to_skb in include/linux/virtio_net.h):
 * 10 bytes, little-endian,
 *   flags u8, gso_type u8, hdr_len u16, gso_size u16, csum_start u16, csum_offset u16.
 *
 * A super-packet (pkt.gsoSize > 0) gets its GSO type and size, so the kernel (software GSO for
 * a device without the offload) or the NIC segments it; a CHECKSUM_PARTIAL packet gets
 * NEEDS_CSUM with csum_start relative to the frame. Everything else gets an all-zero header.
 */
import { CSUM, GSO, NO_OFFSET, type Packet } from '../packet.js';

export const VNET_HDR_LEN = 10;

export const VIRTIO_NET_HDR = {
  F_NEEDS_CSUM: 1,
  GSO_NONE: 0,
  GSO_TCPV4: 1,
  GSO_UDP: 3,
  GSO_TCPV6: 4,
  GSO_UDP_L4: 5,
  GSO_ECN: 0x80,
} as const;

/**
 * Write the header for `pkt` at `out[off..off+10)`. Returns null, or a drop reason when the
 * packet's segmentation cannot be expressed in a virtio_net_hdr (tunnel GSO: segment it in
 * capflow with --view wire instead).
 */
export function writeVnetHdr(pkt: Packet, out: Uint8Array, off: number): string | null {
  let flags = 0;
  let gsoType: number = VIRTIO_NET_HDR.GSO_NONE;
  let gsoSize = 0;
  let hdrLen = 0;
  let csumStart = 0;
  let csumOffset = 0;

  if (pkt.csumMode === CSUM.PARTIAL) {
    csumStart = pkt.csumStart - pkt.head;
    csumOffset = pkt.csumOffset;
    if (csumStart < 0 || csumStart + csumOffset + 2 > pkt.tail - pkt.head || csumStart > 0xffff) return 'vnet-bad-csum-start';
    flags = VIRTIO_NET_HDR.F_NEEDS_CSUM;
  }
  if (pkt.gsoSize > 0) {
    const t = pkt.gsoType;
    if (t & (GSO.UDP_TUNNEL | GSO.UDP_TUNNEL_CSUM | GSO.PARTIAL)) return 'vnet-gso-tunnel';
    if (t & GSO.TCPV4) gsoType = VIRTIO_NET_HDR.GSO_TCPV4;
    else if (t & GSO.TCPV6) gsoType = VIRTIO_NET_HDR.GSO_TCPV6;
    else if (t & GSO.UDP_L4) gsoType = VIRTIO_NET_HDR.GSO_UDP_L4;
    else if (t & GSO.UDP) gsoType = VIRTIO_NET_HDR.GSO_UDP;
    else return 'vnet-gso-unsupported';
    if (t & GSO.TCP_ECN) gsoType |= VIRTIO_NET_HDR.GSO_ECN;
    if (pkt.gsoSize >= 0xffff) return 'vnet-gso-size';
    gsoSize = pkt.gsoSize;
    hdrLen = headerLength(pkt);
  }

  out[off] = flags;
  out[off + 1] = gsoType;
  out[off + 2] = hdrLen & 0xff;
  out[off + 3] = hdrLen >>> 8;
  out[off + 4] = gsoSize & 0xff;
  out[off + 5] = gsoSize >>> 8;
  out[off + 6] = csumStart & 0xff;
  out[off + 7] = csumStart >>> 8;
  out[off + 8] = csumOffset & 0xff;
  out[off + 9] = csumOffset >>> 8;
  return null;
}

/** Length of the headers up to the end of the L4 header (a hint; the kernel raises it if short). */
function headerLength(pkt: Packet): number {
  const l4 = pkt.encapsulation && pkt.innerTransOff !== NO_OFFSET ? pkt.innerTransOff : pkt.transOff !== NO_OFFSET ? pkt.transOff : pkt.csumMode === CSUM.PARTIAL ? pkt.csumStart : NO_OFFSET;
  if (l4 === NO_OFFSET || l4 >= pkt.tail) return 0;
  const tcp = pkt.csumMode === CSUM.PARTIAL ? pkt.csumOffset === 16 : (pkt.gsoType & (GSO.TCPV4 | GSO.TCPV6)) !== 0;
  const len = tcp && l4 + 13 <= pkt.tail ? (pkt.buf[l4 + 12]! >>> 4) * 4 : 8;
  const end = l4 + len - pkt.head;
  return Math.min(end, pkt.tail - pkt.head, 0xffff);
}
