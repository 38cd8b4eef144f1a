/**
 * The packet model: capflow's sk_buff.
 *
 * One Uint8Array with headroom in front of the frame, so stages push headers (VXLAN, MPLS) by
 * moving `head` back instead of copying the payload. Layer offsets are absolute indexes into
 * `buf` (like the kernel's skb->network_header), so they stay valid across push/pull; only a
 * reallocation shifts them, and `reserve()` does that in one place.
 *
 * Ownership: a packet may own only part of `buf`. Its bytes are buf[floor, tail): the frame is
 * [head, tail) and [floor, head) is headroom that push/insertAt may overwrite. Bytes outside
 * [floor, tail) belong to someone else and must not be written. Packets from the capture reader
 * are zero-copy: `buf` is the read chunk itself (shared by every record in it, never reused by
 * the reader) and `floor` is where the record's own, already parsed header starts, so they have
 * a few bytes of headroom (pcap 16, pcapng EPB 28) until a larger push makes `reserve()` copy
 * the frame into a buffer of its own with HEADROOM. Such a packet keeps its whole chunk alive:
 * a stage that holds packets for long should `clone()` them (a compact copy).
 *
 * What the packet still needs done (segmentation, a partial checksum) lives here, in the
 * kernel's vocabulary (gso_size/gso_type, CHECKSUM_PARTIAL with csum_start/csum_offset).
 * What a device can do lives in the NIC profile. The two are never merged.
 */
import type { TunnelInfo } from './metadata.js';
import type { LayerRecord } from './layer-record.js';
import { PacketSlab } from './packet-slab.js';
import { copyRange, dataViewOf, moveWithin } from './wire/bytes.js';

/** Where `reserve` carves buffers from outside a recycling pipeline (see packet-slab.ts for the ownership rule). */
const sharedSlab = new PacketSlab();

/** Bytes reserved in front of every packet: Ethernet + VLAN + IPv6 + UDP + VXLAN and a few MPLS labels. */
export const HEADROOM = 128;

/** Offset value for an absent layer. */
export const NO_OFFSET = -1;

/** SKB_GSO_* bits (include/linux/skbuff.h, 6.1 numbering): what segmentation the packet needs. */
export const GSO = {
  TCPV4: 1 << 0,
  DODGY: 1 << 1,
  TCP_ECN: 1 << 2,
  TCP_FIXEDID: 1 << 3,
  TCPV6: 1 << 4,
  UDP_TUNNEL: 1 << 10,
  UDP_TUNNEL_CSUM: 1 << 11,
  PARTIAL: 1 << 12,
  UDP: 1 << 16,
  UDP_L4: 1 << 17,
} as const;

/** Kernel `skb->ip_summed` values that matter on transmit. */
export const CSUM = {
  /** Checksums in the bytes are what they are (captured, or completed in software). */
  NONE: 0,
  /** One L4 checksum is left for the device: field holds the pseudo-header sum (csum_start/csum_offset). */
  PARTIAL: 3,
} as const;
export type CsumMode = (typeof CSUM)[keyof typeof CSUM];

export class Packet {
  /** Backing store; the frame is buf[head, tail). May be shared with other packets: see `floor`. */
  buf: Uint8Array;
  head: number;
  tail: number;
  /**
   * Lowest byte of `buf` this packet may write: [floor, head) is its headroom. 0 for a packet
   * that owns its buffer; inside a shared read chunk, the start of the packet's own record, or
   * lower when the run loop lends it the bytes of records already written (run.ts).
   */
  floor: number;
  /** Length of the frame on the wire; larger than the captured length when the capture was snaplen-truncated. */
  origLen: number;

  /**
   * origLen when the packet entered the pipeline (0: not through Pipeline.process). The egress
   * measures a packet no stage grew against an MTU only when the user gave one.
   */
  ingressLen = 0;

  /** Timestamp: whole seconds, and the fraction in units of 1/tsUnits seconds (the input's resolution). */
  tsSec = 0;
  tsFrac = 0;
  tsUnits = 1_000_000;
  /** Index of the capture interface in the input it came from (pcapng IDB index; 0 for pcap). */
  iface = 0;
  /** Link type of the frame (LINKTYPE_* number). */
  linkType = 1;
  /** Packet comments other than capflow's own metadata comments. */
  comments: string[] | null = null;

