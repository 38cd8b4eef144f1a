/**
 * Non-Ethernet link types. Stages work on Ethernet frames; other frames either pass through
 * untouched (default, counted as `nonEthernet`) or, with `linkLayer: {to: ethernet}`, get their
 * link header replaced by an Ethernet header with configured MACs so stages can see them.
 */
import { LINKTYPE } from './pcap/link-type.js';
import type { Packet } from './packet.js';

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/** EtherType and link-header length of a non-Ethernet frame, or null when it can't be mapped. */
export function linkPayload(pkt: Packet): { etherType: number; hdrLen: number } | null {
  const b = pkt.buf;
  const h = pkt.head;
  const len = pkt.length;
  switch (pkt.linkType) {
    case LINKTYPE.RAW: {
      if (len < 1) return null;
      const v = b[h]! >> 4;
      return v === 4 ? { etherType: ETH_IPV4, hdrLen: 0 } : v === 6 ? { etherType: ETH_IPV6, hdrLen: 0 } : null;
    }
    case LINKTYPE.IPV4:
      return { etherType: ETH_IPV4, hdrLen: 0 };
    case LINKTYPE.IPV6:
      return { etherType: ETH_IPV6, hdrLen: 0 };
    case LINKTYPE.LINUX_SLL:
      // 16-byte cooked header; protocol (EtherType) in its last two bytes.
      return len < 16 ? null : { etherType: (b[h + 14]! << 8) | b[h + 15]!, hdrLen: 16 };
    case LINKTYPE.LINUX_SLL2:
      // 20-byte cooked header v2; protocol first.
      return len < 20 ? null : { etherType: (b[h]! << 8) | b[h + 1]!, hdrLen: 20 };
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (len < 4) return null;
      // NULL: host byte order (either order seen in files); LOOP: network order. AF_INET = 2, AF_INET6 = 24/28/30.
      const be = (b[h]! << 24) | (b[h + 1]! << 16) | (b[h + 2]! << 8) | b[h + 3]!;
      const le = b[h]! | (b[h + 1]! << 8) | (b[h + 2]! << 16) | (b[h + 3]! << 24);
      const fam = pkt.linkType === LINKTYPE.LOOP ? be : be > 0xffff ? le : be;
      if (fam === 2) return { etherType: ETH_IPV4, hdrLen: 4 };
      if (fam === 24 || fam === 28 || fam === 30) return { etherType: ETH_IPV6, hdrLen: 4 };
      return null;
    }
    default:
      return null;
  }
}

/** Replace the link header with Ethernet(dst, src, type). Returns false when the frame can't be mapped. */
export function convertToEthernet(pkt: Packet, src: Uint8Array, dst: Uint8Array): boolean {
  const m = linkPayload(pkt);
  if (!m) return false;
  pkt.pull(m.hdrLen);
  const at = pkt.push(14);
  pkt.buf.set(dst, at);
  pkt.buf.set(src, at + 6);
  pkt.buf[at + 12] = m.etherType >> 8;
  pkt.buf[at + 13] = m.etherType & 0xff;
  pkt.linkType = LINKTYPE.ETHERNET;
  pkt.resetOffsets();
  pkt.macOff = at;
  return true;
}

