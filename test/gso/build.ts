/**
 * Frame builders and checkers for the gso tests: IPv4 with options, IPv6 with extension headers,
 * VLAN tags, MPLS stacks, VXLAN, TCP/UDP with a chosen checksum fill.
 */
import { Packet } from '../../pipeline/packet.js';
import { DECODE, Layers, decodeFrame, NO_PROTO } from '../../pipeline/decode.js';
import { finish, fold, pseudoV4, pseudoV6, sum16, udpFinal } from '../../pipeline/wire/checksum.js';
import { parseIp } from '../../pipeline/wire/ip-address.js';

export type Fill = 'valid' | 'partial' | 'zero';

export interface IpSpec4 {
  v: 4;
  src?: string;
  dst?: string;
  id?: number;
  df?: boolean;
  ttl?: number;
  tos?: number;
  /** Raw option bytes, padded by the builder to a multiple of 4 with END. */
  options?: number[];
  /** Fragment flags/offset word override (MF/offset bits). */
  frag?: number;
}
export interface IpSpec6 {
  v: 6;
  src?: string;
  dst?: string;
  flowLabel?: number;
  /** Extension headers as [type, totalLenBytes] (multiple of 8); contents are padding. */
  ext?: Array<[number, number]>;
}
export interface TcpSpec {
  kind: 'tcp';
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  urg?: number;
  window?: number;
  /** Raw option bytes (multiple of 4). */
  options?: number[];
}
export interface UdpSpec {
  kind: 'udp';
  sport?: number;
  dport?: number;
}
export interface FrameSpec {
  vlan?: number[];
  mpls?: number[];
  ip: IpSpec4 | IpSpec6;
  l4: TcpSpec | UdpSpec;
  payload: Uint8Array;
  csum?: Fill;
  src?: string;
  dst?: string;
}

export const TS_OPTS = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];

export function pattern(n: number, seed = 7): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 31 + seed) & 0xff;
  return p;
}

