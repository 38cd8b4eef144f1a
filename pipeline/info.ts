/**
 * Capture summary for `capflow info`: format, interfaces and link types, packet count, time span,
 * VXLAN tunnels (VNIs), MPLS label stacks, super-packets (TSO/USO frames larger than the MTU),
 * truncated records, and the capflow metadata carried in comments.
 */
import { openCapture, type CaptureInterface } from './pcap/reader.js';
import { linkTypeName, LINKTYPE } from './pcap/link-type.js';
import { Layers, decodeFrame, DECODE } from './decode.js';
import { IP_PROTO } from './wire/ip-proto.js';
import * as udp from './wire/udp.js';
import * as vxlan from './wire/vxlan.js';
import * as mpls from './wire/mpls.js';
import * as ipv4 from './wire/ipv4.js';
import * as ipv6 from './wire/ipv6.js';
import * as tcp from './wire/tcp.js';
import { TunnelInfo } from './metadata.js';

export interface InfoOptions {
  /** UDP destination ports taken as VXLAN (default 4789 and 8472, the kernel's default port). */
  vxlanPorts?: readonly number[];
  /** MTU above which TCP/UDP packets count as super-packets (default 1500). */
  mtu?: number;
  strict?: boolean;
  onWarning?: (m: string) => void;
}

export interface CaptureInfo {
  file: string;
  format: 'pcap' | 'pcapng';
  nanosecond: boolean;
  interfaces: Array<CaptureInterface & { linkTypeName: string; packets: number }>;
  packets: number;
  bytesCaptured: number;
  bytesOnWire: number;
  truncated: number;
  first: string | null;
  last: string | null;
  durationSeconds: number;
  comments: number;
  /** Packets carrying capflow tunnel metadata (decapsulated pcapng output). */
  tunnelMetadata: number;
  vxlan: { packets: number; vnis: Record<string, number>; ports: Record<string, number> };
  mpls: { packets: number; stacks: Record<string, number> };
  superPackets: { tcp: number; udp: number; largest: number; mtu: number };
  /** TCP MSS options seen in SYNs, per direction (src → dst), the input of gso `mss: auto`. */
  synMss: Record<string, number>;
  decodeProblems: Record<string, number>;
}

const NS = 1_000_000_000n;

