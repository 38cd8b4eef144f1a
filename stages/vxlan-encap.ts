/**
 * vxlan-encap: VXLAN transmit on a collect-metadata device (Linux 6.1 `vxlan_xmit_one` with
 * `udp_tunnel_xmit_skb` / `udp_tunnel6_xmit_skb`). For each packet carrying tunnel
 * metadata the outer Ethernet + IPv4/IPv6 + UDP + VXLAN headers are pushed into headroom (the
 * inner frame never moves), taking each field from the metadata and, where it leaves it unset,
 * from the device options:
 *
 *   IP family     the metadata's (key.u.ipv4 / ipv6)
 *   src address   metadata src, else the `src` address of that family (else drop no-tunnel-source)
 *   dst address   metadata dst (all-zero → drop no-tunnel-destination)
 *   TTL           metadata ttl, 0 → `ttl` (64, the sysctl default)
 *   TOS / TC      metadata TOS DSCP bits + ECN of the inner IP header (ip_tunnel_ecn_encap:
 *                 inner CE → ECT(0), else copied; Not-ECT for non-IP inner); the metadata's own
 *                 ECN bits are discarded
 *   DF            only the metadata's df flag
 *   flow label    metadata label, verbatim
 *   UDP dst port  metadata tpDst, else `dstPort`
 *   UDP src port  the symmetric inner flow hash scaled into `srcPortRange` as udp_flow_src_port
 *                 does (pipeline/flow-hash.ts); the kernel ignores tp_src, and so does capflow
 *                 for a received key; a TX key (tunnel-key set/modify) with a non-zero tpSrc
 *                 overrides it (capflow extension)
 *   UDP checksum  exactly when the metadata has the csum flag (IPv6 too), udp_set_csum /
 *                 udp6_set_csum: GSO → pseudo-header sum; inner checksum partial → computed now by
 *                 local checksum offload; otherwise the outer UDP checksum becomes the partial one
 *   VXLAN         I flag + VNI; G/D/A + policy ID only with `gbp: true` and a non-zero VXLAN_OPT value
 *   IPv4 ID       per (src, dst) counter, started at a hash of the pair and advanced by one per
 *                 packet (by gso_segs for a GSO packet, whose segments get consecutive IDs);
 *                 deterministic from the start of the run, used even with DF (as the kernel)
 *   outer MACs    `neighbours[dst]` else `outerEth.dst`; source `outerEth.src`
 *
 * The encapsulated packet carries no tunnel metadata any more (the kernel drops the metadata dst
 * in vxlan_xmit), so running vxlan-encap over its own output changes nothing.
 *
 * Packets without metadata pass unchanged (or are dropped `no-tunnel-metadata` with
 * `requireMetadata`). A non-GSO outer packet larger than the egress MTU: `mtuPolicy: kernel`
 * drops it (`mtu-exceeded`) when DF is set or the outer is IPv6 and leaves IPv4 without DF to the
 * gso stage, which fragments it; `drop` drops every one; `ignore` sends it anyway.
 */
import * as z from 'zod';
import { macAddress, udpPort } from '../pipeline/option-schemas.js';
import { parseMac } from '../pipeline/wire/mac-address.js';
import { defineStage, type StageContext, type StageEnv } from './stage.js';
import { CSUM, GSO, NO_OFFSET, type Packet } from '../pipeline/packet.js';
import { LayerRecord, layersOf, vxlanPortTable } from '../pipeline/layer-record.js';
import { TUNNEL, TunnelInfo } from '../pipeline/metadata.js';
import { bytesHash, flowHashBits, udpFlowSrcPort } from '../pipeline/flow-hash.js';
import { ETHER_TYPE } from '../pipeline/wire/ether-type.js';
import { IP_PROTO } from '../pipeline/wire/ip-proto.js';
import { finish, fold, pseudoV4, pseudoV6, sum16, udpFinal } from '../pipeline/wire/checksum.js';
import { parseIp } from '../pipeline/wire/ip-address.js';
import { setBytes, setU16, setU32 } from '../pipeline/wire/bytes.js';
import * as ethernet from '../pipeline/wire/ethernet.js';
import * as ipv4 from '../pipeline/wire/ipv4.js';
import * as ipv6 from '../pipeline/wire/ipv6.js';
import * as udp from '../pipeline/wire/udp.js';
import * as vxlan from '../pipeline/wire/vxlan.js';

