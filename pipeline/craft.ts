/**
 * Craft frames with correct lengths and checksums: Ethernet, VLAN tags, IPv4/IPv6, TCP/UDP/ICMP,
 * and VXLAN around an inner frame. Used by the sample generator and the benchmark, and exported
 * for users who build test captures. Not a per-packet hot path.
 */
import * as ethernet from './wire/ethernet.js';
import * as vlan from './wire/vlan.js';
import * as ipv4 from './wire/ipv4.js';
import * as ipv6 from './wire/ipv6.js';
import * as tcp from './wire/tcp.js';
import * as udp from './wire/udp.js';
import * as vxlan from './wire/vxlan.js';
import * as checksum from './wire/checksum.js';
import { parseIp } from './wire/ip-address.js';
import { parseMac } from './wire/mac-address.js';
import { ETHER_TYPE } from './wire/ether-type.js';
import { IP_PROTO } from './wire/ip-proto.js';

export interface CraftIp {
  src: string;
  dst: string;
  ttl?: number;
  tos?: number;
  id?: number;
  df?: boolean;
  flowLabel?: number;
}

export interface CraftTcp {
  kind: 'tcp';
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  /** MSS option value (adds a 4-byte option). */
  mss?: number;
  /** Timestamps option (adds 12 bytes: NOP NOP TS). */
  tsval?: number;
}

export interface CraftUdp {
  kind: 'udp';
  srcPort: number;
  dstPort: number;
  /** Leave the UDP checksum 0 ("none"; over IPv6 only tunnels with zero-checksum RX accept it). */
  noChecksum?: boolean;
}

export interface CraftIcmp {
  kind: 'icmp';
  type?: number;
  code?: number;
  rest?: number;
}

export interface CraftSpec {
  ethSrc?: string;
  ethDst?: string;
  /** VLAN IDs, outermost first (802.1Q; a second one makes QinQ with an 802.1ad outer tag). */
  vlans?: number[];
  ip: CraftIp;
  l4: CraftTcp | CraftUdp | CraftIcmp;
  /** Payload bytes, or a length filled with a repeating pattern. */
  payload?: Uint8Array | number;
}

function payloadBytes(p: Uint8Array | number | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  if (typeof p !== 'number') return p;
  const out = new Uint8Array(p);
  for (let i = 0; i < p; i++) out[i] = (i * 7 + 13) & 0xff;
  return out;
}

