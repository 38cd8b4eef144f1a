/**
 * IPv4 fragmentation as `ip_do_fragment` (net/ipv4/ip_output.c) does it for a packet larger than
 * the MTU whose DF bit is clear:
 *   - every fragment repeats the L2 header (Ethernet, VLAN tags) and the IPv4 header;
 *   - the data of every fragment but the last is (MTU − IHL·4) rounded down to a multiple of 8;
 *   - MF on every fragment but the last (and on the last too when the packet was itself a
 *     non-last fragment); offsets count from the packet's own offset;
 *   - the ID is the same on all fragments; total length and header checksum per fragment;
 *   - the first fragment keeps every IP option; later ones keep only options with the "copied"
 *     bit set: the others are overwritten with NOOP bytes (`ip_options_fragment`), so the
 *     header length stays the same.
 * A partial L4 checksum is completed first (`ip_do_fragment` calls skb_checksum_help).
 */
import { CSUM, HEADROOM, NO_OFFSET, Packet } from '../packet.js';
import { DECODE } from '../decode.js';
import { LayerRecord, layersOf } from '../layer-record.js';
import { ETHER_TYPE } from '../wire/ether-type.js';
import * as ipv4 from '../wire/ipv4.js';
import { checksumHelp } from './checksum-help.js';

const IPOPT_END = 0;
const IPOPT_NOOP = 1;
const IPOPT_COPIED = 0x80;

/** Decoded into only for a packet without a layer record (not in a pipeline). */
const scratch = new LayerRecord();

/**
 * Fragment the outermost IPv4 packet of `pkt` for `mtu` (IP bytes) and emit the fragments.
 * Returns the number of fragments emitted, or 0 when the packet can't be fragmented
 * (not IPv4, DF set, truncated capture, MTU too small for 8 data bytes, or it already fits).
 * `ipOff` may be given when the caller knows it; else it comes from the packet's layer record.
 */
export function fragmentIpv4(pkt: Packet, mtu: number, emit: (p: Packet) => void, ipOff = NO_OFFSET): number {
  const b = pkt.buf;
  if (ipOff === NO_OFFSET) {
    const L = layersOf(pkt, scratch).outer;
    if (L.status === DECODE.TRUNCATED || L.mplsOff !== NO_OFFSET || L.netProto !== ETHER_TYPE.IPV4) return 0;
    ipOff = L.netOff;
  }
  if (pkt.truncated || ipOff + ipv4.HEADER_LEN > pkt.tail) return 0;
  const hl = ipv4.headerLen(b, ipOff);
  const total = ipv4.totalLength(b, ipOff);
  if (total <= mtu || ipv4.df(b, ipOff) || ipOff + total > pkt.tail || total < hl) return 0;
  const maxData = (mtu - hl) & ~7;
  if (maxData < 8) return 0;
  if (pkt.csumMode === CSUM.PARTIAL) checksumHelp(pkt, ipOff + total);

  const l2Len = ipOff - pkt.head;
  const dataStart = ipOff + hl;
  const dataEnd = ipOff + total;
  const ff = ipv4.flagsFrag(b, ipOff);
  const baseOffset = (ff & ipv4.FRAG_OFFSET_MASK) << 3;
  const keepFlags = ff & (ipv4.FLAG_RESERVED | ipv4.FLAG_DF);
  const origMf = (ff & ipv4.FLAG_MF) !== 0;

  // Header for the fragments after the first: non-copied options replaced by NOOPs.
  const later = b.slice(ipOff, ipOff + hl);
  noopUncopiedOptions(later, hl);

  let n = 0;
  for (let pos = dataStart; pos < dataEnd; ) {
    const len = Math.min(maxData, dataEnd - pos);
    const isLast = pos + len >= dataEnd;
    const fragLen = l2Len + hl + len;
    const out = new Uint8Array(HEADROOM + fragLen);
    out.set(b.subarray(pkt.head, ipOff), HEADROOM);
    const ip = HEADROOM + l2Len;
    if (n === 0) out.set(b.subarray(ipOff, ipOff + hl), ip);
    else out.set(later, ip);
    out.set(b.subarray(pos, pos + len), ip + hl);
    ipv4.setTotalLength(out, ip, hl + len);
    const off = baseOffset + (pos - dataStart);
    ipv4.setFlagsFrag(out, ip, keepFlags | (!isLast || origMf ? ipv4.FLAG_MF : 0) | ((off >>> 3) & ipv4.FRAG_OFFSET_MASK));
    ipv4.fillChecksum(out, ip);

    const f = new Packet(out, HEADROOM, HEADROOM + fragLen, fragLen);
    const d = HEADROOM - pkt.head;
    f.copyStateFrom(pkt, d);
    f.csumMode = CSUM.NONE;
    f.csumStart = 0;
    f.csumOffset = 0;
    f.gsoSize = 0;
    f.gsoType = 0;
    f.gsoSegs = 0;
    f.netOff = ip;
    if (n > 0) f.transOff = NO_OFFSET;
    f.encapsulation = false;
    f.innerMacOff = f.innerNetOff = f.innerTransOff = NO_OFFSET;
    emit(f);
    n++;
    pos += len;
  }
  return n;
}

/** ip_options_fragment: overwrite every option without the copied bit with NOOPs. */
function noopUncopiedOptions(h: Uint8Array, hl: number): void {
  let i = ipv4.HEADER_LEN;
  while (i < hl) {
    const t = h[i]!;
    if (t === IPOPT_END) return;
    if (t === IPOPT_NOOP) {
      i++;
      continue;
    }
    if (i + 1 >= hl) return;
    const len = h[i + 1]!;
    if (len < 2 || i + len > hl) return;
    if (!(t & IPOPT_COPIED)) h.fill(IPOPT_NOOP, i, i + len);
    i += len;
  }
}
