/**
 * vxlan-decap: VXLAN receive on a collect-metadata ("external") device, as Linux 6.18
 * `vxlan_rcv` after the UDP layer (OVS `netdev_vxlan_pop_header` for the shape).
 *
 * A packet is VXLAN when its outer IPv4/IPv6 header (optionally behind up to two VLAN tags)
 * carries UDP to one of `ports`. Everything else, including IP fragments (capflow does not
 * reassemble), passes through unchanged. Checks, in the kernel's order, each with its drop reason:
 *
 *   vlan-not-local         tagged with a VID the host has no device for (`vlans`, see below)
 *   ip-bad-checksum        outer IPv4 header checksum wrong (ip_rcv)
 *   udp-bad-length         UDP length below 8 or beyond the IP datagram (udp_rcv)
 *   udp-bad-checksum       non-zero outer UDP checksum that does not verify (udp_queue_rcv_one_skb)
 *   udp6-zero-checksum     zero UDP checksum over IPv6 without `udp6ZeroCsumRx` (udp6_csum_init)
 *   vxlan-too-short        UDP payload shorter than the 8-byte VXLAN header
 *   truncated              the capture ends before the VXLAN header or the inner Ethernet header
 *   vxlan-bad-flags        I flag clear
 *   vxlan-vni-filtered     VNI not in `vnis` (vnifilter)
 *   vxlan-inner-too-short  inner frame shorter than an Ethernet header
 *   vxlan-reserved-bits    any flag/reserved bit the device does not use
 *   vxlan-local-mac        inner source MAC == `localMac`
 *   vxlan-inner-ip-too-short untagged inner IPv4 < 20 / IPv6 < 40 bytes (pskb_inet_may_pull)
 *   ecn-ce-on-not-ect      outer CE over an untagged inner Not-ECT packet (INET_ECN_decapsulate)
 *
 * Metadata (`pkt.tunnel`, when `collectMetadata`) is `udp_tun_rx_dst`: VNI, outer addresses,
 * full TOS byte / traffic class as received, TTL / hop limit, IPv6 flow label, UDP ports, flags
 * KEY, CSUM iff the outer UDP checksum is non-zero, DONT_FRAGMENT iff the outer IPv4 header has
 * DF (ip_tun_rx_dst; never for IPv6), VXLAN_OPT + gbp value when GBP is on and the G bit is set;
 * not a TX key.
 *
 * `vlans` (a VTEP on a VLAN subinterface): the outer frame's tags are resolved as
 * __netif_receive_skb_core does with a VLAN device for each listed VID and none stacked on it:
 * priority tags (VID 0) are stripped, the first other VID must be listed, and any further tag
 * with a non-zero VID has no device; such a frame is not for this host (PACKET_OTHERHOST, which
 * ip_rcv drops) and is dropped as `vlan-not-local`, VXLAN or not.
 *
 * Snaplen-truncated captures: a packet whose outer headers, VXLAN header and inner Ethernet
 * header are captured is decapsulated; checksum verification that would need missing bytes is
 * skipped (as if the NIC had verified it), and length rules use the lengths the headers declare.
 * The inner frame's `origLen` is the UDP length minus 16 (its length on the wire), so the
 * output record stays consistently truncated. Ethernet padding after the UDP datagram is cut.
 *
 * Inner frames with an in-band VLAN tag get no ECN action and no inner IP length check: the
 * inner skb->protocol is the tag's TPID, so pskb_inet_may_pull checks nothing, and the tag walk
 * of IP_ECN_decapsulate (skb_protocol with skip_vlan) starts at the outer mac_len in vxlan_rcv
 * and finds no IP type (observed on 6.18: no CE mark, no ECT(1) copy, no drop).
 */
import * as z from 'zod';
import { macAddress, udpPort } from '../pipeline/option-schemas.js';
import { parseMac } from '../pipeline/wire/mac-address.js';
import { defineStage, type StageContext } from './stage.js';
import { CSUM, GSO, NO_OFFSET, type Packet } from '../pipeline/packet.js';
import { DECODE, Layers, decodeFrame } from '../pipeline/decode.js';
import { LayerRecord, layersOf, vxlanPortTable } from '../pipeline/layer-record.js';
import { TUNNEL, TunnelInfo } from '../pipeline/metadata.js';
import { ETHER_TYPE } from '../pipeline/wire/ether-type.js';
import { IP_PROTO } from '../pipeline/wire/ip-proto.js';
import { fold, pseudoV4, pseudoV6, sum16, update16 } from '../pipeline/wire/checksum.js';
import * as ethernet from '../pipeline/wire/ethernet.js';
import * as ipv4 from '../pipeline/wire/ipv4.js';
import * as ipv6 from '../pipeline/wire/ipv6.js';
import * as udp from '../pipeline/wire/udp.js';
import * as vlan from '../pipeline/wire/vlan.js';
import * as vxlan from '../pipeline/wire/vxlan.js';


