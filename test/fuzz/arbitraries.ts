/**
 * fast-check arbitraries for the fuzz properties: frames (valid ones crafted with capflow's own
 * `craftFrame`/`craftVxlan`, MPLS stacks, trailers, random bytes), captures around them (pcap of
 * all four magics, pcapng with several sections, interfaces, link types and comments, gzip),
 * damage to those captures (byte flips, truncation, caplen and block-length bombs) and random
 * pipelines (every stage, random but valid options, every built-in NIC, both views).
 *
 * Everything here is a plain description (JSON-able) until `buildCapture` turns it into bytes, so
 * a failing case prints as something a person can read and a corpus file can be rebuilt from it.
 */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { craftFrame, craftVxlan, type CraftSpec } from '../../pipeline/craft.js';
import { builtinProfileNames } from '../../pipeline/nic/profile.js';
import { concat, isb, nrb } from '../helpers/pcap-build.js';

// ---------------------------------------------------------------------------------------------
// frames

const V4 = ['192.0.2.1', '192.0.2.2', '198.51.100.7', '203.0.113.9'] as const;
const V6 = ['2001:db8::1', '2001:db8::2', '2001:db8:1::7'] as const;

export interface FrameDesc {
  kind: 'tcp' | 'udp' | 'icmp' | 'vxlan' | 'raw';
  v6: boolean;
  vlans: number[];
  /** MPLS labels inserted after the Ethernet/VLAN headers (outermost first). */
  mpls: number[];
  payload: number;
  flags: number;
  df: boolean;
  dstPort: number;
  mssOpt: boolean;
  ts: boolean;
  vni: number;
  udpChecksum: boolean;
  /** Bytes appended after the IP datagram (Ethernet padding or a trailer). */
  trailer: number;
  /** Random bytes for `raw` frames (and as the seed of byte damage). */
  raw: Uint8Array;
  /** In-frame damage: [position (mod length), new byte]. */
  flips: Array<[number, number]>;
}

const frameDescArb: fc.Arbitrary<FrameDesc> = fc.record({
  kind: fc.constantFrom('tcp', 'tcp', 'udp', 'icmp', 'vxlan', 'vxlan', 'raw'),
  v6: fc.boolean(),
  vlans: fc.constantFrom<number[]>([], [], [10], [10, 20], [10, 20, 30]),
  mpls: fc.constantFrom<number[]>([], [], [], [16], [100, 200], [1, 2, 3, 4, 5, 6, 7, 8, 9]),
  // Mostly small; sometimes a super-packet (TSO/USO host capture) or a large one.
  payload: fc.oneof(
    { weight: 20, arbitrary: fc.integer({ min: 0, max: 1600 }) },
    { weight: 4, arbitrary: fc.integer({ min: 1600, max: 9000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 9000, max: 65000 }) },
  ),
  flags: fc.integer({ min: 0, max: 255 }),
  df: fc.boolean(),
  dstPort: fc.constantFrom(4789, 8472, 80, 5001, 0),
  mssOpt: fc.boolean(),
  ts: fc.boolean(),
  vni: fc.constantFrom(0, 7, 42, 0xffffff),
  udpChecksum: fc.boolean(),
  trailer: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2000 }) }),
  raw: fc.uint8Array({ maxLength: 80 }),
  flips: fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as Array<[number, number]>) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }) },
  ),
});

function ipPair(v6: boolean, salt: number): { src: string; dst: string } {
  const pool = v6 ? V6 : V4;
  return { src: pool[salt % pool.length]!, dst: pool[(salt + 1) % pool.length]! };
}