const address = z.string().refine((s) => parseIp(s) !== null, { message: 'expected an IPv4 or IPv6 address' });
const port = udpPort;

export const vxlanEncapOptions = z
  .object({
    /** Local address(es) used when the metadata has no source: one per family at most. */
    src: z
      .union([address, z.array(address).max(2)])
      .optional()
      .refine((v) => !Array.isArray(v) || v.length < 2 || parseIp(v[0]!)!.length !== parseIp(v[1]!)!.length, {
        message: 'at most one source address per family',
      }),
    dstPort: port.default(vxlan.DEFAULT_PORT),
    srcPortRange: z
      .tuple([port, port])
      .default([32768, 60999])
      .refine(([lo, hi]) => lo < hi, { message: 'srcPortRange must be [min, max] with min < max (max is exclusive)' }),
    /** TTL / hop limit for metadata ttl 0 (net.ipv4.ip_default_ttl). */
    ttl: z.number().int().min(1).max(255).default(64),
    gbp: z.boolean().default(false),
    outerEth: z
      .object({ src: macAddress.default('02:00:00:00:00:01'), dst: macAddress.default('02:00:00:00:00:02') })
      .strict()
      .default({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' }),
    /** Outer destination MAC per remote tunnel address (an ARP / ND table). */
    neighbours: z
      .record(z.string(), macAddress)
      .default({})
      .refine((m) => Object.keys(m).every((k) => parseIp(k) !== null), { message: 'neighbour keys must be IPv4 or IPv6 addresses' }),
    requireMetadata: z.boolean().default(false),
    mtuPolicy: z.enum(['kernel', 'drop', 'ignore']).default('kernel'),
  })
  .strict();

export type VxlanEncapOptions = z.output<typeof vxlanEncapOptions>;

const ETH_LEN = ethernet.HEADER_LEN;
const UDP_VXLAN_LEN = udp.HEADER_LEN + vxlan.HEADER_LEN;
/** Outer header bytes: Ethernet + IP + UDP + VXLAN. */
export const VXLAN_OVERHEAD_V4 = ETH_LEN + ipv4.HEADER_LEN + UDP_VXLAN_LEN;
export const VXLAN_OVERHEAD_V6 = ETH_LEN + ipv6.HEADER_LEN + UDP_VXLAN_LEN;
const CE = 3;
const ECT_0 = 2;


/** Remote address → MAC, looked up without building strings per packet. */
class NeighbourTable {
  private readonly byHash = new Map<number, { addr: Uint8Array; mac: Uint8Array }[]>();
  constructor(entries: Record<string, string>) {
    for (const [ip, mac] of Object.entries(entries)) {
      const addr = parseIp(ip)!;
      const h = bytesHash(addr, 0, addr.length);
      const list = this.byHash.get(h) ?? [];
      list.push({ addr, mac: parseMac(mac) });
      this.byHash.set(h, list);
    }
  }
  get(addr: Uint8Array, len: number): Uint8Array | null {
    if (this.byHash.size === 0) return null;
    const list = this.byHash.get(bytesHash(addr, 0, len));
    if (!list) return null;
    for (const e of list) {
      if (e.addr.length !== len) continue;
      let eq = true;
      for (let i = 0; i < len && eq; i++) eq = e.addr[i] === addr[i];
      if (eq) return e.mac;
    }
    return null;
  }
}

export const vxlanEncap = defineStage({
  name: 'vxlan-encap',
  summary: 'VXLAN transmit from per-packet tunnel metadata (collect-metadata device)',
  options: vxlanEncapOptions,
  create(o, env: StageEnv) {
    const srcs = o.src === undefined ? [] : Array.isArray(o.src) ? o.src : [o.src];
    let src4: Uint8Array | null = null;
    let src6: Uint8Array | null = null;
    for (const s of srcs) {
      const a = parseIp(s)!;
      if (a.length === 4) src4 = a;
      else src6 = a;
    }
    const ethSrc = parseMac(o.outerEth.src);
    const ethDst = parseMac(o.outerEth.dst);
    const neigh = new NeighbourTable(o.neighbours);
    const [portMin, portMax] = o.srcPortRange;
    const marker = env.egress ?? null;
    const mtu = marker ? marker.mtu : env.nic.mtu;
    const scratch = new LayerRecord(vxlanPortTable(env.vxlanPorts));
    /** IPv4 ID counters per (src, dst) pair, keyed by the pair's hash (like the kernel's ident buckets). */
    const ids = new Map<number, number>();
    const pairKey = new Uint8Array(8);
    // The counter of the pair in pairKey (the last one seen) lives here, not in `ids`, until
    // another pair comes (most runs have one or a few): no hash and no map update per packet.
    let havePair = false;
    let pairHash = 0;
    let pairNext = 0;

    function nextIpId(srcAddr: Uint8Array, dstAddr: Uint8Array, segs: number): number {
      if (!havePair || !samePair(pairKey, srcAddr, dstAddr)) {
        if (havePair) ids.set(pairHash, pairNext);
        for (let i = 0; i < 4; i++) {
          pairKey[i] = srcAddr[i]!;
          pairKey[4 + i] = dstAddr[i]!;
        }
        pairHash = bytesHash(pairKey, 0, 8);
        pairNext = ids.get(pairHash) ?? pairHash >>> 16;
        havePair = true;
      }
      const id = pairNext;
      pairNext = (id + segs) & 0xffff;
      return id;
    }

    // Header fields filled per packet (one record each: no object per packet).
    const srcPlaceholder = new Uint8Array(16);
    const ip4Fields: ipv4.Ipv4Fields = { tos: 0, totalLength: 0, id: 0, df: false, ttl: 0, protocol: IP_PROTO.UDP, src: srcPlaceholder, dst: srcPlaceholder };
    const ip6Fields: ipv6.Ipv6Fields = { trafficClass: 0, flowLabel: 0, payloadLength: 0, nextHeader: IP_PROTO.UDP, hopLimit: 0, src: srcPlaceholder, dst: srcPlaceholder };
    const udpFields: udp.UdpFields = { srcPort: 0, dstPort: 0, length: 0, checksum: 0 };

    /**
     * The outer headers of the last packet written field by field, and the metadata they were
     * made from: a packet whose metadata equals it (every packet of a tunnel-key `set` rule)
     * gets a copy, with only the fields that change per packet written anew (IPv4 TOS, length,
     * ID and checksum; IPv6 traffic class and payload length; UDP source port and length).
     * Every other byte depends only on the metadata and the options.
     */
    let tplInfo: TunnelInfo | null = null;
    const tpl4 = new Uint8Array(VXLAN_OVERHEAD_V4);
    const tpl6 = new Uint8Array(VXLAN_OVERHEAD_V6);
    /**
     * IPv4: the sum of the template's header words that stay (flags, TTL + protocol, addresses):
     * a copied header's checksum is that plus the words written per packet, not a sum over it.
     */
    let tplIpSum = 0;

    function writeHeaders(b: Uint8Array, head: number, t: TunnelInfo, srcAddr: Uint8Array, tos: number, ttl: number, df: boolean, id: number, sport: number, dport: number, udpLen: number, ipLen: number): void {
      const v6 = t.ipv6;
      const net = head + ETH_LEN;
      const u = net + (v6 ? ipv6.HEADER_LEN : ipv4.HEADER_LEN);
      ethernet.emit(b, head, neigh.get(t.dst, v6 ? 16 : 4) ?? ethDst, ethSrc, v6 ? ETHER_TYPE.IPV6 : ETHER_TYPE.IPV4);
      if (v6) {
        const f = ip6Fields;
        f.trafficClass = tos;
        f.flowLabel = t.label;
        f.payloadLength = udpLen;
        f.hopLimit = ttl;
        f.src = srcAddr;
        f.dst = t.dst;
        ipv6.emit(b, net, f);
      } else {
        const f = ip4Fields;
        f.tos = tos;
        f.totalLength = ipLen;
        f.id = id;
        f.df = df;
        f.ttl = ttl;
        f.src = srcAddr;
        f.dst = t.dst;
        ipv4.emit(b, net, f);
      }
      const uf = udpFields;
      uf.srcPort = sport;
      uf.dstPort = dport;
      uf.length = udpLen;
      udp.emit(b, u, uf);
      let w0 = 0;
      if (o.gbp && (t.flags & TUNNEL.VXLAN_OPT) !== 0 && t.gbp !== 0) {
        w0 = (vxlan.FLAG_G | (t.gbp & vxlan.FLAG_D) | (t.gbp & vxlan.FLAG_A) | (t.gbp & vxlan.POLICY_MASK)) >>> 0;
      }
      vxlan.emit(b, u + udp.HEADER_LEN, t.vni, w0);
    }

    function process(pkt: Packet, ctx: StageContext): void {
      const t = pkt.tunnel;
      if (!t) {
        if (o.requireMetadata) return ctx.drop(pkt, 'no-tunnel-metadata');
        ctx.warnOnce('vxlan-encap-no-metadata', 'without tunnel metadata passed through unencapsulated (vxlan-encap)');
        return ctx.emit(pkt);
      }
      const v6 = t.ipv6;
      if (t.dstUnset) return ctx.drop(pkt, 'no-tunnel-destination');
      const srcAddr = t.srcUnset ? (v6 ? src6 : src4) : t.src;
      if (!srcAddr) return ctx.drop(pkt, 'no-tunnel-source');
      if ((pkt.gsoType & (GSO.UDP_TUNNEL | GSO.UDP_TUNNEL_CSUM)) !== 0) return ctx.drop(pkt, 'vxlan-nested-gso');

      // The inner frame: recognise host-captured TSO/USO frames first, then read hash and ECN fields.
      const innerEth = pkt.head;
      if (marker) marker.mark(pkt, innerEth, (t.ipv6 ? ipv6.HEADER_LEN : ipv4.HEADER_LEN) + UDP_VXLAN_LEN);
      const b0 = pkt.buf;
      const rec = layersOf(pkt, scratch);
      const L = rec.outer;
      const innerNet = L.netOff;
      let innerEcn = 0;
      if (innerNet !== NO_OFFSET && L.netProto === ETHER_TYPE.IPV4) innerEcn = ipv4.tos(b0, innerNet) & 3;
      else if (innerNet !== NO_OFFSET && L.netProto === ETHER_TYPE.IPV6) innerEcn = ipv6.trafficClass(b0, innerNet) & 3;
      const sport = t.tx && t.tpSrc !== 0 ? t.tpSrc : udpFlowSrcPort(flowHashBits(b0, L), portMin, portMax);
      const dport = t.tpDst !== 0 ? t.tpDst : o.dstPort;
      const csum = (t.flags & TUNNEL.CSUM) !== 0;
      const df = (t.flags & TUNNEL.DONT_FRAGMENT) !== 0;
      const gso = pkt.gsoSize > 0;
      const tos = (t.tos & ~3 & 0xff) | (innerEcn === CE ? ECT_0 : innerEcn);
      const ttl = t.ttl !== 0 ? t.ttl : o.ttl;

      const innerWire = pkt.origLen;
      const udpLen = UDP_VXLAN_LEN + innerWire;
      const ipHdr = v6 ? ipv6.HEADER_LEN : ipv4.HEADER_LEN;
      const ipLen = ipHdr + udpLen;
      if (!gso && ipLen > mtu && o.mtuPolicy !== 'ignore') {
        if (o.mtuPolicy === 'drop' || v6 || df) return ctx.drop(pkt, 'mtu-exceeded');
      }

      // push may reallocate: re-read the buffer (the record's offsets follow the frame).
      const hdrLen = ETH_LEN + ipHdr + UDP_VXLAN_LEN;
      const head = pkt.push(hdrLen);
      const b = pkt.buf;
      const net = head + ETH_LEN;
      const u = net + ipHdr;
      const id = v6 ? 0 : nextIpId(srcAddr, t.dst, gso ? Math.max(1, pkt.gsoSegs) : 1);
      // Equal metadata, field by field: a key changed in place is seen.
      if (tplInfo !== null && tplInfo.equals(t)) {
        // The metadata of the packet before: its headers with the per-packet fields written anew.
        setBytes(b, v6 ? tpl6 : tpl4, head);
        if (v6) {
          setU32(b, net, (0x60000000 | (tos << ipv6.TRAFFIC_CLASS_SHIFT) | (t.label & ipv6.FLOW_LABEL_MASK)) >>> 0);
          setU16(b, net + ipv6.PAYLOAD_LENGTH, udpLen);
        } else {
          b[net + ipv4.TOS] = tos;
          setU16(b, net + ipv4.TOTAL_LENGTH, ipLen);
          setU16(b, net + ipv4.IDENT, id);
          setU16(b, net + ipv4.CHECKSUM, finish(tplIpSum + ((b[net + ipv4.VER_IHL]! << 8) | tos) + ipLen + id));
        }
        setU16(b, u + udp.SRC_PORT, sport);
        setU16(b, u + udp.LENGTH, udpLen);
        setU16(b, u + udp.CHECKSUM, 0);
      } else {
        writeHeaders(b, head, t, srcAddr, tos, ttl, df, id, sport, dport, udpLen, ipLen);
        // Kept for the next packets with the same metadata (usually all of a tunnel-key rule's).
        const tpl = v6 ? tpl6 : tpl4;
        for (let i = 0; i < hdrLen; i++) tpl[i] = b[head + i]!;
        if (!v6) tplIpSum = sum16(b, net + ipv4.FLAGS_FRAG, net + ipv4.CHECKSUM, sum16(b, net + ipv4.SRC_ADDR, u));
        // (A fresh copy: the packet's metadata may be changed in place later.)
        tplInfo = t.clone();
      }
      const pseudo = !csum ? 0 : v6 ? pseudoV6(b, net + ipv6.SRC_ADDR, net + ipv6.DST_ADDR, IP_PROTO.UDP, udpLen) : pseudoV4(b, net + ipv4.SRC_ADDR, net + ipv4.DST_ADDR, IP_PROTO.UDP, udpLen);

      const innerPartial = pkt.csumMode === CSUM.PARTIAL;
      if (csum) {
        if (gso) {
          udp.setChecksum(b, u, fold(pseudo));
        } else if (innerPartial) {
          // Local checksum offload (lco_csum): once the inner checksum is filled in, the bytes from
          // csum_start on sum to the complement of the partial field's value.
          const field = (b[pkt.csumStart + pkt.csumOffset]! << 8) | b[pkt.csumStart + pkt.csumOffset + 1]!;
          udp.setChecksum(b, u, udpFinal(finish(sum16(b, u, pkt.csumStart, pseudo + (~field & 0xffff)))));
        } else if (pkt.truncated) {
          // Bytes the checksum covers are missing from the capture: leave the pseudo-header sum.
          udp.setChecksum(b, u, fold(pseudo));
        } else {
          udp.setChecksum(b, u, fold(pseudo));
          pkt.csumMode = CSUM.PARTIAL;
          pkt.csumStart = u;
          pkt.csumOffset = udp.CHECKSUM;
        }
      }

      // The frame's decode becomes the inner one; the outer record is filled from what was written here.
      rec.encapsulatedUdp(pkt, v6 ? ETHER_TYPE.IPV6 : ETHER_TYPE.IPV4, ipLen);
      const I = rec.inner;
      pkt.innerMacOff = I.macOff;
      pkt.innerNetOff = I.netOff;
      pkt.innerTransOff = I.transOff;
      pkt.macOff = head;
      pkt.netOff = net;
      pkt.transOff = u;
      pkt.protocol = v6 ? ETHER_TYPE.IPV6 : ETHER_TYPE.IPV4;
      pkt.innerProtocol = ETHER_TYPE.TEB;
      pkt.encapsulation = true;
      // vxlan_xmit releases the metadata dst once the packet is built: the result carries no key.
      pkt.tunnel = null;
      if (gso) pkt.gsoType |= csum ? GSO.UDP_TUNNEL_CSUM : GSO.UDP_TUNNEL;
      ctx.emit(pkt);
    }

    // Every pair starts its IDs anew, the last one seen too (its counter restarted here keeps the
    // first packet off nextIpId's slow path, which V8 would otherwise compile process again for).
    // The header template stays: its bytes follow from its metadata and the options alone.
    function reset(): void {
      ids.clear();
      pairNext = pairHash >>> 16;
    }

    return { name: 'vxlan-encap', process, reset };
  },
});

/** `key` holds the IPv4 pair (src, dst). */
function samePair(key: Uint8Array, src: Uint8Array, dst: Uint8Array): boolean {
  for (let i = 0; i < 4; i++) if (key[i] !== src[i] || key[4 + i] !== dst[i]) return false;
  return true;
}

