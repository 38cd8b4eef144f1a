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
 * The first fragment is the packet itself, cut in place; only the later ones are copies.
 */
import { CSUM, HEADROOM, NO_OFFSET, Packet } from '../packet.js';
import { DECODE } from '../decode.js';
import { LayerRecord, layersOf } from '../layer-record.js';
import { ETHER_TYPE } from '../wire/ether-type.js';
import * as ipv4 from '../wire/ipv4.js';
import { finish, sum16 } from '../wire/checksum.js';
import { copyRange, moveWithin } from '../wire/bytes.js';
import { checksumHelp } from './checksum-help.js';
import { PacketSlab } from '../packet-slab.js';
import { PacketPool } from '../pcap/packet-pool.js';

const IPOPT_END = 0;
const IPOPT_NOOP = 1;
const IPOPT_COPIED = 0x80;

/** Decoded into only for a packet without a layer record (not in a pipeline). */
const scratch = new LayerRecord();
/** Where fragments are built outside a recycling pipeline (see packet-slab.ts for the ownership rule). */
const slab = new PacketSlab();

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
  const hdrLen = l2Len + hl;
  const dataStart = ipOff + hl;
  const dataEnd = ipOff + total;
  const ff = ipv4.flagsFrag(b, ipOff);
  const baseOffset = (ff & ipv4.FRAG_OFFSET_MASK) << 3;
  const keepFlags = ff & (ipv4.FLAG_RESERVED | ipv4.FLAG_DF);
  const origMf = (ff & ipv4.FLAG_MF) !== 0;
  // The header's sum without the words each fragment sets (total length, flags + offset) and
  // without the checksum: every fragment whose header is the packet's (all of them when no option
  // is left out) gets its checksum from it and its own two words, not from a sum over its header.
  // (Adding a word's complement is subtracting it in one's complement arithmetic.)
  const fixedSum = sum16(b, ipOff, ipOff + hl) + (~total & 0xffff) + (~ff & 0xffff) + (~ipv4.checksum(b, ipOff) & 0xffff);
  // Later fragments of a packet with options may lose some (ip_options_fragment): summed anew.
  const sameHeader = hl === ipv4.HEADER_LEN;

  // Every fragment after the first is a copy of the L2 and IP headers and its slice of the data,
  // made before the first is cut, from the packet as it came (the first fragment's header
  // changes below). In the packet's own headroom when it has room for all of them (a packet
  // pushed into the bytes of records already written: copies within one buffer, no slab),
  // else in a slab. They wait until the first has been emitted: the usual second and last one
  // in a variable, any others in an array (no array, whose emptying is a runtime call, per packet).
  const later = Math.ceil((dataEnd - dataStart - maxData) / maxData);
  const laterBytes = later * hdrLen + (dataEnd - dataStart - maxData);
  const inHeadroom = pkt.head - pkt.floor >= laterBytes;
  let at = pkt.head - laterBytes;
  let second: Packet | null = null;
  let more: Packet[] | null = null;
  for (let pos = dataStart + maxData; pos < dataEnd; pos += maxData) {
    const len = Math.min(maxData, dataEnd - pos);
    const flags = keepFlags | (pos + len < dataEnd || origMf ? ipv4.FLAG_MF : 0) | (((baseOffset + (pos - dataStart)) >>> 3) & ipv4.FRAG_OFFSET_MASK);
    let f: Packet;
    if (inHeadroom) {
      // The lowest one keeps the headroom below the rest.
      f = moveFragment(pkt, second === null ? pkt.floor : at, at, hdrLen, pos, len);
      at += hdrLen + len;
    } else f = copyFragment(pkt, hdrLen, pos, len);
    const ip = f.head + l2Len;
    const out = f.buf;
    ipv4.setTotalLength(out, ip, hl + len);
    ipv4.setFlagsFrag(out, ip, flags);
    if (sameHeader) ipv4.setChecksum(out, ip, finish(fixedSum + hl + len + flags));
    else {
      noopUncopiedOptions(out, ip, hl);
      ipv4.fillChecksum(out, ip);
    }
    becomeFragment(f, f.floor, ip);
    f.transOff = NO_OFFSET;
    if (second === null) second = f;
    else (more ??= []).push(f);
  }
  // The later fragments took the headroom: the first one starts at its head.
  if (inHeadroom) pkt.floor = pkt.head;
  // The first fragment is the packet itself, cut in place after its first slice of data (as
  // ip_do_fragment's fast path keeps the head skb): its bytes are the packet's own, only the
  // IP length, flags and checksum change, and it keeps every option.
  const fragLen = hdrLen + maxData;
  const firstFlags = keepFlags | ipv4.FLAG_MF | ((baseOffset >>> 3) & ipv4.FRAG_OFFSET_MASK);
  ipv4.setTotalLength(b, ipOff, hl + maxData);
  ipv4.setFlagsFrag(b, ipOff, firstFlags);
  ipv4.setChecksum(b, ipOff, finish(fixedSum + hl + maxData + firstFlags));
  pkt.tail = pkt.head + fragLen;
  pkt.origLen = fragLen;
  becomeFragment(pkt, pkt.floor, ipOff);
  // The record described the whole datagram.
  if (pkt.layers) pkt.layers.valid = false;
  emit(pkt);
  emit(second!);
  if (more === null) return 2;
  for (let i = 0; i < more.length; i++) emit(more[i]!);
  return 2 + more.length;
}

