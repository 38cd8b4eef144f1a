/**
 * Capture summary for `capflow info`: format, interfaces and link types, packet count, time span,
 * VXLAN tunnels (VNIs), MPLS label stacks, super-packets (TSO/USO frames larger than the MTU),
 * truncated records, and the capflow metadata carried in comments.
 *
 * Super-packets are counted by the egress's own marker (pipeline/gso/classify.ts, read-only:
 * no byte is changed), with `mss: auto` and this MTU, so `info` and `gso` agree on which packets
 * are super-packets (VXLAN ones included) and on the gso_size per flow.
 */
import { openCapture, type CaptureInterface } from './pcap/reader.js';
import { linkTypeName, LINKTYPE } from './pcap/link-type.js';
import { Layers, decodeFrame, DECODE } from './decode.js';
import { LayerRecord, vxlanPortTable } from './layer-record.js';
import { IP_PROTO } from './wire/ip-proto.js';
import * as udp from './wire/udp.js';
import * as vxlan from './wire/vxlan.js';
import * as mpls from './wire/mpls.js';
import * as ipv4 from './wire/ipv4.js';
import * as ipv6 from './wire/ipv6.js';
import * as tcp from './wire/tcp.js';
import { TunnelInfo } from './metadata.js';
import { GSO } from './packet.js';
import { DEFAULT_VXLAN_PORTS, MSS_RULE_TEXT, SuperPackets, type FlowGso } from './gso/classify.js';

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
  /**
   * Super-packets as the egress marks them (mss auto, this MTU): TCP and UDP ones (VXLAN
   * super-packets counted by their inner protocol, and also in `vxlan`), the largest frame, and
   * `truncated`: packets longer than the MTU whose capture is snaplen-truncated (never marked).
   */
  superPackets: { tcp: number; udp: number; vxlan: number; largest: number; mtu: number; truncated: number };
  /** The gso `mss: auto` rule and the gso_size it gives each flow with super-packets. */
  gso: { mss: 'auto'; mtu: number; vxlanPorts: number[]; rule: string; flows: FlowGso[] };
  /** TCP MSS options seen in SYNs, per direction (src → dst), the input of gso `mss: auto`. */
  synMss: Record<string, number>;
  decodeProblems: Record<string, number>;
}

const NS = 1_000_000_000n;

export async function captureInfo(file: string, opts: InfoOptions = {}): Promise<CaptureInfo> {
  const portList = [...(opts.vxlanPorts ?? DEFAULT_VXLAN_PORTS)];
  const ports = new Set(portList);
  const mtu = opts.mtu ?? 1500;
  const marker = new SuperPackets({ mss: 'auto', mtu, vxlanPorts: portList, readOnly: true });
  const reader = await openCapture(file, { name: file === '-' ? '<stdin>' : file, strict: opts.strict ?? false, onWarning: opts.onWarning ?? (() => {}) });
  // Lent to each packet while it is read, so that the marker reads the same decode.
  const layers = new LayerRecord(vxlanPortTable(portList));
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
    superPackets: { tcp: 0, udp: 0, vxlan: 0, largest: 0, mtu, truncated: 0 },
    gso: { mss: 'auto', mtu, vxlanPorts: portList, rule: MSS_RULE_TEXT, flows: [] },
    synMss: {},
    decodeProblems: {},
  };
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
      if (minNs === null || ns < minNs) minNs = ns;
      if (ns > maxNs) maxNs = ns;

      if (p.linkType !== LINKTYPE.ETHERNET) continue;
      const b = p.buf;
      p.layers = layers;
      layers.decode(p);
      const L = layers.outer;
      const st = L.status;
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
      if (l.netOff >= 0 && l.transOff >= 0 && l.l4Proto === IP_PROTO.TCP && tcp.flags(b, l.transOff) & 0x02) {
        const opt = tcp.findMssOption(b, l.transOff, l.l4HdrLen);
        if (opt >= 0 && opt + 4 <= p.tail) info.synMss[flowKey(b, l)] = tcp.mssValue(b, opt);
      }
      // The egress's rule (after the reads above: the marker reads the packet's layer record).
      const sp = info.superPackets;
      if (marker.mark(p, p.head)) {
        if (p.gsoType & (GSO.TCPV4 | GSO.TCPV6)) sp.tcp++;
        else sp.udp++;
        if (p.encapsulation) sp.vxlan++;
        sp.largest = Math.max(sp.largest, p.origLen);
      } else if (p.truncated && L.netOff >= 0 && (L.netProto === 0x0800 || L.netProto === 0x86dd)) {
        const start = L.mplsOff >= 0 ? L.mplsOff : L.netOff;
        const ipLen = L.netProto === 0x0800 ? ipv4.totalLength(b, L.netOff) : 40 + ipv6.payloadLength(b, L.netOff);
        if (L.netOff - start + ipLen > mtu) sp.truncated++;
      }
      p.layers = null;
    }
  }
  info.gso.flows = marker.autoMss();
  await reader.close();
  info.interfaces = reader.interfaces.map((i, n) => ({ ...i, linkTypeName: linkTypeName(i.linkType), packets: perIface[n] ?? 0 }));
  if (minNs !== null) {
    info.first = formatNs(minNs);
    info.last = formatNs(maxNs);
    info.durationSeconds = Number(maxNs - minNs) / 1e9;
  }
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

/** Largest |seconds| a Date can hold (±8.64e15 ms, ECMA-262 TimeClip). */
const DATE_MAX_SEC = 8_640_000_000_000n;

/**
 * ISO-8601 UTC with nanoseconds; a time outside the Date range (a 64-bit pcapng timestamp can
 * reach 5.8e11 years) as the raw seconds since 1970 instead, never an error.
 */
export function formatNs(ns: bigint): string {
  // Floor division, so times before 1970 keep a fraction in [0, 1 s).
  let sec = ns / NS;
  if (ns < 0n && sec * NS !== ns) sec -= 1n;
  const frac = (ns - sec * NS).toString().padStart(9, '0');
  if (sec > DATE_MAX_SEC || sec < -DATE_MAX_SEC) return `${sec}.${frac} s since 1970 (outside the calendar range)`;
  const iso = new Date(Number(sec) * 1000).toISOString().replace('.000Z', '');
  return `${iso}.${frac}Z`;
}