/** Bytes of a frame description. */
export function buildFrame(d: FrameDesc): Uint8Array {
  let f: Uint8Array;
  if (d.kind === 'raw') {
    f = Uint8Array.from(d.raw);
  } else {
    const ip = { ...ipPair(d.v6, d.payload), df: d.df, ttl: 64, tos: d.flags & 0xff };
    const innerOf = (kind: 'tcp' | 'udp' | 'icmp', payload: number): CraftSpec => ({
      vlans: d.vlans,
      ip,
      payload,
      l4:
        kind === 'tcp'
          ? {
              kind: 'tcp',
              srcPort: 40000 + (d.payload & 0xff),
              dstPort: d.dstPort || 5001,
              seq: d.payload * 7919,
              flags: d.flags,
              ...(d.mssOpt ? { mss: 536 + (d.payload % 1000) } : {}),
              ...(d.ts ? { tsval: d.payload } : {}),
            }
          : kind === 'udp'
            ? { kind: 'udp', srcPort: 50000, dstPort: d.dstPort || 53, noChecksum: !d.udpChecksum }
            : { kind: 'icmp', type: d.v6 ? 128 : 8 },
    });
    if (d.kind === 'vxlan') {
      const inner = craftFrame({ ...innerOf(d.flags & 1 ? 'udp' : 'tcp', d.payload), vlans: [] });
      f = craftVxlan(inner, {
        vlans: d.vlans,
        ip: { ...ipPair(!d.v6, d.vni), df: d.df },
        srcPort: 49152 + (d.vni & 0x3fff),
        dstPort: d.dstPort === 80 ? 4789 : d.dstPort || 4789,
        vni: d.vni,
        udpChecksum: d.udpChecksum,
      });
    } else {
      f = craftFrame(innerOf(d.kind, d.payload));
    }
    if (d.mpls.length > 0) f = insertMpls(f, d.vlans.length, d.mpls);
  }
  if (d.trailer > 0) {
    const t = new Uint8Array(d.trailer);
    for (let i = 0; i < t.length; i++) t[i] = (i * 31 + 7) & 0xff;
    f = concat(f, t);
  }
  if (f.length > 0) for (const [pos, v] of d.flips) f[pos % f.length] = v;
  return f;
}

/** Put an MPLS label stack between the L2 header (with `tags` VLAN tags) and the network header. */
function insertMpls(f: Uint8Array, tags: number, labels: number[]): Uint8Array {
  const l2 = 12 + 4 * tags;
  const out = new Uint8Array(f.length + 4 * labels.length);
  out.set(f.subarray(0, l2), 0);
  out[l2] = 0x88;
  out[l2 + 1] = 0x47;
  labels.forEach((label, i) => {
    const bos = i === labels.length - 1 ? 1 : 0;
    const o = l2 + 2 + 4 * i;
    out[o] = (label >>> 12) & 0xff;
    out[o + 1] = (label >>> 4) & 0xff;
    out[o + 2] = ((label & 0xf) << 4) | bos;
    out[o + 3] = 64;
  });
  out.set(f.subarray(l2 + 2), l2 + 2 + 4 * labels.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// captures

export interface RecordDesc {
  frame: FrameDesc;
  /** Keep only this many bytes (snaplen truncation); null: the whole frame. */
  capLen: number | null;
  iface: number;
  /** pcapng block type for the record: EPB mostly, sometimes SPB or the obsolete PB. */
  block: 'epb' | 'spb' | 'pb';
  comments: string[];
}

export interface IfaceDesc {
  linkType: number;
  snapLen: number;
  tsresol: number | null;
}

export interface SectionDesc {
  le: boolean;
  ifaces: IfaceDesc[];
  records: RecordDesc[];
  /** Other blocks sprinkled in (NRB, ISB). */
  extras: boolean;
}

export interface CaptureDesc {
  format: 'pcap' | 'pcapng';
  /** pcap: byte order and nanosecond magic (the four magics). */
  le: boolean;
  nano: boolean;
  pcapLinkType: number;
  pcapSnapLen: number;
  sections: SectionDesc[];
  gzip: boolean;
  damage: Damage;
}

export type Damage =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: Array<[number, number]> }
  /** Overwrite a 32-bit field at a record/block boundary with a huge or odd value. */
  | { kind: 'bomb'; nth: number; field: number; le: boolean; value: number }
  | { kind: 'splice'; at: number; bytes: number[] };

// Capture comments capflow reads back as metadata, well-formed and not.
const COMMENTS = [
  'hello',
  'tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=49152 tpDst=4789 flags=key,csum',
  'tunnel vni=99999999 src=2001:db8::1 dst=192.0.2.2 flags=key mode=tx',
  'tunnel vni=1 src=2001:db8::1 dst=2001:db8::2 label=0x12345 gbp=0x400001 flags=key',
  'tunnel vni=x',
  'gso type=tcpv4 size=1448 segs=45',
  'gso type=udp_l4+udp_tunnel_csum size=1 segs=65535',
  'gso type=tcpv6+ecn+partial size=0 segs=0',
  'gso type=bogus size=-1',
  'mpls inner=ipv4',
  '\u0000\uffff',
];

// Link types: Ethernet mostly, then the non-Ethernet ones capflow converts, and unknown ones.
const LINK_TYPES = [1, 1, 1, 1, 101, 228, 229, 113, 276, 0, 108, 147];

const recordArb = (ifaces: number): fc.Arbitrary<RecordDesc> =>
  fc.record({
    frame: frameDescArb,
    capLen: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 200 }) }),
    iface: fc.integer({ min: 0, max: ifaces - 1 }),
    block: fc.constantFrom('epb', 'epb', 'epb', 'epb', 'spb', 'pb'),
    comments: fc.oneof(
      { weight: 4, arbitrary: fc.constant([] as string[]) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom(...COMMENTS), { minLength: 1, maxLength: 3 }) },
    ),
  });