export async function captureInfo(file: string, opts: InfoOptions = {}): Promise<CaptureInfo> {
  const ports = new Set(opts.vxlanPorts ?? [vxlan.DEFAULT_PORT, 8472]);
  const mtu = opts.mtu ?? 1500;
  const reader = await openCapture(file, { name: file === '-' ? '<stdin>' : file, strict: opts.strict ?? false, onWarning: opts.onWarning ?? (() => {}) });
  const L = new Layers();
  const inner = new Layers();
  const perIface: number[] = [];
  const info: CaptureInfo = {
    file,
    format: reader.format,
    nanosecond: reader.nanosecond,
    interfaces: [],
    packets: 0,
    bytesCaptured: 0,
    bytesOnWire: 0,
    truncated: 0,
    first: null,
    last: null,
    durationSeconds: 0,
    comments: 0,
    tunnelMetadata: 0,
    vxlan: { packets: 0, vnis: {}, ports: {} },
    mpls: { packets: 0, stacks: {} },
    superPackets: { tcp: 0, udp: 0, largest: 0, mtu },
    synMss: {},
    decodeProblems: {},
  };
  let firstNs: bigint | null = null;
  let lastNs = 0n;
  let minNs: bigint | null = null;
  let maxNs = 0n;

  for await (const batch of reader.batches()) {
    for (const p of batch) {
      info.packets++;
      perIface[p.iface] = (perIface[p.iface] ?? 0) + 1;
      info.bytesCaptured += p.length;
      info.bytesOnWire += p.origLen;
      if (p.truncated) info.truncated++;
      if (p.comments) {
        info.comments += p.comments.length;
        if (p.comments.some((c) => c.startsWith('tunnel ') && TunnelInfo.fromComment(c))) info.tunnelMetadata++;
      }
      const ns = BigInt(p.tsSec) * NS + (BigInt(p.tsFrac) * NS) / BigInt(p.tsUnits);
      if (firstNs === null) firstNs = ns;
      lastNs = ns;
      if (minNs === null || ns < minNs) minNs = ns;
      if (ns > maxNs) maxNs = ns;

      if (p.linkType !== LINKTYPE.ETHERNET) continue;
      const b = p.buf;
      const st = decodeFrame(b, p.head, p.tail, L);
      if (st !== DECODE.OK) {
        const key = `${['ok', 'truncated', 'malformed', 'unsupported'][st]}-${L.stopLayer || 'frame'}`;
        info.decodeProblems[key] = (info.decodeProblems[key] ?? 0) + 1;
      }
      if (L.mplsCount > 0) {
        info.mpls.packets++;
        const labels: string[] = [];
        for (let i = 0; i < L.mplsCount; i++) labels.push(String(mpls.label(b, L.mplsOff + i * 4)));
        const key = labels.join('/');
        info.mpls.stacks[key] = (info.mpls.stacks[key] ?? 0) + 1;
      }
      let l = L;
      if (L.l4Proto === IP_PROTO.UDP && L.transOff >= 0 && ports.has(udp.dstPort(b, L.transOff)) && L.transOff + 16 <= p.tail) {
        const vx = L.transOff + 8;
        info.vxlan.packets++;
        const vni = String(vxlan.vni(b, vx));
        info.vxlan.vnis[vni] = (info.vxlan.vnis[vni] ?? 0) + 1;
        const port = String(udp.dstPort(b, L.transOff));
        info.vxlan.ports[port] = (info.vxlan.ports[port] ?? 0) + 1;
        if (decodeFrame(b, vx + 8, p.tail, inner) !== DECODE.MALFORMED) l = inner;
      }
      if (l.netOff < 0 || l.transOff < 0) continue;
      const ipLen = l.netProto === 0x0800 ? ipv4.totalLength(b, l.netOff) : 40 + ipv6.payloadLength(b, l.netOff);
      const onWire = Math.max(ipLen, p.origLen - (l.netOff - p.head));
      if (l.l4Proto === IP_PROTO.TCP) {
        if (onWire > mtu) {
          info.superPackets.tcp++;
          info.superPackets.largest = Math.max(info.superPackets.largest, p.origLen);
        }
        if (tcp.flags(b, l.transOff) & 0x02) {
          const opt = tcp.findMssOption(b, l.transOff, l.l4HdrLen);
          if (opt >= 0 && opt + 4 <= p.tail) {
            info.synMss[flowKey(b, l)] = tcp.mssValue(b, opt);
          }
        }
      } else if (l.l4Proto === IP_PROTO.UDP && onWire > mtu && l === L && !ports.has(udp.dstPort(b, l.transOff))) {
        info.superPackets.udp++;
        info.superPackets.largest = Math.max(info.superPackets.largest, p.origLen);
      }
    }
  }
  await reader.close();
  info.interfaces = reader.interfaces.map((i, n) => ({ ...i, linkTypeName: linkTypeName(i.linkType), packets: perIface[n] ?? 0 }));
  if (firstNs !== null && minNs !== null) {
    info.first = formatNs(minNs);
    info.last = formatNs(maxNs);
    info.durationSeconds = Number(maxNs - minNs) / 1e9;
  }
  void lastNs;
  return info;
}

function flowKey(b: Uint8Array, l: Layers): string {
  const v4 = l.netProto === 0x0800;
  const src = v4 ? ipText(b, l.netOff + 12, 4) : ipText(b, l.netOff + 8, 16);
  const dst = v4 ? ipText(b, l.netOff + 16, 4) : ipText(b, l.netOff + 24, 16);
  return `${src}:${tcp.srcPort(b, l.transOff)} > ${dst}:${tcp.dstPort(b, l.transOff)}`;
}

function ipText(b: Uint8Array, off: number, n: number): string {
  if (n === 4) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const w: string[] = [];
  for (let i = 0; i < 16; i += 2) w.push(((b[off + i]! << 8) | b[off + i + 1]!).toString(16));
  return `[${w.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]`;
}

/** ISO-8601 UTC with nanoseconds. */
export function formatNs(ns: bigint): string {
  const sec = ns / NS;
  const frac = (ns % NS).toString().padStart(9, '0');
  const iso = new Date(Number(sec) * 1000).toISOString().replace('.000Z', '');
  return `${iso}.${frac}Z`;
}