export const vxlanDecapOptions = z
  .object({
    /** Default: the pipeline's `vxlanPorts`. */
    ports: z.array(udpPort).min(1, 'expected at least one UDP port').optional(),
    gbp: z.boolean().default(false),
    collectMetadata: z.boolean().default(true),
    udp6ZeroCsumRx: z.boolean().default(false),
    localMac: macAddress.optional(),
    vnis: z.array(z.number().int().min(0).max(vxlan.MAX_VNI, 'VNI must be 0..16777215')).optional(),
    vlans: z.array(z.number().int().min(0).max(4094, 'VLAN ID must be 0..4094')).optional(),
  })
  .strict();

export type VxlanDecapOptions = z.output<typeof vxlanDecapOptions>;

/** Headers the outer part adds on top of the inner frame: UDP + VXLAN. */
const UDP_VXLAN_LEN = udp.HEADER_LEN + vxlan.HEADER_LEN;
/** word0 bits a GBP device accepts besides I: G and the low 24 bits (D, A, policy ID, reserved). */
const GBP_USED_BITS = (vxlan.FLAG_G | 0x00ffffff) >>> 0;
/** ECN codepoints. */
const NOT_ECT = 0;
const ECT_1 = 1;
const ECT_0 = 2;
const CE = 3;

export const vxlanDecap = defineStage({
  name: 'vxlan-decap',
  summary: 'VXLAN receive (collect-metadata device): validate, strip outer headers, attach tunnel metadata',
  options: vxlanDecapOptions,
  create(o, env) {
    const portSet = new Uint8Array(65536);
    for (const p of o.ports ?? env.vxlanPorts ?? vxlan.DEFAULT_PORTS) portSet[p] = 1;
    const vniSet = o.vnis ? new Set(o.vnis) : null;
    const localMac = o.localMac ? parseMac(o.localMac) : null;
    let vlanSet: Uint8Array | null = null;
    if (o.vlans) {
      vlanSet = new Uint8Array(4096);
      for (const v of o.vlans) vlanSet[v] = 1;
    }
    const scratch = new LayerRecord(vxlanPortTable(env.vxlanPorts));
    /** The inner frame when `ports` takes a port the pipeline's record does not follow. */
    const ownInner = new Layers();
    /** Metadata reused once its packet is written, when the pipeline's caller allows it. */
    const tunnelInfos = env.tunnelInfos ?? null;

    function process(pkt: Packet, ctx: StageContext): void {
      const b = pkt.buf;
      const rec = layersOf(pkt, scratch);
      const L = rec.outer;
      if (vlanSet && L.vlanCount > 0 && !vlanLocal(b, L, vlanSet)) return ctx.drop(pkt, 'vlan-not-local');
      const net = L.netOff;
      const v4 = L.netProto === ETHER_TYPE.IPV4;
      if (net === NO_OFFSET || (!v4 && L.netProto !== ETHER_TYPE.IPV6) || L.l4Proto !== IP_PROTO.UDP || L.isFragment) {
        ctx.emit(pkt);
        return;
      }
      // The UDP header: decoded (transOff), or stopped at as malformed/truncated (stopOff).
      let u = L.transOff;
      if (u === NO_OFFSET) {
        if (L.stopLayer !== 'udp' || L.status === DECODE.OK) return ctx.emit(pkt);
        u = L.stopOff;
        // Not even the destination port captured: we cannot tell whether it is VXLAN.
        if (u + 4 > pkt.tail || !portSet[(b[u + 2]! << 8) | b[u + 3]!]) return ctx.emit(pkt);
        if (L.status === DECODE.MALFORMED) return ctx.drop(pkt, 'udp-bad-length');
        return ctx.drop(pkt, 'truncated');
      }
      if (!portSet[udp.dstPort(b, u)]) return ctx.emit(pkt);

      if (v4 && !ipv4.verifyChecksum(b, net)) return ctx.drop(pkt, 'ip-bad-checksum');
      const ulen = udp.length(b, u);
      const udpEnd = u + ulen;
      const complete = udpEnd <= pkt.tail;
      const csumField = udp.checksum(b, u);
      if (csumField === 0) {
        if (!v4 && !o.udp6ZeroCsumRx) return ctx.drop(pkt, 'udp6-zero-checksum');
      } else if (complete && pkt.csumMode !== CSUM.PARTIAL) {
        // A CHECKSUM_PARTIAL packet (made by an earlier stage) counts as verified, as in the kernel.
        const pseudo = v4
          ? pseudoV4(b, net + ipv4.SRC_ADDR, net + ipv4.DST_ADDR, IP_PROTO.UDP, ulen)
          : pseudoV6(b, net + ipv6.SRC_ADDR, net + ipv6.DST_ADDR, IP_PROTO.UDP, ulen);
        if (fold(sum16(b, u, udpEnd, pseudo)) !== 0xffff) return ctx.drop(pkt, 'udp-bad-checksum');
      }
      if (ulen < UDP_VXLAN_LEN) return ctx.drop(pkt, 'vxlan-too-short');
      const vx = u + udp.HEADER_LEN;
      const inner = vx + vxlan.HEADER_LEN;
      if (inner > pkt.tail) return ctx.drop(pkt, 'truncated');

      const w0 = vxlan.word0(b, vx);
      const w1 = vxlan.word1(b, vx);
      if ((w0 & vxlan.FLAG_I) === 0) return ctx.drop(pkt, 'vxlan-bad-flags');
      const vni = w1 >>> vxlan.VNI_SHIFT;
      if (vniSet && !vniSet.has(vni)) return ctx.drop(pkt, 'vxlan-vni-filtered');
      const innerLen = ulen - UDP_VXLAN_LEN;
      if (innerLen < ethernet.HEADER_LEN) return ctx.drop(pkt, 'vxlan-inner-too-short');
      if (inner + ethernet.HEADER_LEN > pkt.tail) return ctx.drop(pkt, 'truncated');
      let unparsed = (w0 & ~vxlan.FLAG_I) >>> 0;
      const gbpSet = o.gbp && (w0 & vxlan.FLAG_G) !== 0;
      if (o.gbp) unparsed = (unparsed & ~GBP_USED_BITS) >>> 0;
      if (unparsed !== 0 || (w1 & 0xff) !== 0) return ctx.drop(pkt, 'vxlan-reserved-bits');
      if (localMac && macEquals(b, inner + ethernet.SRC, localMac)) return ctx.drop(pkt, 'vxlan-local-mac');

      // Inner IP header for the length rule and ECN: only an untagged one (see the module doc).
      // The record decoded it up to the same end when the port is one of the pipeline's.
      let IL = rec.inner;
      if (!rec.hasInner) {
        IL = ownInner;
        decodeFrame(b, inner, complete ? udpEnd : pkt.tail, IL);
      }
      const innerType = IL.etherType;
      const ipOff = IL.ethTypeOff === NO_OFFSET ? NO_OFFSET : IL.ethTypeOff + 2;
      const innerIp = IL.vlanCount === 0 && (innerType === ETHER_TYPE.IPV4 || innerType === ETHER_TYPE.IPV6);
      if (innerIp) {
        const wireIpLen = inner + innerLen - ipOff;
        if (wireIpLen < (innerType === ETHER_TYPE.IPV4 ? ipv4.HEADER_LEN : ipv6.HEADER_LEN)) {
          return ctx.drop(pkt, 'vxlan-inner-ip-too-short');
        }
      }

      const outerTos = v4 ? ipv4.tos(b, net) : ipv6.trafficClass(b, net);
      const outerEcn = outerTos & 3;
      if (innerIp && (outerEcn === CE || outerEcn === ECT_1)) {
        // The inner TOS / traffic class must be captured to apply the rule.
        if (ipOff + 2 > pkt.tail) return ctx.drop(pkt, 'truncated');
        if (!ecnDecapsulate(b, ipOff, innerType === ETHER_TYPE.IPV4, outerEcn)) return ctx.drop(pkt, 'ecn-ce-on-not-ect');
      }

      let info: TunnelInfo | null = null;
      if (o.collectMetadata) {
        info = tunnelInfos ? tunnelInfos.take() : new TunnelInfo();
        info.vni = vni;
        info.flags = TUNNEL.KEY | (csumField !== 0 ? TUNNEL.CSUM : 0);
        info.ipv6 = !v4;
        if (v4) {
          info.readAddresses(b, net + ipv4.SRC_ADDR, net + ipv4.DST_ADDR, false);
          info.ttl = ipv4.ttl(b, net);
          if (ipv4.df(b, net)) info.flags |= TUNNEL.DONT_FRAGMENT;
        } else {
          info.readAddresses(b, net + ipv6.SRC_ADDR, net + ipv6.DST_ADDR, true);
          info.ttl = ipv6.hopLimit(b, net);
          info.label = ipv6.flowLabel(b, net);
        }
        info.tos = outerTos;
        info.tpSrc = udp.srcPort(b, u);
        info.tpDst = udp.dstPort(b, u);
        if (gbpSet) {
          info.flags |= TUNNEL.VXLAN_OPT;
          info.gbp = w0 & (vxlan.FLAG_D | vxlan.FLAG_A | vxlan.POLICY_MASK);
        }
      }

      // Strip the outer headers; the inner frame ends where the UDP datagram ends.
      if (pkt.csumMode === CSUM.PARTIAL && pkt.csumStart < inner) pkt.csumMode = CSUM.NONE;
      pkt.pull(inner - pkt.head);
      if (pkt.tail > udpEnd) pkt.tail = udpEnd;
      pkt.origLen = innerLen;
      pkt.tunnel = info;
      pkt.resetOffsets();
      // The inner decode describes the frame now (vxlan_rcv pulls; the inner headers stay put).
      if (IL === rec.inner) rec.decapsulated(pkt);
      pkt.macOff = pkt.head;
      if (IL.netOff !== NO_OFFSET) pkt.netOff = IL.netOff;
      if (IL.transOff !== NO_OFFSET) pkt.transOff = IL.transOff;
      pkt.protocol = innerType;
      pkt.innerProtocol = 0;
      pkt.encapsulation = false;
      pkt.gsoType &= ~(GSO.UDP_TUNNEL | GSO.UDP_TUNNEL_CSUM);
      ctx.emit(pkt);
    }

    // Nothing is learnt from packets: the scratch records are rewritten per packet.
    return { name: 'vxlan-decap', process, reset() {} };
  },
});