const ifaceArb: fc.Arbitrary<IfaceDesc> = fc.record({
  linkType: fc.constantFrom(...LINK_TYPES),
  snapLen: fc.constantFrom(0, 0, 65535, 262144, 96),
  tsresol: fc.constantFrom(null, null, 6, 9, 0x86, 3),
});

const sectionArb: fc.Arbitrary<SectionDesc> = fc
  .record({ le: fc.boolean(), ifaces: fc.array(ifaceArb, { minLength: 1, maxLength: 3 }), extras: fc.boolean() })
  .chain((s) => fc.array(recordArb(s.ifaces.length), { maxLength: 4 }).map((records) => ({ ...s, records })));

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'none' } as Damage) },
  { weight: 2, arbitrary: fc.nat().map((at) => ({ kind: 'truncate', at }) as Damage) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })
      .map((at) => ({ kind: 'flip', at }) as Damage),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        nth: fc.nat({ max: 12 }),
        field: fc.integer({ min: 0, max: 5 }),
        le: fc.boolean(),
        value: fc.constantFrom(0, 1, 3, 11, 12, 13, 0x7fffffff, 0xffffffff, 262145, 16 * 1024 * 1024 + 4, 0x1a2b3c4d, 0x0a0d0d0a),
      })
      .map((b) => ({ kind: 'bomb', ...b }) as Damage),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 40 }) })
      .map((s) => ({ kind: 'splice', ...s }) as Damage),
  },
);

export const captureDescArb: fc.Arbitrary<CaptureDesc> = fc.record({
  format: fc.constantFrom('pcap', 'pcapng'),
  le: fc.boolean(),
  nano: fc.boolean(),
  pcapLinkType: fc.constantFrom(...LINK_TYPES),
  pcapSnapLen: fc.constantFrom(65535, 262144, 0, 128),
  sections: fc.array(sectionArb, { minLength: 1, maxLength: 3 }),
  gzip: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  damage: damageArb,
});

/** Bytes of a capture description, plus the offsets of its records/blocks (for bombs). */
export function buildCapture(d: CaptureDesc): Uint8Array {
  const { bytes, boundaries } = buildUndamaged(d);
  let b = damage(bytes, boundaries, d.damage);
  if (d.gzip) {
    b = gzipSync(b);
    // Damage after compression too, sometimes: the gzip layer must report it as gzip data errors.
    if (d.damage.kind === 'flip' && d.damage.at.length > 3) {
      b = Uint8Array.from(b);
      for (const [pos, v] of d.damage.at) b[pos % b.length] = v;
    }
  }
  return b;
}

function frameOf(r: RecordDesc): { data: Uint8Array; origLen: number } {
  const full = buildFrame(r.frame);
  if (r.capLen === null || r.capLen >= full.length) return { data: full, origLen: full.length };
  return { data: full.subarray(0, r.capLen), origLen: full.length };
}