/** Build a complete Ethernet frame with valid lengths and checksums. */
export function craftFrame(spec: CraftSpec): Uint8Array {
  const payload = payloadBytes(spec.payload);
  const src = parseIp(spec.ip.src);
  const dst = parseIp(spec.ip.dst);
  if (!src || !dst || src.length !== dst.length) throw new Error(`craftFrame: bad addresses ${spec.ip.src} ${spec.ip.dst}`);
  const v6 = src.length === 16;
  const vlans = spec.vlans ?? [];
  const l2 = 14 + vlans.length * 4;
  const ipLen = v6 ? 40 : 20;
  let l4Len: number;
  let tcpOpts = 0;
  if (spec.l4.kind === 'tcp') {
    tcpOpts = (spec.l4.mss !== undefined ? 4 : 0) + (spec.l4.tsval !== undefined ? 12 : 0);
    l4Len = 20 + tcpOpts;
  } else l4Len = 8;
  const total = l2 + ipLen + l4Len + payload.length;
  const b = new Uint8Array(total);
  const proto = v6 ? ETHER_TYPE.IPV6 : ETHER_TYPE.IPV4;

  // Tags sit between the MAC addresses and the EtherType: TPID+TCI each, outermost first.
  ethernet.emit(b, 0, parseMac(spec.ethDst ?? '02:00:00:00:00:02'), parseMac(spec.ethSrc ?? '02:00:00:00:00:01'), proto);
  vlans.forEach((vid, i) => {
    const tpid = i === 0 && vlans.length > 1 ? ETHER_TYPE.QINQ : ETHER_TYPE.VLAN;
    vlan.emit(b, 12 + i * 4, tpid, vid & 0xfff);
  });
  b[l2 - 2] = proto >> 8;
  b[l2 - 1] = proto & 0xff;

  const ipOff = l2;
  const l4Off = ipOff + ipLen;
  const l4Proto = spec.l4.kind === 'tcp' ? IP_PROTO.TCP : spec.l4.kind === 'udp' ? IP_PROTO.UDP : v6 ? IP_PROTO.ICMPV6 : IP_PROTO.ICMP;
  if (v6) {
    ipv6.emit(b, ipOff, {
      trafficClass: spec.ip.tos ?? 0,
      flowLabel: spec.ip.flowLabel ?? 0,
      payloadLength: l4Len + payload.length,
      nextHeader: l4Proto,
      hopLimit: spec.ip.ttl ?? 64,
      src,
      dst,
    });
  } else {
    ipv4.emit(b, ipOff, {
      tos: spec.ip.tos ?? 0,
      totalLength: ipLen + l4Len + payload.length,
      id: spec.ip.id ?? 1,
      df: spec.ip.df ?? true,
      ttl: spec.ip.ttl ?? 64,
      protocol: l4Proto,
      src,
      dst,
    });
  }
  b.set(payload, l4Off + l4Len);
  const l4Total = l4Len + payload.length;
  const pseudo = v6 ? checksum.pseudoV6(b, ipOff + 8, ipOff + 24, l4Proto, l4Total) : checksum.pseudoV4(b, ipOff + 12, ipOff + 16, l4Proto, l4Total);

  if (spec.l4.kind === 'tcp') {
    const t = spec.l4;
    tcp.emit(b, l4Off, { srcPort: t.srcPort, dstPort: t.dstPort, seq: t.seq ?? 1, ack: t.ack ?? 0, flags: t.flags ?? 0x18, window: t.window ?? 65535, checksum: 0, urgentPtr: 0 });
    let o = l4Off + 20;
    if (t.mss !== undefined) {
      b[o] = 2; b[o + 1] = 4; b[o + 2] = t.mss >> 8; b[o + 3] = t.mss & 0xff;
      o += 4;
    }
    if (t.tsval !== undefined) {
      b[o] = 1; b[o + 1] = 1; b[o + 2] = 8; b[o + 3] = 10;
      const v = t.tsval >>> 0;
      b[o + 4] = v >>> 24; b[o + 5] = (v >>> 16) & 0xff; b[o + 6] = (v >>> 8) & 0xff; b[o + 7] = v & 0xff;
      b.fill(0, o + 8, o + 12);
      o += 12;
    }
    tcp.setHeaderLen(b, l4Off, l4Len);
    tcp.setChecksum(b, l4Off, checksum.finish(checksum.sum16(b, l4Off, l4Off + l4Total, pseudo)));
  } else if (spec.l4.kind === 'udp') {
    udp.emit(b, l4Off, { srcPort: spec.l4.srcPort, dstPort: spec.l4.dstPort, length: l4Total, checksum: 0 });
    if (!spec.l4.noChecksum) udp.setChecksum(b, l4Off, checksum.udpFinal(checksum.finish(checksum.sum16(b, l4Off, l4Off + l4Total, pseudo))));
  } else {
    b[l4Off] = spec.l4.type ?? (v6 ? 128 : 8);
    b[l4Off + 1] = spec.l4.code ?? 0;
    b[l4Off + 2] = 0;
    b[l4Off + 3] = 0;
    const rest = spec.l4.rest ?? 0x12340001;
    b[l4Off + 4] = rest >>> 24; b[l4Off + 5] = (rest >>> 16) & 0xff; b[l4Off + 6] = (rest >>> 8) & 0xff; b[l4Off + 7] = rest & 0xff;
    const c = checksum.finish(checksum.sum16(b, l4Off, l4Off + l4Total, v6 ? pseudo : 0));
    b[l4Off + 2] = c >> 8;
    b[l4Off + 3] = c & 0xff;
  }
  return b;
}

export interface CraftVxlan {
  ethSrc?: string;
  ethDst?: string;
  vlans?: number[];
  ip: CraftIp;
  srcPort: number;
  dstPort?: number;
  vni: number;
  /** Compute the outer UDP checksum (else 0). */
  udpChecksum?: boolean;
}

/** Wrap an inner Ethernet frame in outer Ethernet/IP/UDP/VXLAN. */
export function craftVxlan(inner: Uint8Array, o: CraftVxlan): Uint8Array {
  const payload = new Uint8Array(8 + inner.length);
  vxlan.emit(payload, 0, o.vni);
  payload.set(inner, 8);
  const spec: CraftSpec = {
    ip: o.ip,
    l4: { kind: 'udp', srcPort: o.srcPort, dstPort: o.dstPort ?? vxlan.DEFAULT_PORT, noChecksum: !o.udpChecksum },
    payload,
  };
  if (o.ethSrc !== undefined) spec.ethSrc = o.ethSrc;
  if (o.ethDst !== undefined) spec.ethDst = o.ethDst;
  if (o.vlans !== undefined) spec.vlans = o.vlans;
  return craftFrame(spec);
}
