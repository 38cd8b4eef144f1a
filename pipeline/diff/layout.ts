/**
 * The field layout of one frame: which named field covers which bytes. Built from the same
 * decoder the stages use (`decodeFrame` into a reusable `Layers`), then VXLAN on the configured
 * UDP ports and the inner frame with a second `Layers`. Every captured byte belongs to a header
 * field or to `payload`.
 *
 * One FrameLayout is allocated per side of a comparison and rebuilt per packet: entries live in
 * preallocated typed arrays, so building allocates nothing.
 */
import { DECODE, Layers, decodeFrame, decodeIp } from '../decode.js';
import { NO_OFFSET, type Packet } from '../packet.js';
import { linkPayload } from '../link-layer.js';
import { LINKTYPE } from '../pcap/link-type.js';
import { ETHER_TYPE } from '../wire/ether-type.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import * as udp from '../wire/udp.js';
import * as vxlan from '../wire/vxlan.js';
import { DIFF_FIELDS, SCOPE, fieldId } from './fields.js';

const id = fieldId;
const ETH = [id('eth.dst'), id('eth.src'), id('eth.type')] as const;
const VLAN_PCP = id('vlan.pcp');
const VLAN_DEI = id('vlan.dei');
const VLAN_ID = id('vlan.id');
const VLAN_ETYPE = id('vlan.etype');
const MPLS = [id('mpls.label'), id('mpls.tc'), id('mpls.bos'), id('mpls.ttl')] as const;
const LINK_HEADER = id('link.header');
export const PAYLOAD = id('payload');

/** [field, offset in header, length] for fixed header fields. */
type Fixed = readonly (readonly [number, number, number])[];
const IPV4: Fixed = [
  [id('ipv4.version'), 0, 1],
  [id('ipv4.hdr_len'), 0, 1],
  [id('ipv4.tos'), 1, 1],
  [id('ipv4.len'), 2, 2],
  [id('ipv4.id'), 4, 2],
  [id('ipv4.flags'), 6, 2],
  [id('ipv4.frag_offset'), 6, 2],
  [id('ipv4.ttl'), 8, 1],
  [id('ipv4.proto'), 9, 1],
  [id('ipv4.checksum'), 10, 2],
  [id('ipv4.src'), 12, 4],
  [id('ipv4.dst'), 16, 4],
];
const IPV4_OPTIONS = id('ipv4.options');
const IPV6: Fixed = [
  [id('ipv6.version'), 0, 4],
  [id('ipv6.tclass'), 0, 4],
  [id('ipv6.flow'), 0, 4],
  [id('ipv6.plen'), 4, 2],
  [id('ipv6.nxt'), 6, 1],
  [id('ipv6.hlim'), 7, 1],
  [id('ipv6.src'), 8, 16],
  [id('ipv6.dst'), 24, 16],
];
const IPV6_EXT = id('ipv6.ext');
const UDP: Fixed = [
  [id('udp.srcport'), 0, 2],
  [id('udp.dstport'), 2, 2],
  [id('udp.length'), 4, 2],
  [id('udp.checksum'), 6, 2],
];
const TCP: Fixed = [
  [id('tcp.srcport'), 0, 2],
  [id('tcp.dstport'), 2, 2],
  [id('tcp.seq'), 4, 4],
  [id('tcp.ack'), 8, 4],
  [id('tcp.hdr_len'), 12, 1],
  [id('tcp.flags'), 12, 2],
  [id('tcp.window'), 14, 2],
  [id('tcp.checksum'), 16, 2],
  [id('tcp.urgent'), 18, 2],
];
const TCP_OPTIONS = id('tcp.options');
function icmpFields(p: string): { head: Fixed; echo: Fixed; rest: Fixed } {
  return {
    head: [
      [id(`${p}.type`), 0, 1],
      [id(`${p}.code`), 1, 1],
      [id(`${p}.checksum`), 2, 2],
    ],
    echo: [
      [id(`${p}.ident`), 4, 2],
      [id(`${p}.seq`), 6, 2],
    ],
    rest: [[id(`${p}.rest`), 4, 4]],
  };
}
const ICMP4 = icmpFields('icmp');
const ICMP6 = icmpFields('icmpv6');
const VXLAN: Fixed = [
  [id('vxlan.flags'), 0, 4],
  [id('vxlan.gbp'), 0, 4],
  [id('vxlan.vni'), 4, 4],
  [id('vxlan.reserved'), 4, 4],
];

/** Default UDP ports decoded as VXLAN (the one list in wire/vxlan.ts). */
export const DEFAULT_VXLAN_PORTS: readonly number[] = vxlan.DEFAULT_PORTS;

const MAX_ENTRIES = 160;

