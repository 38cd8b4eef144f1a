/**
 * Non-Ethernet link types. Stages work on Ethernet frames; other frames either pass through
 * untouched (default, counted as `nonEthernet`) or, with `linkLayer: {to: ethernet}`, get their
 * link header replaced by an Ethernet header with configured MACs so stages can see them.
 */
import { LINKTYPE } from './pcap/link-type.js';
import type { Packet } from './packet.js';
import { setBytes } from './wire/bytes.js';

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
/** Below this an Ethernet type/length field is a length (ETH_P_802_3_MIN). */
const ETH_P_802_3_MIN = 0x0600;
/** Cooked protocols eth_type_trans (net/ethernet/eth.c) gives 802.3 frames: raw 802.3 (Novell IPX) and 802.2 LLC. */
const ETH_P_802_3 = 0x0001;
const ETH_P_802_2 = 0x0004;
/** Largest 802.3 length field (ETH_DATA_LEN). */
const ETH_DATA_LEN = 1500;

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

/**
 * Replace the link header with Ethernet(dst, src, type), or an 802.3 header (length) for 802.2
 * LLC / raw 802.3 payloads. Returns false when the frame can't be mapped.
 */
export function convertToEthernet(pkt: Packet, src: Uint8Array, dst: Uint8Array): boolean {
  const m = linkPayload(pkt);
  if (!m) return false;
  let typeOrLength = m.etherType;
  if (typeOrLength < ETH_P_802_3_MIN) {
    // A cooked protocol below 0x0600 is no EtherType: the frame was 802.3 (eth_type_trans made
    // it ETH_P_802_2 or ETH_P_802_3), whose header carries the payload length, LLC/IPX after it.
    // Other such protocols (CAN, AX.25, ...) have no Ethernet form: they pass untouched.
    if (typeOrLength !== ETH_P_802_2 && typeOrLength !== ETH_P_802_3) return false;
    const payload = pkt.origLen - m.hdrLen;
    if (payload > ETH_DATA_LEN) return false;
    typeOrLength = payload;
  }
  pkt.pull(m.hdrLen);
  const at = pkt.push(14);
  setBytes(pkt.buf, dst, at);
  setBytes(pkt.buf, src, at + 6);
  pkt.buf[at + 12] = typeOrLength >> 8;
  pkt.buf[at + 13] = typeOrLength & 0xff;
  pkt.linkType = LINKTYPE.ETHERNET;
  pkt.resetOffsets();
  pkt.macOff = at;
  return true;
}