/**
 * Whether the host has a device for the frame's tags (`vlanSet`): VID 0 tags are skipped, the
 * first other VID must be in the set, a second non-zero VID never is (no device stacked on it).
 */
function vlanLocal(b: Uint8Array, L: Layers, vlanSet: Uint8Array): boolean {
  let found = false;
  for (let i = 0; i < L.vlanCount; i++) {
    const vid = vlan.vid(b, i === 0 ? L.vlanOff0 : L.vlanOff1);
    if (vid === 0) continue;
    if (found || !vlanSet[vid]) return false;
    found = true;
  }
  return true;
}

function macEquals(b: Uint8Array, off: number, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (b[off + i] !== mac[i]) return false;
  return true;
}

/**
 * INET_ECN_decapsulate for an outer CE or ECT(1) (the only outer values that change anything):
 * returns false when the packet must be dropped (outer CE, inner Not-ECT).
 */
function ecnDecapsulate(b: Uint8Array, ipOff: number, isV4: boolean, outerEcn: number): boolean {
  const innerTos = isV4 ? ipv4.tos(b, ipOff) : ipv6.trafficClass(b, ipOff);
  const innerEcn = innerTos & 3;
  if (innerEcn === NOT_ECT) return outerEcn !== CE; // ECT over Not-ECT: pass ("log" in the kernel)
  let next = innerEcn;
  if (outerEcn === CE) next = CE;
  else if (outerEcn === ECT_1 && innerEcn === ECT_0) next = ECT_1;
  if (next === innerEcn) return true;
  const tos = (innerTos & ~3) | next;
  if (isV4) {
    const oldWord = (b[ipOff]! << 8) | innerTos;
    ipv4.setTos(b, ipOff, tos);
    ipv4.setChecksum(b, ipOff, update16(ipv4.checksum(b, ipOff), oldWord, (b[ipOff]! << 8) | tos));
  } else {
    ipv6.setTrafficClass(b, ipOff, tos);
  }
  return true;
}