  /**
   * Where every header is (layer-record.ts): decoded once at ingress by Pipeline.process and kept
   * right by reserve / push / pull / insertAt / removeAt and the stages that change headers.
   * null for a packet that is not in a pipeline (it is decoded on demand into a scratch record).
   */
  layers: LayerRecord | null = null;

  /**
   * Where `reserve` (and software segmentation) carve buffers from while the packet goes through
   * a pipeline that recycles them (Pipeline's `recycleBuffers`: its caller writes or drops every
   * packet before recycling, see packet-slab.ts); null: the shared slab, never reused.
   */
  arena: PacketSlab | null = null;

  /** Layer offsets (absolute in buf), NO_OFFSET when absent. Filled by decode() or by stages. */
  macOff: number = NO_OFFSET;
  netOff: number = NO_OFFSET;
  transOff: number = NO_OFFSET;
  innerMacOff: number = NO_OFFSET;
  innerNetOff: number = NO_OFFSET;
  innerTransOff: number = NO_OFFSET;
  /** skb->protocol: EtherType of the outer network layer (after VLAN tags). 0 when unknown. */
  protocol = 0;
  /** skb->inner_protocol: EtherType under an MPLS stack or inside a tunnel (0x6558 for VXLAN). */
  innerProtocol = 0;
  /** skb->encapsulation: the frame carries a tunnel header and inner offsets are valid. */
  encapsulation = false;

  /** skb->ip_summed; with PARTIAL, csumStart (absolute) and csumOffset (from csumStart) locate the field. */
  csumMode: CsumMode = CSUM.NONE;
  csumStart = 0;
  csumOffset = 0;

  /** Segmentation request: 0 = not a GSO packet. */
  gsoSize = 0;
  gsoType = 0;
  gsoSegs = 0;

  /** Tunnel metadata (the kernel's metadata dst): set by vxlan-decap / tunnel-key, read by vxlan-encap. */
  tunnel: TunnelInfo | null = null;
  /** Notes a stage wants shown to the user in the pcapng comment (e.g. "gso type=tcpv4 size=1448 segs=45"). */
  notes: string[] | null = null;

  /** `floor` (default 0): see the field; pass it only when buf[0, floor) belongs to someone else. */
  constructor(buf: Uint8Array, head: number, tail: number, origLen: number, floor = 0) {
    this.buf = buf;
    this.head = head;
    this.tail = tail;
    this.origLen = origLen;
    this.floor = floor;
  }

  /**
   * Make this packet what `new Packet(buf, head, tail, origLen, floor)` makes, every other field
   * at its initial value: a reader that recycles its chunks reuses its packets too (pcap/packet-pool.ts).
   */
  reset(buf: Uint8Array, head: number, tail: number, origLen: number, floor: number): this {
    this.buf = buf;
    this.head = head;
    this.tail = tail;
    this.floor = floor;
    this.origLen = origLen;
    this.ingressLen = 0;
    this.tsSec = 0;
    this.tsFrac = 0;
    this.tsUnits = 1_000_000;
    this.iface = 0;
    this.linkType = 1;
    this.comments = null;
    this.layers = null;
    this.arena = null;
    this.macOff = NO_OFFSET;
    this.netOff = NO_OFFSET;
    this.transOff = NO_OFFSET;
    this.innerMacOff = NO_OFFSET;
    this.innerNetOff = NO_OFFSET;
    this.innerTransOff = NO_OFFSET;
    this.protocol = 0;
    this.innerProtocol = 0;
    this.encapsulation = false;
    this.csumMode = CSUM.NONE;
    this.csumStart = 0;
    this.csumOffset = 0;
    this.gsoSize = 0;
    this.gsoType = 0;
    this.gsoSegs = 0;
    this.tunnel = null;
    this.notes = null;
    return this;
  }

  /** A packet holding a copy of `frame`, with HEADROOM bytes in front. */
  static fromBytes(frame: Uint8Array, origLen = frame.length): Packet {
    const buf = new Uint8Array(HEADROOM + frame.length);
    buf.set(frame, HEADROOM);
    return new Packet(buf, HEADROOM, HEADROOM + frame.length, origLen);
  }

