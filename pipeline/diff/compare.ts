/**
 * Comparing one EXPECTED packet with one ACTUAL packet: packet fields (lengths, timestamp,
 * interface, comments) first, then, only when the frame bytes differ, both frames decoded into
 * field layouts and compared field by field, by name, so a header that moved (a VLAN tag added)
 * still lines up with its counterpart.
 *
 * Checksum rule: a checksum whose covered bytes (for TCP/UDP/ICMPv6 also the pseudo-header
 * fields) differ only in ignored fields, or in checksums suppressed by this rule, is not
 * reported. Checksums are settled innermost first, so ignoring `ipv4.id` silences the inner
 * IPv4 checksum and, through it, the outer UDP checksum of a VXLAN packet. A UDP checksum that
 * is zero on one side only ("no checksum" against one) is always reported.
 */
import type { Packet } from '../packet.js';
import { linkTypeName } from '../pcap/link-type.js';
import { DIFF_FIELDS, type IgnoreRule, SCOPE, fieldId, fieldLabel, isIgnored } from './fields.js';
import { formatComments, formatEntry, formatTimes, hexBytes, hexContext, sameTime, summarize } from './format.js';
import { FrameLayout, PAYLOAD, fieldByteMask } from './layout.js';
import type { DiffCollector, Difference } from './result.js';

/** What the packet fields are compared on: a Packet, or what --unordered keeps of one. */
export interface PacketMeta {
  tsSec: number;
  tsFrac: number;
  tsUnits: number;
  iface: number;
  linkType: number;
  origLen: number;
  readonly length: number;
}

/** The comments a packet would be written with: its own, its tunnel metadata, stage notes. */
export function packetComments(p: Packet): string[] {
  const out = p.comments ? p.comments.slice() : [];
  if (p.tunnel) out.push(p.tunnel.toComment());
  if (p.notes) out.push(...p.notes);
  return out;
}

const F_LEN = fieldId('frame.len');
const F_CAPLEN = fieldId('frame.caplen');
const F_LINKTYPE = fieldId('frame.linktype');
const F_TIME = fieldId('timestamp');
const F_IFACE = fieldId('interface');
const F_COMMENT = fieldId('comment');

const PSEUDO_V4 = new Set(['ipv4.src', 'ipv4.dst', 'ipv4.proto', 'ipv4.len', 'ipv4.hdr_len'].map(fieldId));
const PSEUDO_V6 = new Set(['ipv6.src', 'ipv6.dst', 'ipv6.plen', 'ipv6.nxt', 'ipv6.ext'].map(fieldId));

/** A field that differs, before the ignore and checksum rules decide whether it is reported. */
interface Candidate {
  field: number;
  scope: number;
  index: number;
  /** Entry in the EXPECTED / ACTUAL layout, -1 when absent there. */
  ei: number;
  ai: number;
  /** The whole header (layer) is absent on one side: reported once, by layer name. */
  wholeLayer: boolean;
  ignored: boolean;
  suppressed: boolean;
}

export interface CompareOptions {
  rules: readonly IgnoreRule[];
  vxlanPorts: readonly number[];
  /** Compare comments (false when a side is a pcap file, which cannot hold them). */
  comments: boolean;
}

export class PacketComparer {
  readonly expected: FrameLayout;
  readonly actual: FrameLayout;
  private readonly rules: readonly IgnoreRule[];
  private readonly ignoreMeta: boolean[];
  private scratchFlags = new Uint8Array(64);

  constructor(private readonly opts: CompareOptions) {
    this.rules = opts.rules;
    this.expected = new FrameLayout(opts.vxlanPorts);
    this.actual = new FrameLayout(opts.vxlanPorts);
    this.ignoreMeta = DIFF_FIELDS.map((d, i) => d.kind === 'packet' && isIgnored(opts.rules, i, SCOPE.NONE, -1));
  }