function buildUndamaged(d: CaptureDesc): { bytes: Uint8Array; boundaries: number[] } {
  const w = new FastWriter();
  if (d.format === 'pcap') {
    const le = d.le;
    w.mark();
    w.u32(d.nano ? 0xa1b23c4d : 0xa1b2c3d4, le).u16(2, le).u16(4, le).u32(0, le).u32(0, le).u32(d.pcapSnapLen, le).u32(d.pcapLinkType, le);
    let i = 0;
    for (const s of d.sections) {
      for (const r of s.records) {
        const { data, origLen } = frameOf(r);
        w.mark();
        w.u32(1_700_000_000 + i, le).u32(i * 1000, le).u32(data.length, le).u32(origLen, le).bytes(data);
        i++;
      }
    }
  } else {
    let t = 1_700_000_000_000_000n;
    for (const s of d.sections) {
      const le = s.le;
      w.block(le, 0x0a0d0d0a, () => {
        w.u32(0x1a2b3c4d, le).u16(1, le).u16(0, le).u32(0xffffffff, le).u32(0xffffffff, le);
        w.option(le, 4, utf8.encode('capflow fuzz')).u32(0, le);
      });
      s.ifaces.forEach((f, i) =>
        w.block(le, 1, () => {
          w.u16(f.linkType, le).u16(0, le).u32(f.snapLen, le);
          w.option(le, 2, utf8.encode(`if${i}`));
          if (f.tsresol !== null) w.option(le, 9, Uint8Array.of(f.tsresol));
          w.u32(0, le);
        }),
      );
      if (s.extras) w.bytes(nrb(le), true);
      for (const r of s.records) {
        const { data, origLen } = frameOf(r);
        t += 1234n;
        const hi = Number(t >> 32n);
        const lo = Number(t & 0xffffffffn);
        const comments = () => {
          if (r.comments.length === 0) return;
          for (const c of r.comments) w.option(le, 1, utf8.encode(c));
          w.u32(0, le);
        };
        if (r.block === 'spb') w.block(le, 3, () => w.u32(origLen, le).bytes(data).pad4());
        else if (r.block === 'pb') w.block(le, 2, () => { w.u16(r.iface, le).u16(0, le).u32(hi, le).u32(lo, le).u32(data.length, le).u32(origLen, le).bytes(data).pad4(); comments(); });
        else w.block(le, 6, () => { w.u32(r.iface, le).u32(hi, le).u32(lo, le).u32(data.length, le).u32(origLen, le).bytes(data).pad4(); comments(); });
      }
      if (s.extras) w.bytes(isb(le, 0), true);
    }
  }
  return { bytes: w.done(), boundaries: w.boundaries };
}

const utf8 = new TextEncoder();

/** A growable byte writer (the shared test builders are made for clarity, not for 10,000 cases). */
class FastWriter {
  private b = new Uint8Array(4096);
  private dv = new DataView(this.b.buffer);
  n = 0;
  readonly boundaries: number[] = [];
  private room(k: number): void {
    if (this.n + k <= this.b.length) return;
    const next = new Uint8Array(Math.max(this.b.length * 2, this.n + k));
    next.set(this.b.subarray(0, this.n));
    this.b = next;
    this.dv = new DataView(next.buffer);
  }
  mark(): void {
    this.boundaries.push(this.n);
  }
  u16(v: number, le: boolean): this {
    this.room(2);
    this.dv.setUint16(this.n, v & 0xffff, le);
    this.n += 2;
    return this;
  }
  u32(v: number, le: boolean): this {
    this.room(4);
    this.dv.setUint32(this.n, v >>> 0, le);
    this.n += 4;
    return this;
  }
  bytes(x: Uint8Array, boundary = false): this {
    if (boundary) this.mark();
    this.room(x.length);
    this.b.set(x, this.n);
    this.n += x.length;
    return this;
  }
  pad4(): this {
    while (this.n % 4 !== 0) this.bytes(ZERO1);
    return this;
  }
  option(le: boolean, code: number, value: Uint8Array): this {
    return this.u16(code, le).u16(value.length, le).bytes(value).pad4();
  }
  /** A pcapng block: type, length, body, length. */
  block(le: boolean, type: number, body: () => void): void {
    this.mark();
    const start = this.n;
    this.u32(type, le).u32(0, le);
    body();
    this.pad4();
    const len = this.n - start + 4;
    this.dv.setUint32(start + 4, len, le);
    this.u32(len, le);
  }
  done(): Uint8Array {
    return this.b.slice(0, this.n);
  }
}
const ZERO1 = new Uint8Array(1);