export class FrameLayout {
  /** Entries: field id, scope (SCOPE.OUTER / INNER), stack index (-1 none), absolute offset, length. */
  count = 0;
  readonly field = new Int16Array(MAX_ENTRIES);
  readonly scope = new Uint8Array(MAX_ENTRIES);
  readonly index = new Int8Array(MAX_ENTRIES);
  readonly off = new Int32Array(MAX_ENTRIES);
  readonly len = new Int32Array(MAX_ENTRIES);
  /** Checksum entries: the bytes the checksum covers, [covStart, covEnd). */
  readonly covStart = new Int32Array(MAX_ENTRIES);
  readonly covEnd = new Int32Array(MAX_ENTRIES);
  /** The frame: buf[head, tail). */
  buf: Uint8Array = new Uint8Array(0);
  head = 0;
  tail = 0;
  /** A VXLAN header was decoded; inner entries have SCOPE.INNER. */
  tunnelled = false;
  /** Decode status of the outer / inner frame (DECODE.*). */
  status = 0;
  innerStatus = 0;

  private readonly outer = new Layers();
  private readonly inner = new Layers();
  /** End of the bytes covered by header entries so far. */
  private cursor = 0;

  constructor(private readonly vxlanPorts: readonly number[] = DEFAULT_VXLAN_PORTS) {}

  build(pkt: Packet): void {
    this.count = 0;
    this.buf = pkt.buf;
    this.head = pkt.head;
    this.tail = pkt.tail;
    this.tunnelled = false;
    this.innerStatus = DECODE.OK;
    this.cursor = pkt.head;
    const b = pkt.buf;
    const L = this.outer;
    if (pkt.linkType === LINKTYPE.ETHERNET) {
      this.status = decodeFrame(b, pkt.head, pkt.tail, L);
    } else {
      const m = linkPayload(pkt);
      if (m === null) {
        this.status = DECODE.UNSUPPORTED;
        this.add(PAYLOAD, SCOPE.OUTER, -1, pkt.head, pkt.tail - pkt.head);
        return;
      }
      if (m.hdrLen > 0) this.add(LINK_HEADER, SCOPE.OUTER, -1, pkt.head, m.hdrLen);
      this.status = decodeIp(b, pkt.head + m.hdrLen, pkt.tail, m.etherType, L);
    }
    this.addHeaders(L, SCOPE.OUTER);

    // VXLAN: a complete UDP header to a VXLAN port, room for the VXLAN header and an Ethernet header.
    const t = L.transOff;
    if (L.l4Proto === IP_PROTO.UDP && t !== NO_OFFSET && L.l4HdrLen === udp.HEADER_LEN && !L.isFragment) {
      const dport = (b[t + 2]! << 8) | b[t + 3]!;
      const udpEnd = Math.min(t + ((b[t + 4]! << 8) | b[t + 5]!), L.ipEnd);
      const v = t + udp.HEADER_LEN;
      if (this.vxlanPorts.includes(dport) && udpEnd - v >= vxlan.HEADER_LEN + 14) {
        this.tunnelled = true;
        this.addFixed(VXLAN, SCOPE.OUTER, v);
        this.innerStatus = decodeFrame(b, v + vxlan.HEADER_LEN, udpEnd, this.inner);
        this.addHeaders(this.inner, SCOPE.INNER);
        if (this.cursor < udpEnd) this.add(PAYLOAD, SCOPE.INNER, -1, this.cursor, udpEnd - this.cursor);
        if (udpEnd < pkt.tail) this.add(PAYLOAD, SCOPE.OUTER, -1, udpEnd, pkt.tail - udpEnd);
        return;
      }
    }
    if (this.cursor < pkt.tail) this.add(PAYLOAD, SCOPE.OUTER, -1, this.cursor, pkt.tail - this.cursor);
  }

  /** Index of the entry with this field, scope and index, searching from `hint`; -1 when absent. */
  find(field: number, scope: number, index: number, hint: number): number {
    const n = this.count;
    for (let k = 0; k < n; k++) {
      let i = hint + k;
      if (i >= n) i -= n;
      if (this.field[i] === field && this.scope[i] === scope && this.index[i] === index) return i;
    }
    return -1;
  }

  /** True when some entry belongs to the same layer, scope and index as `field`. */
  hasLayer(layer: string, scope: number, index: number): boolean {
    for (let i = 0; i < this.count; i++) {
      if (this.scope[i] === scope && this.index[i] === index && DIFF_FIELDS[this.field[i]!]!.layer === layer) return true;
    }
    return false;
  }

  /** True when some entry has this scope. */
  hasScope(scope: number): boolean {
    for (let i = 0; i < this.count; i++) if (this.scope[i] === scope) return true;
    return false;
  }

  /** Numeric value of entry i (fields of up to 4 bytes), masked and shifted. */
  value(i: number): number {
    const def = DIFF_FIELDS[this.field[i]!]!;
    return readField(this.buf, this.off[i]!, this.len[i]!, def.mask);
  }