/**
 * A fragment after the first, in the packet's own headroom at `at` (below its head; it owns
 * [floor, at + its length)): its L2 and IP headers then data bytes [pos, pos+len), moved within
 * the buffer (no slab, no view). Lengths, flags and checksum are the caller's to write.
 */
function moveFragment(pkt: Packet, floor: number, at: number, hdrLen: number, pos: number, len: number): Packet {
  const b = pkt.buf;
  moveWithin(b, at, pkt.head, pkt.head + hdrLen);
  moveWithin(b, at + hdrLen, pos, pos + len);
  const fragLen = hdrLen + len;
  const f = egressPacket(pkt.arena, b, at, at + fragLen, fragLen, floor);
  f.copyStateFrom(pkt, at - pkt.head);
  return f;
}

/** Up to this many bytes are copied byte by byte: cheaper than the view `set` needs. */
const SMALL_COPY = 40;

/**
 * A fragment after the first, in a region of a slab (the pipeline's arena, else the shared one)
 * with HEADROOM in front: the L2 and IP headers of `pkt` then data bytes [pos, pos+len).
 * Lengths, flags and checksum are the caller's to write.
 */
function copyFragment(pkt: Packet, hdrLen: number, pos: number, len: number): Packet {
  const src = pkt.buf;
  const fragLen = hdrLen + len;
  const from = pkt.arena ?? slab;
  const floor = from.take(HEADROOM + fragLen, HEADROOM);
  const out = from.buf;
  const head = floor + HEADROOM;
  copyBytes(src, pkt.head, out, head, hdrLen);
  copyBytes(src, pos, out, head + hdrLen, len);
  const f = egressPacket(pkt.arena, out, head, head + fragLen, fragLen, floor);
  f.copyStateFrom(pkt, head - pkt.head);
  return f;
}

/**
 * The packet object of a frame the egress makes (a later fragment, a segment): in a pipeline that
 * recycles its buffers one of its arena's, handed out again after each recycle (the caller writes
 * or drops every such packet first, as it does their bytes), else a new one. A 64 KB super-packet
 * leaves as some 45 segments: an object each, then garbage, made three quarters of a GSO
 * run's young-generation collections (72 per GB of TSO input; 18 with the pool).
 */
export function egressPacket(arena: PacketSlab | null, buf: Uint8Array, head: number, tail: number, origLen: number, floor: number): Packet {
  if (arena === null || !arena.recycling) return new Packet(buf, head, tail, origLen, floor);
  return (arena.packets ??= new PacketPool()).take(buf, head, tail, origLen, floor);
}

/** The offload state of a fragment: nothing left to do (checksums complete, no segmentation, no tunnel offsets). */
function becomeFragment(f: Packet, floor: number, ip: number): void {
  f.csumMode = CSUM.NONE;
  f.csumStart = floor; // offset 0 of the fragment's own bytes (as 0 was in a buffer of its own)
  f.csumOffset = 0;
  f.gsoSize = 0;
  f.gsoType = 0;
  f.gsoSegs = 0;
  f.netOff = ip;
  f.encapsulation = false;
  f.innerMacOff = f.innerNetOff = f.innerTransOff = NO_OFFSET;
}

/** dst[d, d+n) = src[s, s+n) (different buffers). */
function copyBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  if (n <= SMALL_COPY) {
    for (let i = 0; i < n; i++) dst[d + i] = src[s + i]!;
    return;
  }
  copyRange(src, s, dst, d, n);
}

/** ip_options_fragment: overwrite every option without the copied bit of the header at b[ip, ip+hl) with NOOPs. */
function noopUncopiedOptions(b: Uint8Array, ip: number, hl: number): void {
  const end = ip + hl;
  let i = ip + ipv4.HEADER_LEN;
  while (i < end) {
    const t = b[i]!;
    if (t === IPOPT_END) return;
    if (t === IPOPT_NOOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return;
    const len = b[i + 1]!;
    if (len < 2 || i + len > end) return;
    if (!(t & IPOPT_COPIED)) b.fill(IPOPT_NOOP, i, i + len);
    i += len;
  }
}
