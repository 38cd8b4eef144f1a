/**
 * Minimal, dependency-free packet toolkit for the kernel reference harness:
 * classic pcap read/write, Internet checksums, and builders for the frames the scenarios inject
 * (Ethernet, IPv4, IPv6, UDP, TCP, ICMP echo, VXLAN).
 *
 * Deliberately independent of capflow's own pipeline code so that the reference captures can
 * never inherit a capflow bug.
 */
import { readFileSync, writeFileSync } from 'node:fs';

// ---------------------------------------------------------------------------------------------
// pcap

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;

export interface PcapRecord {
  tsSec: number;
  tsUsec: number;
  data: Buffer;
  origLen: number;
}

export interface PcapFile {
  linkType: number;
  records: PcapRecord[];
}

/** Read a classic pcap (either byte order, micro- or nanosecond timestamps). */
export function readPcap(path: string): PcapFile {
  const b = readFileSync(path);
  if (b.length < 24) throw new Error(`${path}: too short for a pcap header`);
  const magicLE = b.readUInt32LE(0);
  let le: boolean;
  let nano = false;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nano = magicLE === 0xa1b23c4d;
  } else if (b.readUInt32BE(0) === 0xa1b2c3d4 || b.readUInt32BE(0) === 0xa1b23c4d) {
    le = false;
    nano = b.readUInt32BE(0) === 0xa1b23c4d;
  } else {
    throw new Error(`${path}: not a classic pcap file`);
  }
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const tsSec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const orig = u32(off + 12);
    off += 16;
    if (off + incl > b.length) break; // truncated last record (capture interrupted)
    records.push({
      tsSec,
      tsUsec: nano ? Math.floor(frac / 1000) : frac,
      data: Buffer.from(b.subarray(off, off + incl)),
      origLen: orig,
    });
    off += incl;
  }
  return { linkType, records };
}

/** Write a little-endian microsecond pcap. */
export function writePcap(path: string, frames: Buffer[], linkType = LINKTYPE_ETHERNET): void {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(linkType, 20);
  parts.push(gh);
  frames.forEach((f, i) => {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1_700_000_000 + i, 0);
    rh.writeUInt32LE(0, 4);
    rh.writeUInt32LE(f.length, 8);
    rh.writeUInt32LE(f.length, 12);
    parts.push(rh, f);
  });
  writeFileSync(path, Buffer.concat(parts));
}

// ---------------------------------------------------------------------------------------------
// addresses and checksums

export function mac(s: string): Buffer {
  const parts = s.split(':');
  if (parts.length !== 6) throw new Error(`bad MAC ${s}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function macStr(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function ip4(s: string): Buffer {
  const p = s.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad IPv4 ${s}`);
  return Buffer.from(p);
}

export function ip4Str(b: Uint8Array): string {
  return Array.from(b).join('.');
}

export function ip6(s: string): Buffer {
  const out = Buffer.alloc(16);
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  if (tail === undefined && h.length !== 8) throw new Error(`bad IPv6 ${s}`);
  h.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  t.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), (8 - t.length + i) * 2));
  return out;
}

export function ip6Str(b: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return g.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}

/** Ones'-complement sum of 16-bit big-endian words, not folded. */
export function sum16(b: Uint8Array, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) s += b[b.length - 1]! << 8;
  return s;
}

export function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** Final Internet checksum (complemented) of the bytes, optionally seeded with a partial sum. */
export function inetChecksum(b: Uint8Array, init = 0): number {
  return ~fold(sum16(b, init)) & 0xffff;
}

/** Unfolded pseudo-header sum for TCP/UDP over IPv4 or IPv6. */
export function pseudoSum(src: Uint8Array, dst: Uint8Array, proto: number, l4len: number): number {
  let s = sum16(src) + sum16(dst) + proto;
  if (src.length === 16) s += Math.floor(l4len / 0x10000) + (l4len & 0xffff);
  else s += l4len;
  return s;
}

// ---------------------------------------------------------------------------------------------
// builders

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_MPLS = 0x8847;

