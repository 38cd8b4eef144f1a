/**
 * `checksum: { fix: true }`: repair captures taken on a host with checksum offload on, where
 * every transmitted L4 checksum shows the pseudo-header sum instead of the real value.
 *
 * Recomputes every IPv4 header checksum and every TCP, UDP, ICMP and ICMPv6 checksum, under
 * VLAN tags and MPLS stacks, and inside VXLAN (an inner Ethernet frame after UDP destination port
 * 4789 or 8472), inner first, then outer, because the outer UDP checksum covers the inner bytes.
 * The outer UDP checksum of a VXLAN frame is computed from the sums just taken for the frame
 * inside (its IPv4 header now sums to 0xffff, its L4 bytes to the sum taken plus the checksum
 * written): only the bytes around them are summed again, so each byte is summed once.
 * Each layer is repaired by its own family's rule: a zero UDP checksum over IPv4 means "no
 * checksum" and stays; over IPv6 zero is illegal (RFC 8200 §8.1, udp6_csum_init drops it) and
 * is computed, at any depth, except on the tunnel's own UDP header (destination port one of
 * the VXLAN ports): that zero is one the kernel writes itself (udp6_set_csum with no csum flag,
 * udp6zerocsumtx; RFC 6935), and a later receive reads it as "no csum" in the metadata.
 * Left alone:
 *   - a zero UDP checksum over IPv4, and a VXLAN tunnel's zero UDP checksum over IPv6;
 *   - the L4 checksum of IP fragments (it covers the reassembled datagram);
 *   - a checksum a stage left CHECKSUM_PARTIAL (completed later at egress), and the outer UDP
 *     checksum of a UDP-tunnel GSO packet (segmentation writes one per segment); the frames
 *     inside are still repaired;
 *   - packets whose capture is truncated (nothing can be computed): reported as 'truncated'.
 */
import { u16, setU16 } from '../wire/bytes.js';
import { CSUM, GSO, NO_OFFSET, type Packet } from '../packet.js';
import { DECODE, Layers, decodeFrame } from '../decode.js';
import { LayerRecord, layersOf, vxlanPortTable } from '../layer-record.js';
import { ETHER_TYPE } from '../wire/ether-type.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import { finish, fold, pseudoV4, pseudoV6, sum16, udpFinal } from '../wire/checksum.js';
import * as ipv4 from '../wire/ipv4.js';
import * as ipv6 from '../wire/ipv6.js';
import * as ethernet from '../wire/ethernet.js';
import * as tcp from '../wire/tcp.js';
import * as udp from '../wire/udp.js';
import * as vxlan from '../wire/vxlan.js';
import * as icmp from '../wire/icmp.js';
import { pseudoDstV6 } from './pseudo-dst.js';

const MAX_DEPTH = 3;

export type FixResult = 'fixed' | 'truncated' | 'skipped';

export class ChecksumFixer {
  private readonly layers: Layers[] = Array.from({ length: MAX_DEPTH }, () => new Layers());
  /** The VXLAN ports (vxlanPortTable): an index per packet, not a Set's hash lookup. */
  private readonly ports: Uint8Array;
  /** Decoded into only for a packet without a layer record (not in a pipeline). */
  private readonly scratch = new LayerRecord();
  /** The current packet's record: its decodes are used for the frames it holds. */
  private rec: LayerRecord = this.scratch;
  /** Checksum fields rewritten so far (for counters/tests). */
  rewritten = 0;
  /**
   * Set by fixFrame when asked (`wantSum`): the unfolded sum of the frame's bytes as repaired, or
   * -1 when it was not repaired whole (the caller then sums the bytes itself).
   */
  private frameSum = -1;
  /** Set by write: the unfolded sum of the L4 bytes it covered, the checksum written included. */
  private l4Sum = 0;

  /** `sumOnce` false: every checksum sums all its bytes (the general path, for tests). */
  constructor(
    vxlanPorts: readonly number[] = vxlan.DEFAULT_PORTS,
    private readonly sumOnce = true,
  ) {
    this.ports = vxlanPortTable(vxlanPorts);
  }