  /**
   * Compare the packet fields of `e` (packet number eNo) and `a`; `aNo` is given when ACTUAL's
   * number differs (--unordered). `eComments` / `aComments`: the packets' comments (computed by
   * the caller only when comments are compared). Returns the number of differences.
   */
  compareMeta(
    e: PacketMeta,
    a: PacketMeta,
    eComments: readonly string[] | null,
    aComments: readonly string[] | null,
    eNo: number,
    aNo: number | undefined,
    sink: DiffCollector,
  ): number {
    let n = 0;
    const add = (field: number, expected: string, actual: string, note?: string): void => {
      n++;
      if (!sink.room) return sink.skip(1);
      const name = DIFF_FIELDS[field]!.name;
      const d: Difference = { packet: eNo, kind: 'field', field: name, label: name, expected, actual };
      if (aNo !== undefined) d.actualPacket = aNo;
      if (note !== undefined) d.note = note;
      sink.add(d);
    };
    const ig = this.ignoreMeta;
    if (!ig[F_LEN] && e.origLen !== a.origLen) add(F_LEN, String(e.origLen), String(a.origLen));
    if (!ig[F_CAPLEN] && e.length !== a.length) add(F_CAPLEN, String(e.length), String(a.length));
    if (!ig[F_LINKTYPE] && e.linkType !== a.linkType) {
      add(F_LINKTYPE, `${e.linkType} (${linkTypeName(e.linkType)})`, `${a.linkType} (${linkTypeName(a.linkType)})`);
    }
    if (!ig[F_TIME] && !sameTime(e, a)) {
      const t = formatTimes(e, a);
      add(F_TIME, t.expected, t.actual, t.note);
    }
    if (!ig[F_IFACE] && e.iface !== a.iface) add(F_IFACE, String(e.iface), String(a.iface));
    if (!ig[F_COMMENT] && this.opts.comments && eComments && aComments && !sameList(eComments, aComments)) {
      add(F_COMMENT, formatComments(eComments), formatComments(aComments));
    }
    return n;
  }

  /** Comments take part in the comparison (not ignored, and no side is a pcap file). */
  get comparesComments(): boolean {
    return this.opts.comments && !this.ignoreMeta[F_COMMENT];
  }

  /** Compare two packets completely. Returns the number of differences. */
  compare(e: Packet, a: Packet, eNo: number, aNo: number | undefined, sink: DiffCollector): number {
    const comments = this.comparesComments;
    let n = this.compareMeta(e, a, comments ? packetComments(e) : null, comments ? packetComments(a) : null, eNo, aNo, sink);
    if (!sameBytes(e, a)) n += this.compareFrames(e, a, eNo, aNo, sink);
    return n;
  }

  /** Field-by-field comparison of two frames whose bytes differ. */
  private compareFrames(e: Packet, a: Packet, eNo: number, aNo: number | undefined, sink: DiffCollector): number {
    const E = this.expected;
    const A = this.actual;
    E.build(e);
    A.build(a);
    const cands = this.candidates(E, A);
    this.applyChecksumRule(cands, E, A);
    const reported = cands.filter((c) => !c.ignored && !c.suppressed);
    if (reported.length === 0) return 0;
    if (!sink.room) {
      sink.skip(reported.length);
      return reported.length;
    }
    const tunnelled = E.tunnelled || A.tunnelled;
    const marks = new Set<number>();
    let last: Difference | null = null;
    for (const c of reported) {
      const d = this.describe(c, E, A, tunnelled, eNo, aNo);
      this.markBytes(c, E, A, marks);
      sink.add(d);
      if (sink.differences[sink.differences.length - 1] === d) last = d;
    }
    if (last && marks.size > 0) last.context = hexContext(E.buf.subarray(E.head, E.tail), A.buf.subarray(A.head, A.tail), marks);
    return reported.length;
  }

  /** Fields that differ, or exist on one side only. */
  private candidates(E: FrameLayout, A: FrameLayout): Candidate[] {
    const out: Candidate[] = [];
    const matched = new Uint8Array(A.count);
    const absentLayers = new Set<string>();
    let hint = 0;
    for (let i = 0; i < E.count; i++) {
      const field = E.field[i]!;
      const scope = E.scope[i]!;
      const index = E.index[i]!;
      const j = A.find(field, scope, index, hint);
      if (j >= 0) {
        matched[j] = 1;
        hint = j + 1;
        if (!sameEntry(E, i, A, j)) out.push(this.candidate(field, scope, index, i, j, false));
        continue;
      }
      this.absent(out, absentLayers, A, field, scope, index, i, -1);
    }
    for (let j = 0; j < A.count; j++) {
      if (matched[j]) continue;
      this.absent(out, absentLayers, E, A.field[j]!, A.scope[j]!, A.index[j]!, -1, j);
    }
    return out;
  }