export function eth(dst: string, src: string, type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  mac(dst).copy(h, 0);
  mac(src).copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

export interface Ip4Opts {
  src: string;
  dst: string;
  proto: number;
  tos?: number;
  ttl?: number;
  id?: number;
  df?: boolean;
  /** Replace the computed header checksum (e.g. to build a bad one). */
  checksum?: number;
}

export function ipv4(o: Ip4Opts, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(20 + payload.length > 0xffff ? 0 : 20 + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE(o.df === false ? 0 : 0x4000, 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  ip4(o.src).copy(h, 12);
  ip4(o.dst).copy(h, 16);
  h.writeUInt16BE(o.checksum ?? inetChecksum(h), 10);
  return Buffer.concat([h, payload]);
}

export interface Ip6Opts {
  src: string;
  dst: string;
  next: number;
  tclass?: number;
  flowLabel?: number;
  hopLimit?: number;
}

export function ipv6(o: Ip6Opts, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  const tc = o.tclass ?? 0;
  h.writeUInt32BE(((6 << 28) | (tc << 20) | ((o.flowLabel ?? 0) & 0xfffff)) >>> 0, 0);
  h.writeUInt16BE(payload.length & 0xffff, 4);
  h[6] = o.next;
  h[7] = o.hopLimit ?? 64;
  ip6(o.src).copy(h, 8);
  ip6(o.dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

/** How to fill an L4 checksum: final value, pseudo-header sum (CHECKSUM_PARTIAL), zero, or corrupt. */
export type CsumFill = 'valid' | 'partial' | 'zero' | 'bad';

function fillL4(seg: Buffer, off: number, src: string, dst: string, proto: number, how: CsumFill, udp: boolean): void {
  const v6 = src.includes(':');
  const s = v6 ? ip6(src) : ip4(src);
  const d = v6 ? ip6(dst) : ip4(dst);
  const ps = pseudoSum(s, d, proto, seg.length);
  seg.writeUInt16BE(0, off);
  let c: number;
  switch (how) {
    case 'zero':
      c = 0;
      break;
    case 'partial':
      c = fold(ps);
      break;
    case 'valid':
      c = inetChecksum(seg, ps);
      if (udp && c === 0) c = 0xffff;
      break;
    case 'bad':
      c = inetChecksum(seg, ps) ^ 0x5a5a;
      if (c === 0) c = 1;
      break;
  }
  seg.writeUInt16BE(c, off);
}

export interface UdpOpts {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  csum?: CsumFill;
  /** Override the UDP length field (default: header + payload). */
  length?: number;
}

/** UDP header + payload (checksum computed over src/dst pseudo header). */
export function udp(o: UdpOpts, payload: Buffer): Buffer {
  const seg = Buffer.concat([Buffer.alloc(8), payload]);
  seg.writeUInt16BE(o.sport, 0);
  seg.writeUInt16BE(o.dport, 2);
  seg.writeUInt16BE(o.length ?? (seg.length > 0xffff ? 0 : seg.length), 4);
  fillL4(seg, 6, o.src, o.dst, 17, o.csum ?? 'valid', true);
  return seg;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export interface TcpOpts {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags: number;
  window?: number;
  urg?: number;
  /** Raw TCP options (padded to 4 bytes by the caller). */
  options?: Buffer;
  csum?: CsumFill;
}

export function tcp(o: TcpOpts, payload: Buffer): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  if (opts.length % 4) throw new Error('TCP options must be a multiple of 4 bytes');
  const hl = 20 + opts.length;
  const seg = Buffer.concat([Buffer.alloc(20), opts, payload]);
  seg.writeUInt16BE(o.sport, 0);
  seg.writeUInt16BE(o.dport, 2);
  seg.writeUInt32BE((o.seq ?? 1000) >>> 0, 4);
  seg.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  seg[12] = (hl / 4) << 4;
  seg[13] = o.flags;
  seg.writeUInt16BE(o.window ?? 502, 14);
  seg.writeUInt16BE(o.urg ?? 0, 18);
  fillL4(seg, 16, o.src, o.dst, 6, o.csum ?? 'valid', false);
  return seg;
}

/** ICMP (v4) echo request. */
export function icmpEcho(id: number, seq: number, payload: Buffer): Buffer {
  const m = Buffer.concat([Buffer.alloc(8), payload]);
  m[0] = 8;
  m.writeUInt16BE(id, 4);
  m.writeUInt16BE(seq, 6);
  m.writeUInt16BE(inetChecksum(m), 2);
  return m;
}

/** ICMPv6 echo request (checksum over the IPv6 pseudo header). */
export function icmp6Echo(src: string, dst: string, id: number, seq: number, payload: Buffer): Buffer {
  const m = Buffer.concat([Buffer.alloc(8), payload]);
  m[0] = 128;
  m.writeUInt16BE(id, 4);
  m.writeUInt16BE(seq, 6);
  m.writeUInt16BE(inetChecksum(m, pseudoSum(ip6(src), ip6(dst), 58, m.length)), 2);
  return m;
}

/** 8-byte VXLAN header. Default word0 = I flag only; word1 = VNI << 8. */
export function vxlanHeader(vni: number, word0 = 0x08000000, reservedLow = 0): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(word0 >>> 0, 0);
  h.writeUInt32BE((((vni & 0xffffff) << 8) | (reservedLow & 0xff)) >>> 0, 4);
  return h;
}

export interface VxlanFrameOpts {
  underlay: 'ipv4' | 'ipv6';
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  /** IPv4 TOS / IPv6 traffic class of the outer header (ECN bits included). */
  tos?: number;
  ttl?: number;
  id?: number;
  flowLabel?: number;
  sport?: number;
  dport?: number;
  udpCsum?: CsumFill;
  vni: number;
  word0?: number;
  reservedLow?: number;
  /** Outer IPv4 DF bit (default set, as ipv4() does). */
  df?: boolean;
}

/** Complete outer Ethernet/IP/UDP/VXLAN frame around an inner Ethernet frame. */
export function vxlanFrame(o: VxlanFrameOpts, inner: Buffer): Buffer {
  const payload = Buffer.concat([vxlanHeader(o.vni, o.word0, o.reservedLow), inner]);
  const u = udp({ src: o.src, dst: o.dst, sport: o.sport ?? 49152, dport: o.dport ?? 4789, csum: o.udpCsum ?? 'zero' }, payload);
  if (o.underlay === 'ipv4') {
    return eth(o.dstMac, o.srcMac, ETH_P_IP, ipv4({ src: o.src, dst: o.dst, proto: 17, tos: o.tos, ttl: o.ttl, id: o.id, df: o.df }, u));
  }
  return eth(
    o.dstMac,
    o.srcMac,
    ETH_P_IPV6,
    ipv6({ src: o.src, dst: o.dst, next: 17, tclass: o.tos, hopLimit: o.ttl, flowLabel: o.flowLabel }, u),
  );
}

// ---------------------------------------------------------------------------------------------
// dissection (just enough to report what the kernel produced)

export interface L3Info {
  family: 4 | 6;
  /** Offset of the IP header in the buffer. */
  off: number;
  src: string;
  dst: string;
  tos: number;
  ttl: number;
  id?: number;
  df?: boolean;
  flowLabel?: number;
  proto: number;
  l4off: number;
  totalLen: number;
  /** IPv4 header checksum is correct. */
  hdrCsumOk?: boolean;
}

export function parseL3(b: Buffer, off: number, ethertype: number): L3Info | undefined {
  if (ethertype === ETH_P_IP && b.length >= off + 20) {
    const ihl = (b[off]! & 0x0f) * 4;
    return {
      family: 4,
      off,
      src: ip4Str(b.subarray(off + 12, off + 16)),
      dst: ip4Str(b.subarray(off + 16, off + 20)),
      tos: b[off + 1]!,
      ttl: b[off + 8]!,
      id: b.readUInt16BE(off + 4),
      df: (b.readUInt16BE(off + 6) & 0x4000) !== 0,
      proto: b[off + 9]!,
      l4off: off + ihl,
      totalLen: b.readUInt16BE(off + 2),
      hdrCsumOk: inetChecksum(b.subarray(off, off + ihl)) === 0,
    };
  }
  if (ethertype === ETH_P_IPV6 && b.length >= off + 40) {
    const w = b.readUInt32BE(off);
    return {
      family: 6,
      off,
      src: ip6Str(b.subarray(off + 8, off + 24)),
      dst: ip6Str(b.subarray(off + 24, off + 40)),
      tos: (w >>> 20) & 0xff,
      ttl: b[off + 7]!,
      flowLabel: w & 0xfffff,
      proto: b[off + 6]!,
      l4off: off + 40,
      totalLen: 40 + b.readUInt16BE(off + 4),
    };
  }
  return undefined;
}

/** State of a TCP/UDP checksum field as found in a capture. */
export type CsumState = 'zero' | 'valid' | 'partial' | 'bad';

export function l4CsumState(b: Buffer, l3: L3Info): CsumState {
  const l4len = l3.totalLen - (l3.l4off - l3.off);
  const seg = b.subarray(l3.l4off, l3.l4off + l4len);
  const off = l3.proto === 6 ? 16 : l3.proto === 17 ? 6 : -1;
  if (off < 0 || seg.length < off + 2) return 'bad';
  const field = seg.readUInt16BE(off);
  if (l3.proto === 17 && field === 0) return 'zero';
  const srcB = l3.family === 4 ? ip4(l3.src) : ip6(l3.src);
  const dstB = l3.family === 4 ? ip4(l3.dst) : ip6(l3.dst);
  const ps = pseudoSum(srcB, dstB, l3.proto, seg.length);
  if (fold(sum16(seg, ps)) === 0xffff) return 'valid';
  if (field === fold(ps)) return 'partial';
  return 'bad';
}

export interface OuterInfo {
  l3: L3Info;
  sport: number;
  dport: number;
  udpLen: number;
  udpCsum: CsumState;
  udpCsumField: number;
  vxlanWord0: number;
  vni: number;
  inner: Buffer;
}

/** Dissect an Ethernet/IP/UDP/VXLAN frame. */
export function parseVxlanFrame(b: Buffer): OuterInfo | undefined {
  if (b.length < 14) return undefined;
  const l3 = parseL3(b, 14, b.readUInt16BE(12));
  if (!l3 || l3.proto !== 17) return undefined;
  const u = l3.l4off;
  if (b.length < u + 16) return undefined;
  return {
    l3,
    sport: b.readUInt16BE(u),
    dport: b.readUInt16BE(u + 2),
    udpLen: b.readUInt16BE(u + 4),
    udpCsumField: b.readUInt16BE(u + 6),
    udpCsum: l4CsumState(b, l3),
    vxlanWord0: b.readUInt32BE(u + 8),
    vni: b.readUInt32BE(u + 12) >>> 8,
    inner: Buffer.from(b.subarray(u + 16)),
  };
}