  /** Repair every checksum of the packet in place. */
  fix(pkt: Packet): FixResult {
    if (pkt.truncated) return 'truncated';
    const skip = pkt.csumMode === CSUM.PARTIAL ? pkt.csumStart : NO_OFFSET;
    const tunnelGso = pkt.gsoSize > 0 && (pkt.gsoType & (GSO.UDP_TUNNEL | GSO.UDP_TUNNEL_CSUM)) !== 0;
    this.rec = layersOf(pkt, this.scratch);
    return this.fixFrame(pkt.buf, pkt.head, pkt.tail, 0, skip, tunnelGso ? pkt.transOff : NO_OFFSET, false);
  }

  /**
   * `skipL4`, `skipUdp`: L4 headers whose checksum field is not this fixer's to write.
   * `wantSum`: leave the sum of the repaired frame in `frameSum` (the caller's UDP checksum covers it).
   */
  private fixFrame(b: Uint8Array, off: number, end: number, depth: number, skipL4: number, skipUdp: number, wantSum: boolean): FixResult {
    this.frameSum = -1;
    const L = this.decoded(b, off, end, depth);
    const st = L.status;
    if (st === DECODE.TRUNCATED || L.ipLenMismatch) return 'truncated';
    if (L.netOff === NO_OFFSET) return 'skipped';
    const v4 = L.netProto === ETHER_TYPE.IPV4;
    if (!v4 && L.netProto !== ETHER_TYPE.IPV6) return 'skipped';
    const ip = L.netOff;
    const transOff = L.transOff;
    const proto = L.l4Proto;
    const ipEnd = L.ipEnd;
    const fragment = L.isFragment;
    const l4Ok = st === DECODE.OK && transOff !== NO_OFFSET && L.l4HdrLen > 0 && !fragment;
    let result: FixResult = 'fixed';
    // The L4 bytes whose sum is known once written: [l4From, l4To) summing to l4Sum.
    let l4From = NO_OFFSET;
    let l4To = NO_OFFSET;
    let l4Sum = 0;

    if (l4Ok) {
      const own = transOff !== skipL4 && transOff !== skipUdp;
      const l4Len = ipEnd - transOff;
      // IPv6 with a Routing header: the pseudo-header takes the final destination (pseudo-dst.ts).
      const dst6 = v4 ? 0 : pseudoDstV6(b, ip, transOff);
      let l4End = ipEnd;
      let written = true;
      if (proto === IP_PROTO.TCP) {
        if (own) this.write(b, transOff + tcp.CHECKSUM, transOff, ipEnd, pseudoOf(b, v4, ip, dst6, IP_PROTO.TCP, l4Len), false, ipEnd, 0);
        else written = false;
      } else if (proto === IP_PROTO.UDP) {
        const ulen = udp.length(b, transOff);
        const uEnd = Math.min(ipEnd, transOff + ulen);
        l4End = uEnd;
        const tunnel = this.ports[udp.dstPort(b, transOff)] === 1;
        // A partial checksum inside the datagram (local checksum offload: the outer sum was
        // computed for the inner field as it will be) leaves the outer checksum as it is.
        const coversPartial = skipL4 > transOff && skipL4 < uEnd;
        const keepZero = v4 || tunnel;
        const writeUdp = own && !coversPartial && (udp.checksum(b, transOff) !== 0 || !keepZero);
        const inner = transOff + udp.HEADER_LEN + vxlan.HEADER_LEN;
        let innerSum = -1;
        if (depth + 1 < MAX_DEPTH && tunnel && uEnd - transOff >= udp.HEADER_LEN + vxlan.HEADER_LEN + ethernet.HEADER_LEN) {
          // The frame inside VXLAN is repaired even when the outer UDP checksum is not ours.
          const r = this.fixFrame(b, inner, uEnd, depth + 1, skipL4, skipUdp, writeUdp && this.sumOnce);
          if (r === 'truncated') result = r;
          innerSum = this.frameSum;
        }
        if (writeUdp) {
          const pseudo = pseudoOf(b, v4, ip, dst6, IP_PROTO.UDP, uEnd - transOff);
          // The frame inside was just summed: only the UDP and VXLAN headers are summed here.
          if (innerSum >= 0) this.write(b, transOff + udp.CHECKSUM, transOff, uEnd, pseudo, true, inner, innerSum);
          else this.write(b, transOff + udp.CHECKSUM, transOff, uEnd, pseudo, true, uEnd, 0);
        } else written = false;
      } else if (own && proto === IP_PROTO.ICMP && v4) {
        this.write(b, transOff + icmp.CHECKSUM, transOff, ipEnd, 0, false, ipEnd, 0);
      } else if (own && proto === IP_PROTO.ICMPV6 && !v4) {
        this.write(b, transOff + icmp.CHECKSUM, transOff, ipEnd, pseudoOf(b, v4, ip, dst6, IP_PROTO.ICMPV6, l4Len), false, ipEnd, 0);
      } else written = false;
      if (written && this.l4Sum >= 0) {
        l4From = transOff;
        l4To = l4End;
        l4Sum = this.l4Sum;
      }
    }
    if (v4) {
      const old = ipv4.checksum(b, ip);
      ipv4.fillChecksum(b, ip);
      if (ipv4.checksum(b, ip) !== old) this.rewritten++;
    }
    // The frame as repaired, for the UDP checksum around it: an IPv4 header (checksum field
    // inside) now sums to 0xffff (≡ 0), the L4 bytes written to l4Sum; the rest (L2 header,
    // IPv6 headers, bytes after the L4 data) is summed here.
    const hlen = v4 ? ipv4.headerLen(b, ip) : 0;
    if (wantSum && result === 'fixed' && (!v4 || (hlen >= ipv4.HEADER_LEN && ip + hlen <= end))) {
      const hdrEnd = ip + hlen;
      let s = sumAt(b, off, ip, off) + (v4 ? 0xffff : 0);
      if (l4From !== NO_OFFSET) s += sumAt(b, hdrEnd, l4From, off) + atParity(l4Sum, l4From - off) + sumAt(b, l4To, end, off);
      else s += sumAt(b, hdrEnd, end, off);
      this.frameSum = s;
    } else this.frameSum = -1;
    return result;
  }