  /** Captured length. */
  get length(): number {
    return this.tail - this.head;
  }

  /** True when the capture holds fewer bytes than the frame had on the wire. */
  get truncated(): boolean {
    return this.tail - this.head < this.origLen;
  }

  /** The captured frame as a view (no copy; valid until the packet changes). */
  get data(): Uint8Array {
    return this.buf.subarray(this.head, this.tail);
  }

  /** A DataView over the whole backing store (absolute offsets). */
  view(): DataView {
    return new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Bytes that can be pushed in front of the frame without reallocating. */
  get headroom(): number {
    return this.head - this.floor;
  }

  /**
   * Ensure at least `n` bytes of headroom ([floor, head)). If there are fewer, the frame is
   * copied into a new buffer of its own with n + HEADROOM bytes in front (floor 0), and every
   * offset shifts by the same amount.
   */
  reserve(n: number): void {
    if (this.head - this.floor >= n) return;
    // Copy the frame into a slab region with n + HEADROOM bytes in front (zeroed).
    const len = this.tail - this.head;
    const room = n + HEADROOM;
    const slab = this.arena ?? sharedSlab;
    const off = slab.take(room + len, room);
    const next = slab.buf;
    copyRange(this.buf, this.head, next, off + room, len);
    this.buf = next;
    this.floor = off;
    this.shiftOffsets(off + room - this.head);
  }

  /**
   * Prepend n bytes (uninitialised: the caller writes every one). Returns the new head. As
   * skb_push, recorded offsets stay where they are; the layer record waits for the caller to
   * say what the new frame is (LayerRecord.encapsulated).
   */
  push(n: number): number {
    this.reserve(n);
    this.head -= n;
    this.origLen += n;
    if (this.layers) this.layers.valid = false;
    return this.head;
  }

  /** Remove n bytes from the front. Returns the new head. Offsets stay (skb_pull); see push. */
  pull(n: number): number {
    this.head += n;
    this.origLen -= n;
    if (this.layers) this.layers.valid = false;
    return this.head;
  }

  /**
   * Insert `n` bytes at absolute offset `at` by moving only the bytes before it (the L2 prefix)
   * toward the front (OVS push_mpls / eth_push_vlan). Offsets below `at` move with the prefix.
   * Returns the absolute offset of the gap.
   */
  insertAt(at: number, n: number): number {
    // `at` is absolute: remember it relative to head, since reserve() may move everything.
    const prefix = at - this.head;
    this.reserve(n);
    at = this.head + prefix;
    moveToFront(this.buf, this.head - n, this.head, at);
    this.head -= n;
    this.origLen += n;
    this.moveOffsetsBelow(at, -n);
    return this.head + prefix;
  }

  /** Remove `n` bytes at absolute offset `at` by moving the prefix forward. Offsets below `at` follow. */
  removeAt(at: number, n: number): void {
    moveWithin(this.buf, this.head + n, this.head, at);
    this.head += n;
    this.origLen -= n;
    this.moveOffsetsBelow(at, n);
  }

  /** Cut the frame to `len` captured bytes (origLen follows when the packet was complete). */
  trim(len: number): void {
    const cut = this.length - len;
    if (cut <= 0) return;
    this.tail -= cut;
    this.origLen -= cut;
  }

  /**
   * A deep copy, metadata included, in a buffer of its own: the frame with HEADROOM in front
   * (offsets shifted accordingly). Also how to detach a reader packet from its shared chunk.
   */
  clone(): Packet {
    const len = this.tail - this.head;
    const buf = new Uint8Array(HEADROOM + len);
    buf.set(this.buf.subarray(this.head, this.tail), HEADROOM);
    const p = new Packet(buf, HEADROOM, HEADROOM + len, this.origLen);
    p.copyStateFrom(this, HEADROOM - this.head);
    return p;
  }

  /** Copy everything but the bytes (timestamps, interface, offsets, offload state, metadata). */
  copyStateFrom(o: Packet, offsetDelta = 0): void {
    this.tsSec = o.tsSec;
    this.tsFrac = o.tsFrac;
    this.tsUnits = o.tsUnits;
    this.iface = o.iface;
    this.linkType = o.linkType;
    this.ingressLen = o.ingressLen;
    this.comments = o.comments ? o.comments.slice() : null;
    this.notes = o.notes ? o.notes.slice() : null;
    const d = offsetDelta;
    this.macOff = shift(o.macOff, d);
    this.netOff = shift(o.netOff, d);
    this.transOff = shift(o.transOff, d);
    this.innerMacOff = shift(o.innerMacOff, d);
    this.innerNetOff = shift(o.innerNetOff, d);
    this.innerTransOff = shift(o.innerTransOff, d);
    this.protocol = o.protocol;
    this.innerProtocol = o.innerProtocol;
    this.encapsulation = o.encapsulation;
    this.csumMode = o.csumMode;
    this.csumStart = o.csumStart + d;
    this.csumOffset = o.csumOffset;
    this.gsoSize = o.gsoSize;
    this.gsoType = o.gsoType;
    this.gsoSegs = o.gsoSegs;
    this.tunnel = o.tunnel;
  }

  /** Forget every decoded offset (after a stage rewrote the frame in a way decode must redo). */
  resetOffsets(): void {
    if (this.layers) this.layers.valid = false;
    this.macOff = this.netOff = this.transOff = NO_OFFSET;
    this.innerMacOff = this.innerNetOff = this.innerTransOff = NO_OFFSET;
  }

  /** Add a note shown in the output comment. */
  note(text: string): void {
    (this.notes ??= []).push(text);
  }

  private shiftOffsets(d: number): void {
    this.head += d;
    this.tail += d;
    this.macOff = shift(this.macOff, d);
    this.netOff = shift(this.netOff, d);
    this.transOff = shift(this.transOff, d);
    this.innerMacOff = shift(this.innerMacOff, d);
    this.innerNetOff = shift(this.innerNetOff, d);
    this.innerTransOff = shift(this.innerTransOff, d);
    this.csumStart += d;
    this.layers?.shift(d);
  }

  private moveOffsetsBelow(at: number, d: number): void {
    if (this.macOff !== NO_OFFSET && this.macOff < at) this.macOff += d;
    if (this.netOff !== NO_OFFSET && this.netOff < at) this.netOff += d;
    if (this.transOff !== NO_OFFSET && this.transOff < at) this.transOff += d;
    if (this.innerMacOff !== NO_OFFSET && this.innerMacOff < at) this.innerMacOff += d;
    if (this.innerNetOff !== NO_OFFSET && this.innerNetOff < at) this.innerNetOff += d;
    if (this.innerTransOff !== NO_OFFSET && this.innerTransOff < at) this.innerTransOff += d;
    if (this.csumMode === CSUM.PARTIAL && this.csumStart < at) this.csumStart += d;
    if (this.layers) {
      this.layers.shiftBelow(at, d);
      this.layers.valid = false;
    }
  }
}

/**
 * b[from, end) moved to `to` (< from; the ranges may overlap): an L2 prefix (an Ethernet header
 * and a few tags) four bytes at a time through a DataView, front first, which the overlap allows
 * (each word is read before any write reaches it); moveWithin above 64 bytes. A byte loop took
 * 28 instructions a byte (a bounds check on each side, the array's map checked again every
 * iteration), a WebAssembly memory.copy some 240 with its call.
 */
function moveToFront(b: Uint8Array, to: number, from: number, end: number): void {
  if (end - from > 64) {
    moveWithin(b, to, from, end);
    return;
  }
  const dv = dataViewOf(b);
  const n = end - from;
  let k = 0;
  // Signed words in the host's order: no byte swap, and no number beyond 2^31 to check for.
  for (; k + 4 <= n; k += 4) dv.setInt32(to + k, dv.getInt32(from + k, true), true);
  if (k + 2 <= n) {
    dv.setInt16(to + k, dv.getInt16(from + k, true), true);
    k += 2;
  }
  if (k < n) b[to + k] = b[from + k]!;
}

function shift(off: number, d: number): number {
  return off === NO_OFFSET ? off : off + d;
}