  private absent(out: Candidate[], seen: Set<string>, other: FrameLayout, field: number, scope: number, index: number, ei: number, ai: number): void {
    const layer = DIFF_FIELDS[field]!.layer;
    // The payload of a scope (inner) the other side lacks is part of the headers reported absent.
    if (field === PAYLOAD && !other.hasScope(scope)) return;
    if (field !== PAYLOAD && !other.hasLayer(layer, scope, index)) {
      const key = `${layer}/${scope}/${index}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.push(this.candidate(field, scope, index, ei, ai, true));
      return;
    }
    out.push(this.candidate(field, scope, index, ei, ai, false));
  }

  private candidate(field: number, scope: number, index: number, ei: number, ai: number, wholeLayer: boolean): Candidate {
    const ignored = wholeLayer ? this.layerIgnored(field, scope, index) : isIgnored(this.rules, field, scope, index);
    return { field, scope, index, ei, ai, wholeLayer, ignored, suppressed: false };
  }

  /** A whole header is ignored when every field of its layer is. */
  private layerIgnored(field: number, scope: number, index: number): boolean {
    const layer = DIFF_FIELDS[field]!.layer;
    return DIFF_FIELDS.every((d, i) => d.layer !== layer || isIgnored(this.rules, i, scope, index));
  }

  private applyChecksumRule(cands: Candidate[], E: FrameLayout, A: FrameLayout): void {
    const sums = cands.filter((c) => DIFF_FIELDS[c.field]!.checksum && !c.ignored && c.ei >= 0 && c.ai >= 0);
    if (sums.length === 0) return;
    // Innermost first: a suppressed inner checksum then counts as masked for the outer ones.
    sums.sort((x, y) => E.covStart[y.ei]! - E.covStart[x.ei]!);
    for (const s of sums) {
      const start = E.covStart[s.ei]!;
      const end = E.covEnd[s.ei]!;
      const aStart = A.covStart[s.ai]!;
      const aEnd = A.covEnd[s.ai]!;
      const layer = DIFF_FIELDS[s.field]!.layer;
      // TCP, UDP and ICMPv6 checksums also cover the IP pseudo-header.
      const hasPseudo = layer !== 'ipv4' && layer !== 'icmp';
      let covered = 0;
      let explained = true;
      for (const c of cands) {
        if (c === s) continue;
        const inRange = c.ei >= 0 ? inside(E.off[c.ei]!, start, end) : inside(A.off[c.ai]!, aStart, aEnd);
        const inPseudo = hasPseudo && c.scope === s.scope && (PSEUDO_V4.has(c.field) || PSEUDO_V6.has(c.field));
        if (!inRange && !inPseudo) continue;
        covered++;
        if (!c.ignored && !c.suppressed) explained = false;
      }
      // A UDP checksum of 0 means "none": zero against non-zero is never explained by masks.
      if (layer === 'udp' && (E.value(s.ei) === 0) !== (A.value(s.ai) === 0)) continue;
      if (covered > 0 && explained) s.suppressed = true;
    }
  }

  private describe(c: Candidate, E: FrameLayout, A: FrameLayout, tunnelled: boolean, eNo: number, aNo: number | undefined): Difference {
    const def = DIFF_FIELDS[c.field]!;
    let field: string;
    let label: string;
    if (c.wholeLayer) {
      const pre = tunnelled ? (c.scope === SCOPE.INNER ? 'inner' : 'outer') : '';
      const layer = c.index >= 0 ? `${def.layer}[${c.index}]` : def.layer;
      field = pre ? `${pre}.${layer}` : layer;
      label = pre ? `${pre} ${layer}` : layer;
    } else {
      field = fieldLabel(c.field, c.scope, c.index, tunnelled, '.');
      label = fieldLabel(c.field, c.scope, c.index, tunnelled, ' ');
    }
    const d: Difference = { packet: eNo, kind: 'field', field, label, expected: '', actual: '' };
    if (aNo !== undefined) d.actualPacket = aNo;
    if (c.ei >= 0) d.offset = E.off[c.ei]! - E.head;
    else d.offset = A.off[c.ai]! - A.head;
    if (c.wholeLayer) {
      d.expected = c.ei >= 0 ? `${def.layer} header` : '(absent)';
      d.actual = c.ai >= 0 ? `${def.layer} header` : '(absent)';
    } else if (def.format === 'payload') {
      this.describePayload(d, c, E, A);
    } else {
      d.expected = c.ei >= 0 ? formatEntry(E, c.ei) : '(absent)';
      d.actual = c.ai >= 0 ? formatEntry(A, c.ai) : '(absent)';
    }
    return d;
  }

  private describePayload(d: Difference, c: Candidate, E: FrameLayout, A: FrameLayout): void {
    if (c.ei < 0 || c.ai < 0) {
      d.expected = c.ei >= 0 ? formatEntry(E, c.ei) : '(absent)';
      d.actual = c.ai >= 0 ? formatEntry(A, c.ai) : '(absent)';
      return;
    }
    const eo = E.off[c.ei]!;
    const el = E.len[c.ei]!;
    const ao = A.off[c.ai]!;
    const al = A.len[c.ai]!;
    const common = Math.min(el, al);
    let first = -1;
    let count = 0;
    for (let k = 0; k < common; k++) {
      if (E.buf[eo + k] !== A.buf[ao + k]) {
        if (first < 0) first = k;
        count++;
      }
    }
    if (first < 0) {
      d.expected = `${el} bytes`;
      d.actual = `${al} bytes`;
      if (common > 0) d.note = `the first ${common} bytes are equal`;
      return;
    }
    d.expected = `${el} bytes, at +${first}: ${hexBytes(E.buf, eo + first, eo + el, 8)}`;
    d.actual = `${al} bytes, at +${first}: ${hexBytes(A.buf, ao + first, ao + al, 8)}`;
    d.note = `${count} of ${common} bytes differ`;
  }

  /** Frame offsets of the differing bytes of a reported field (for the hex context). */
  private markBytes(c: Candidate, E: FrameLayout, A: FrameLayout, marks: Set<number>): void {
    if (c.wholeLayer) return;
    const side = c.ei >= 0 ? E : A;
    const i = c.ei >= 0 ? c.ei : c.ai;
    const start = side.off[i]! - side.head;
    const len = side.len[i]!;
    const e = E.buf;
    const a = A.buf;
    const eLen = E.tail - E.head;
    const aLen = A.tail - A.head;
    for (let k = 0; k < len; k++) {
      const p = start + k;
      if (p >= eLen || p >= aLen) {
        marks.add(p);
        continue;
      }
      if (((e[E.head + p]! ^ a[A.head + p]!) & fieldByteMask(c.field, len, k)) !== 0) marks.add(p);
    }
  }

  /**
   * The frame bytes with every ignored field's bits cleared, into `scratch` (grown as needed):
   * what --unordered hashes. A checksum that covers an ignored field (or, for TCP/UDP/ICMPv6,
   * an ignored pseudo-header field) is cleared too, the static form of the checksum rule.
   * Returns the masked length.
   */
  maskedFrame(p: Packet, scratch: { buf: Uint8Array }): number {
    const len = p.length;
    if (scratch.buf.length < len) scratch.buf = new Uint8Array(Math.max(len, 2 * scratch.buf.length));
    const s = scratch.buf;
    s.set(p.buf.subarray(p.head, p.tail));
    if (this.rules.length === 0) return len;
    const L = this.expected;
    L.build(p);
    const n = L.count;
    const ignored = this.scratchFlags.length >= n ? this.scratchFlags : (this.scratchFlags = new Uint8Array(2 * n));
    for (let i = 0; i < n; i++) ignored[i] = isIgnored(this.rules, L.field[i]!, L.scope[i]!, L.index[i]!) ? 1 : 0;
    for (let c = 0; c < n; c++) {
      if (ignored[c] || L.covEnd[c] === 0) continue;
      const hasPseudo = DIFF_FIELDS[L.field[c]!]!.layer !== 'ipv4' && DIFF_FIELDS[L.field[c]!]!.layer !== 'icmp';
      for (let i = 0; i < n; i++) {
        if (!ignored[i] || i === c) continue;
        const f = L.field[i]!;
        if (inside(L.off[i]!, L.covStart[c]!, L.covEnd[c]!) || (hasPseudo && L.scope[i] === L.scope[c] && (PSEUDO_V4.has(f) || PSEUDO_V6.has(f)))) {
          ignored[c] = 2;
          break;
        }
      }
    }
    for (let i = 0; i < n; i++) {
      if (!ignored[i]) continue;
      const field = L.field[i]!;
      const off = L.off[i]! - p.head;
      const flen = L.len[i]!;
      for (let k = 0; k < flen; k++) s[off + k]! &= ~fieldByteMask(field, flen, k);
    }
    return len;
  }

  /** One-line summary of a packet (for missing / extra). */
  summary(p: Packet): string {
    this.expected.build(p);
    return summarize(this.expected);
  }
}

function inside(off: number, start: number, end: number): boolean {
  return off >= start && off < end;
}

function sameList(x: readonly string[], y: readonly string[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Same captured bytes. */
export function sameBytes(e: Packet, a: Packet): boolean {
  const n = e.tail - e.head;
  if (n !== a.tail - a.head) return false;
  return Buffer.compare(e.buf.subarray(e.head, e.tail), a.buf.subarray(a.head, a.tail)) === 0;
}

function sameEntry(E: FrameLayout, i: number, A: FrameLayout, j: number): boolean {
  const def = DIFF_FIELDS[E.field[i]!]!;
  const len = E.len[i]!;
  if (def.mask !== 0 || (len <= 4 && def.format !== 'bytes' && def.format !== 'payload')) {
    if (len !== A.len[j]!) return false;
    return E.value(i) === A.value(j);
  }
  if (len !== A.len[j]!) return false;
  const eo = E.off[i]!;
  const ao = A.off[j]!;
  for (let k = 0; k < len; k++) if (E.buf[eo + k] !== A.buf[ao + k]) return false;
  return true;
}