function damage(bytes: Uint8Array, boundaries: number[], d: Damage): Uint8Array {
  switch (d.kind) {
    case 'none':
      return bytes;
    case 'truncate':
      return bytes.subarray(0, d.at % (bytes.length + 1));
    case 'flip': {
      const b = Uint8Array.from(bytes);
      if (b.length > 0) for (const [pos, v] of d.at) b[pos % b.length] = v;
      return b;
    }
    case 'bomb': {
      // pcap record: ts, ts, caplen, origlen; pcap file header: magic, version, ...; pcapng
      // block: type, length, then the body (EPB: interface, ts, ts, caplen at +20).
      const b = Uint8Array.from(bytes);
      const pos = boundaries[d.nth % boundaries.length]! + 4 * d.field;
      if (pos + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(pos, d.value >>> 0, d.le);
      return b;
    }
    case 'splice': {
      const at = d.at % (bytes.length + 1);
      return concat(bytes.subarray(0, at), Uint8Array.from(d.bytes), bytes.subarray(at));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// pipelines

const cidr = fc.constantFrom('198.51.100.0/24', '192.0.2.0/24', '0.0.0.0/0', '2001:db8::/32', '203.0.113.9/32', '::/0');
const matchArb = fc.record(
  {
    vni: fc.constantFrom(0, 7, 42),
    ipDst: cidr,
    ipProto: fc.constantFrom('tcp', 'udp', 'icmp', 'icmpv6', 6),
    dstPort: fc.constantFrom(80, 4789, 5001),
    vlan: fc.constantFrom(10, 20),
  },
  { requiredKeys: [] },
);
const keyFields = fc.record(
  {
    vni: fc.constantFrom(0, 42, 0xffffff),
    dst: fc.constantFrom('192.0.2.2', '2001:db8::2'),
    tos: fc.integer({ min: 0, max: 255 }),
    ttl: fc.integer({ min: 0, max: 255 }),
    tpSrc: fc.constantFrom(0, 1, 65535),
    tpDst: fc.constantFrom(4789, 8472, 0),
    csum: fc.boolean(),
    df: fc.boolean(),
    label: fc.constantFrom(0, 0xfffff),
  },
  { requiredKeys: [] },
);
const ruleArb = fc.oneof(
  fc.record({ match: matchArb, set: keyFields }),
  fc.record({ match: matchArb, modify: keyFields }),
  fc.record({ match: matchArb, unset: fc.constant(true as const) }),
  fc.record({ match: matchArb, drop: fc.constant(true as const) }),
);
const lseArb = fc.record({
  label: fc.constantFrom(0, 3, 16, 1048575),
  tc: fc.integer({ min: 0, max: 7 }),
  ttl: fc.oneof(fc.constant('inherit' as const), fc.integer({ min: 1, max: 255 })),
});

const stageArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    {
      stage: fc.constant('vxlan-decap'),
      ports: fc.constantFrom([4789], [4789, 8472], [80]),
      collectMetadata: fc.boolean(),
      gbp: fc.boolean(),
      udp6ZeroCsumRx: fc.boolean(),
      vnis: fc.constantFrom([42], [0, 7]),
      localMac: fc.constant('02:00:00:00:00:01'),
    },
    { requiredKeys: ['stage'] },
  ),
  fc.record({ stage: fc.constant('tunnel-key'), rules: fc.array(ruleArb, { maxLength: 4 }) }),
  fc.record(
    {
      stage: fc.constant('vxlan-encap'),
      src: fc.constantFrom('192.0.2.1', '2001:db8::1', ['192.0.2.1', '2001:db8::1']),
      dstPort: fc.constantFrom(4789, 8472),
      ttl: fc.integer({ min: 1, max: 255 }),
      gbp: fc.boolean(),
      requireMetadata: fc.boolean(),
      mtuPolicy: fc.constantFrom('kernel', 'drop', 'ignore'),
    },
    { requiredKeys: ['stage'] },
  ),
  fc.record({ stage: fc.constant('mpls-push'), labels: fc.array(lseArb, { minLength: 1, maxLength: 3 }), multicast: fc.boolean() }),
  fc.record({ stage: fc.constant('mpls-pop') }),
);

const gsoArb = fc.record(
  {
    stage: fc.constant('gso'),
    mss: fc.oneof(fc.constant('auto' as const), fc.integer({ min: 48, max: 9000 }), fc.constantFrom(48, 64, 1448)),
    mtu: fc.oneof(fc.integer({ min: 68, max: 9000 }), fc.constantFrom(68, 576, 1280, 1500)),
    mtuPolicy: fc.constantFrom('kernel', 'drop', 'ignore'),
    checksum: fc.record({ fix: fc.boolean() }),
  },
  { requiredKeys: ['stage'] },
);

export interface PipelineDesc {
  nic: string;
  view: 'driver' | 'wire';
  linkLayer?: { to: 'ethernet' };
  stages: Record<string, unknown>[];
}

export const pipelineDescArb: fc.Arbitrary<PipelineDesc> = fc.record(
  {
    nic: fc.constantFrom(...builtinProfileNames()),
    view: fc.constantFrom('driver' as const, 'wire' as const),
    linkLayer: fc.constant({ to: 'ethernet' as const }),
    stages: fc.tuple(fc.array(stageArb, { maxLength: 4 }), fc.option(gsoArb, { nil: undefined })).map(([s, g]) => (g ? [...s, g] : s)),
  },
  { requiredKeys: ['nic', 'view', 'stages'] },
);

/** Segmentation budget per case: mss 1 on a 64 KB super-packet is 65,000 segments; keep cases small. */
export function segmentBudget(c: CaptureDesc, p: PipelineDesc): number {
  const gso = p.stages.find((s) => s.stage === 'gso') as { mss?: unknown; mtu?: unknown } | undefined;
  const mss = typeof gso?.mss === 'number' ? gso.mss : 500;
  const mtu = typeof gso?.mtu === 'number' ? gso.mtu : 1500;
  const bytes = c.sections.reduce((n, s) => n + s.records.reduce((m, r) => m + r.frame.payload + r.frame.trailer, 0), 0);
  return bytes / Math.max(1, Math.min(mss, mtu - 40 > 0 ? mtu - 40 : 8));
}

/** Rough size of a capture description's bytes. */
export function captureSize(c: CaptureDesc): number {
  return c.sections.reduce((n, s) => n + s.records.reduce((m, r) => m + 100 + r.frame.payload + r.frame.trailer, 200), 0);
}

/**
 * Keep a case's segment count small (the budget is for variety, not volume; `mss: 48` on 64 KB is
 * tested on its own, for memory): payloads of a capture whose segmentation would emit more than
 * `max` packets are cut to fit.
 */
export function withinSegmentBudget(c: CaptureDesc, p: PipelineDesc, max: number): CaptureDesc {
  const over = segmentBudget(c, p) / max;
  if (over <= 1) return c;
  return {
    ...c,
    sections: c.sections.map((s) => ({
      ...s,
      records: s.records.map((r) => ({ ...r, frame: { ...r.frame, payload: Math.floor(r.frame.payload / (over * 1.5)), trailer: Math.floor(r.frame.trailer / (over * 1.5)) } })),
    })),
  };
}

/** Captures of well-formed frames only (Ethernet, no damage): their outputs must dissect cleanly. */
export const validCaptureDescArb: fc.Arbitrary<CaptureDesc> = captureDescArb.map((c) => ({
  ...c,
  pcapLinkType: 1,
  pcapSnapLen: 0,
  damage: { kind: 'none' } as Damage,
  sections: c.sections.map((s) => ({
    ...s,
    // Resolutions whose timestamps a pcap output can hold (2^-6 s units would overflow its 32-bit seconds).
    ifaces: s.ifaces.map((f) => ({ ...f, linkType: 1, snapLen: 0, tsresol: f.tsresol === 9 ? 9 : null })),
    records: s.records.map((r) => ({
      ...r,
      capLen: null,
      block: 'epb' as const,
      frame: {
        ...r.frame,
        kind: r.frame.kind === 'raw' ? ('udp' as const) : r.frame.kind,
        // Pattern payloads on a port with a dissector (DNS 53, VXLAN 4789) would not dissect.
        dstPort: r.frame.kind === 'vxlan' ? 4789 : 5001,
        flips: [],
      },
    })),
  })),
}));