  private addHeaders(L: Layers, scope: number): void {
    if (L.macOff !== NO_OFFSET) {
      const m = L.macOff;
      this.add(ETH[0], scope, -1, m, 6);
      this.add(ETH[1], scope, -1, m + 6, 6);
      this.add(ETH[2], scope, -1, m + 12, 2);
      for (let i = 0; i < L.vlanCount; i++) {
        const o = i === 0 ? L.vlanOff0 : L.vlanOff1;
        const ix = L.vlanCount > 1 ? i : -1;
        this.add(VLAN_PCP, scope, ix, o + 2, 2);
        this.add(VLAN_DEI, scope, ix, o + 2, 2);
        this.add(VLAN_ID, scope, ix, o + 2, 2);
        this.add(VLAN_ETYPE, scope, ix, o + 4, 2);
      }
    }
    for (let i = 0; i < L.mplsCount; i++) {
      const o = L.mplsOff + 4 * i;
      const ix = L.mplsCount > 1 ? i : -1;
      for (const fid of MPLS) this.add(fid, scope, ix, o, 4);
    }
    const n = L.netOff;
    if (n === NO_OFFSET || L.ipHdrLen === 0) return;
    if (L.netProto === ETHER_TYPE.IPV4) {
      const first = this.count;
      this.addFixed(IPV4, scope, n);
      if (L.ipHdrLen > 20) this.add(IPV4_OPTIONS, scope, -1, n + 20, L.ipHdrLen - 20);
      // The header checksum covers the header (entry 9 of IPV4 is the checksum).
      this.cover(first + 9, n, n + L.ipHdrLen);
    } else if (L.netProto === ETHER_TYPE.IPV6) {
      this.addFixed(IPV6, scope, n);
      if (L.ipHdrLen > 40) this.add(IPV6_EXT, scope, -1, n + 40, L.ipHdrLen - 40);
    } else return;
    const t = L.transOff;
    if (t === NO_OFFSET || L.l4HdrLen === 0) return;
    const first = this.count;
    const end = L.ipEnd;
    switch (L.l4Proto) {
      case IP_PROTO.TCP:
        this.addFixed(TCP, scope, t);
        if (L.l4HdrLen > 20) this.add(TCP_OPTIONS, scope, -1, t + 20, L.l4HdrLen - 20);
        this.cover(first + 7, t, end);
        break;
      case IP_PROTO.UDP:
        this.addFixed(UDP, scope, t);
        this.cover(first + 3, t, end);
        break;
      case IP_PROTO.ICMP:
      case IP_PROTO.ICMPV6: {
        const set = L.l4Proto === IP_PROTO.ICMP ? ICMP4 : ICMP6;
        this.addFixed(set.head, scope, t);
        const type = this.buf[t]!;
        const echo = L.l4Proto === IP_PROTO.ICMP ? type === 0 || type === 8 : type === 128 || type === 129;
        this.addFixed(echo ? set.echo : set.rest, scope, t);
        this.cover(first + 2, t, end);
        break;
      }
      default:
        break;
    }
  }

  private cover(i: number, start: number, end: number): void {
    this.covStart[i] = start;
    this.covEnd[i] = end;
  }

  private addFixed(fields: Fixed, scope: number, base: number): void {
    for (const [fid, rel, len] of fields) this.add(fid, scope, -1, base + rel, len);
  }

  private add(field: number, scope: number, index: number, off: number, len: number): void {
    const i = this.count;
    if (i === MAX_ENTRIES) return;
    this.field[i] = field;
    this.scope[i] = scope;
    this.index[i] = index;
    this.off[i] = off;
    this.len[i] = len;
    this.covStart[i] = 0;
    this.covEnd[i] = 0;
    this.count = i + 1;
    if (off + len > this.cursor) this.cursor = off + len;
  }
}

/** Big-endian unsigned value of b[off, off+len) (len ≤ 4), masked by `mask` (0 = all bits) and shifted down. */
export function readField(b: Uint8Array, off: number, len: number, mask: number): number {
  let v = 0;
  for (let k = 0; k < len; k++) v = v * 256 + (b[off + k] ?? 0);
  if (mask === 0) return v;
  v = (v & mask) >>> 0;
  let m = mask >>> 0;
  while ((m & 1) === 0) {
    m >>>= 1;
    v >>>= 1;
  }
  return v;
}

/**
 * Per-byte mask of field `field` at byte k of its `len` bytes: the bits of that byte that belong
 * to the field (0xff for fields without a bit mask).
 */
export function fieldByteMask(field: number, len: number, k: number): number {
  const mask = DIFF_FIELDS[field]!.mask;
  if (mask === 0) return 0xff;
  return (mask >>> (8 * (len - 1 - k))) & 0xff;
}