function addr(s: string): Uint8Array {
  return parseIp(s)!;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const u16 = (b: Uint8Array, o: number, v: number) => {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
};
const u32 = (b: Uint8Array, o: number, v: number) => {
  u16(b, o, (v >>> 16) & 0xffff);
  u16(b, o + 2, v & 0xffff);
};

/** Build an Ethernet frame. */
export function frame(s: FrameSpec): Uint8Array {
  const v4 = s.ip.v === 4;
  const src = s.ip.src ?? (v4 ? '192.0.2.1' : '2001:db8::1');
  const dst = s.ip.dst ?? (v4 ? '192.0.2.2' : '2001:db8::2');
  const proto = s.l4.kind === 'tcp' ? 6 : 17;
  // L4
  let l4: Uint8Array;
  if (s.l4.kind === 'tcp') {
    const opts = s.l4.options ?? [];
    const hl = 20 + opts.length;
    l4 = new Uint8Array(hl + s.payload.length);
    u16(l4, 0, s.l4.sport ?? 40000);
    u16(l4, 2, s.l4.dport ?? 80);
    u32(l4, 4, (s.l4.seq ?? 1000) >>> 0);
    u32(l4, 8, (s.l4.ack ?? 1) >>> 0);
    l4[12] = (hl / 4) << 4;
    l4[13] = s.l4.flags ?? 0x18;
    u16(l4, 14, s.l4.window ?? 500);
    u16(l4, 18, s.l4.urg ?? 0);
    l4.set(opts, 20);
    l4.set(s.payload, hl);
  } else {
    l4 = new Uint8Array(8 + s.payload.length);
    u16(l4, 0, s.l4.sport ?? 40000);
    u16(l4, 2, s.l4.dport ?? 9000);
    u16(l4, 4, l4.length & 0xffff);
    l4.set(s.payload, 8);
  }
  const sa = addr(src);
  const da = addr(dst);
  const tmp = concat([sa, da]);
  const ps = v4 ? pseudoV4(tmp, 0, 4, proto, l4.length) : pseudoV6(tmp, 0, 16, proto, l4.length);
  const cOff = proto === 6 ? 16 : 6;
  const fill = s.csum ?? 'valid';
  let c = 0;
  if (fill === 'partial') c = fold(ps);
  else if (fill === 'valid') {
    c = finish(sum16(l4, 0, l4.length, ps));
    if (proto === 17) c = udpFinal(c);
  }
  u16(l4, cOff, c);
  // L3
  let l3: Uint8Array;
  let etype: number;
  if (s.ip.v === 4) {
    const o = [...(s.ip.options ?? [])];
    while (o.length % 4) o.push(0);
    const hl = 20 + o.length;
    l3 = new Uint8Array(hl);
    l3[0] = 0x40 | (hl / 4);
    l3[1] = s.ip.tos ?? 0;
    u16(l3, 2, (hl + l4.length) & 0xffff);
    u16(l3, 4, s.ip.id ?? 0x1234);
    u16(l3, 6, (s.ip.df === false ? 0 : 0x4000) | (s.ip.frag ?? 0));
    l3[8] = s.ip.ttl ?? 64;
    l3[9] = proto;
    l3.set(sa, 12);
    l3.set(da, 16);
    l3.set(o, 20);
    u16(l3, 10, finish(sum16(l3, 0, hl)));
    etype = 0x0800;
  } else {
    const ext = s.ip.ext ?? [];
    const extLen = ext.reduce((a, [, n]) => a + n, 0);
    l3 = new Uint8Array(40 + extLen);
    u32(l3, 0, ((6 << 28) | ((s.ip.flowLabel ?? 0) & 0xfffff)) >>> 0);
    u16(l3, 4, (extLen + l4.length) & 0xffff);
    l3[6] = ext.length ? ext[0]![0] : proto;
    l3[7] = 64;
    l3.set(sa, 8);
    l3.set(da, 24);
    let o = 40;
    ext.forEach(([, n], i) => {
      l3[o] = i + 1 < ext.length ? ext[i + 1]![0] : proto;
      l3[o + 1] = n / 8 - 1;
      // PadN filling the rest
      if (n > 2) {
        l3[o + 2] = 1;
        l3[o + 3] = n - 4;
      }
      o += n;
    });
    etype = 0x86dd;
  }
  // L2.5 / L2
  const parts: Uint8Array[] = [];
  const ethh = new Uint8Array(12);
  ethh.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
  parts.push(ethh);
  for (const vid of s.vlan ?? []) {
    const t = new Uint8Array(4);
    u16(t, 0, 0x8100);
    u16(t, 2, vid);
    parts.push(t);
  }
  const et = new Uint8Array(2);
  u16(et, 0, s.mpls?.length ? 0x8847 : etype);
  parts.push(et);
  (s.mpls ?? []).forEach((label, i, all) => {
    const l = new Uint8Array(4);
    u32(l, 0, ((label << 12) | (i === all.length - 1 ? 0x100 : 0) | 64) >>> 0);
    parts.push(l);
  });
  parts.push(l3, l4);
  return concat(parts);
}

/** Wrap an inner Ethernet frame in Ethernet/IPv4|IPv6/UDP/VXLAN. csum: outer UDP checksum valid or zero. */
export function vxlan(inner: Uint8Array, o: { v?: 4 | 6; csum?: boolean; id?: number; vni?: number; dport?: number } = {}): Uint8Array {
  const v4 = (o.v ?? 4) === 4;
  const vx = new Uint8Array(8);
  u32(vx, 0, 0x08000000);
  u32(vx, 4, ((o.vni ?? 42) << 8) >>> 0);
  return frame({
    ip: v4 ? { v: 4, src: '198.51.100.1', dst: '198.51.100.2', id: o.id ?? 0x100, df: false } : { v: 6, src: '2001:db8:1::1', dst: '2001:db8:1::2' },
    l4: { kind: 'udp', sport: 50000, dport: o.dport ?? 4789 },
    payload: concat([vx, inner]),
    csum: o.csum ? 'valid' : 'zero',
  });
}

/** Problems with any checksum of the frame (IPv4 header, TCP/UDP/ICMP, inside VXLAN). [] = all good. */
export function checksumProblems(b: Uint8Array, off = 0, end = b.length, depth = 0): string[] {
  const L = new Layers();
  const st = decodeFrame(b, off, end, L);
  const out: string[] = [];
  if (st !== DECODE.OK) out.push(`d${depth}: decode ${st} at ${L.stopLayer}`);
  if (L.netOff < 0) return out;
  const v4 = L.netProto === 0x0800;
  if (v4 && fold(sum16(b, L.netOff, L.netOff + L.ipHdrLen)) !== 0xffff) out.push(`d${depth}: ipv4 header checksum`);
  if (L.transOff < 0 || L.l4Proto === NO_PROTO || L.isFragment) return out;
  const l4Len = L.ipEnd - L.transOff;
  const ip = L.netOff;
  const ps = (p: number) => (v4 ? pseudoV4(b, ip + 12, ip + 16, p, l4Len) : pseudoV6(b, ip + 8, ip + 24, p, l4Len));
  if (L.l4Proto === 6) {
    if (fold(sum16(b, L.transOff, L.ipEnd, ps(6))) !== 0xffff) out.push(`d${depth}: tcp checksum`);
  } else if (L.l4Proto === 17) {
    const t = L.transOff;
    const dport = (b[t + 2]! << 8) | b[t + 3]!;
    if (dport === 4789 && depth < 2) out.push(...checksumProblems(b, t + 16, L.ipEnd, depth + 1));
    const c = (b[t + 6]! << 8) | b[t + 7]!;
    // Zero = no checksum: always allowed over IPv4; over IPv6 only for a UDP tunnel (RFC 6935).
    const zeroOk = c === 0 && (v4 || dport === 4789);
    if (!zeroOk && fold(sum16(b, t, L.ipEnd, ps(17))) !== 0xffff) out.push(`d${depth}: udp checksum`);
  }
  return out;
}

export function pkt(frameBytes: Uint8Array): Packet {
  return Packet.fromBytes(frameBytes);
}