  /**
   * The decode of the frame b[off, end): the packet's record (the frame, or the one inside VXLAN
   * decoded to the same end), else decoded here (a VXLAN port the record does not follow, or
   * VXLAN inside VXLAN).
   */
  private decoded(b: Uint8Array, off: number, end: number, depth: number): Layers {
    const r = this.rec;
    if (depth === 0) return r.outer;
    if (depth === 1 && r.hasInner && r.inner.macOff === off && r.outer.transOff + udp.length(b, r.outer.transOff) === end) return r.inner;
    const L = this.layers[depth]!;
    decodeFrame(b, off, end, L);
    return L;
  }

  /**
   * Rewrite the checksum at `field` over [start, end): b[start, known) is summed, b[known, end)
   * is taken to sum to `knownSum` (a frame inside, just repaired; at an even distance from start).
   * Leaves the sum of the covered bytes, the new checksum included, in `l4Sum` (-1 when the
   * field is not among them: a UDP length below 8).
   */
  private write(b: Uint8Array, field: number, start: number, end: number, pseudo: number, isUdp: boolean, known: number, knownSum: number): void {
    const old = u16(b, field);
    setU16(b, field, 0);
    const bytes = sum16(b, start, known) + (known < end ? knownSum : 0);
    let c = finish(bytes + pseudo);
    if (isUdp) c = udpFinal(c);
    setU16(b, field, c);
    this.l4Sum = field >= start && field + 2 <= end ? bytes + c : -1;
    if (c !== old) this.rewritten++;
  }
}

/** The sum of b[from, to) as the words of a range starting at `origin` see it. */
function sumAt(b: Uint8Array, from: number, to: number, origin: number): number {
  return from < to ? atParity(sum16(b, from, to), from - origin) : 0;
}

/** A sum taken from a byte at `distance` from a range's start, as that range's words see it. */
function atParity(sum: number, distance: number): number {
  if ((distance & 1) === 0) return sum;
  const f = fold(sum);
  return ((f & 0xff) << 8) | (f >>> 8);
}

/** Pseudo-header sum of the IP header at ip (IPv6: destination at dst6, see pseudo-dst.ts). */
function pseudoOf(b: Uint8Array, v4: boolean, ip: number, dst6: number, proto: number, l4Len: number): number {
  return v4 ? pseudoV4(b, ip + ipv4.SRC_ADDR, ip + ipv4.DST_ADDR, proto, l4Len) : pseudoV6(b, ip + ipv6.SRC_ADDR, dst6, proto, l4Len);
}
