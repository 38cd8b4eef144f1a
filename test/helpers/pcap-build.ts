/**
 * Hand-rolled pcap/pcapng byte builders for tests, in either byte order. Deliberately independent
 * of pipeline/pcap (BigInt timestamps, plain DataView writes) so tests do not check the code
 * against itself.
 */

export class ByteBuilder {
  private readonly parts: number[] = [];
  constructor(readonly le: boolean) {}

  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u32(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  /** A 64-bit value as the pcapng timestamp layout: high word first, each word in the byte order. */
  ts64(v: bigint): this {
    return this.u32(Number(v >> 32n)).u32(Number(v & 0xffffffffn));
  }
  /** A 64-bit integer in the byte order (if_tsoffset). */
  i64(v: bigint): this {
    const u = BigInt.asUintN(64, v);
    const lo = Number(u & 0xffffffffn);
    const hi = Number(u >> 32n);
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  bytes(b: Uint8Array | readonly number[]): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Deterministic frame bytes: `len` bytes derived from `seed`. */
export function frame(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// pcap

export interface PcapRecord {
  sec: number;
  /** µs or ns per the file's magic. */
  frac: number;
  data: Uint8Array;
  origLen?: number;
  /** Override the caplen field (for malformed files). */
  capLen?: number;
}

export interface PcapFile {
  le: boolean;
  nano?: boolean;
  snapLen?: number;
  /** The whole LinkType field (upper bits included). */
  linkType?: number;
  records: PcapRecord[];
}

export function pcapHeader(f: Omit<PcapFile, 'records'>): Uint8Array {
  const w = new ByteBuilder(f.le);
  w.u32(f.nano ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0);
  w.u32(f.snapLen ?? 65535).u32(f.linkType ?? 1);
  return w.build();
}

export function pcapRecord(le: boolean, r: PcapRecord): Uint8Array {
  const w = new ByteBuilder(le);
  w.u32(r.sec).u32(r.frac).u32(r.capLen ?? r.data.length).u32(r.origLen ?? r.data.length).bytes(r.data);
  return w.build();
}

export function buildPcap(f: PcapFile): Uint8Array {
  return concat(pcapHeader(f), ...f.records.map((r) => pcapRecord(f.le, r)));
}

// ---------------------------------------------------------------------------------------------
// pcapng

export type Option = { code: number; value: Uint8Array };

const utf8 = new TextEncoder();

export function strOpt(code: number, s: string): Option {
  return { code, value: utf8.encode(s) };
}

function options(w: ByteBuilder, opts: readonly Option[]): void {
  if (opts.length === 0) return;
  for (const o of opts) w.u16(o.code).u16(o.value.length).bytes(o.value).pad4();
  w.u16(0).u16(0);
}

/** A block: type, length, body (padded to 4), trailing length. */
export function block(le: boolean, type: number, body: Uint8Array, lenOverride?: { lead?: number; trail?: number }): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const len = 12 + padded;
  const w = new ByteBuilder(le);
  w.u32(type).u32(lenOverride?.lead ?? len).bytes(body).pad4().u32(lenOverride?.trail ?? len);
  return w.build();
}

export function shb(le: boolean, o: { major?: number; options?: Option[] } = {}): Uint8Array {
  const w = new ByteBuilder(le);
  w.u32(0x1a2b3c4d).u16(o.major ?? 1).u16(0).u32(0xffffffff).u32(0xffffffff);
  options(w, o.options ?? []);
  return block(le, 0x0a0d0d0a, w.build());
}

export interface IdbSpec {
  linkType?: number;
  snapLen?: number;
  /** Raw if_tsresol byte. */
  tsresol?: number;
  name?: string;
  description?: string;
  tsoffset?: bigint;
}

export function idb(le: boolean, s: IdbSpec = {}): Uint8Array {
  const w = new ByteBuilder(le);
  w.u16(s.linkType ?? 1).u16(0).u32(s.snapLen ?? 0);
  const opts: Option[] = [];
  if (s.name !== undefined) opts.push(strOpt(2, s.name));
  if (s.description !== undefined) opts.push(strOpt(3, s.description));
  if (s.tsresol !== undefined) opts.push({ code: 9, value: Uint8Array.of(s.tsresol) });
  if (s.tsoffset !== undefined) opts.push({ code: 14, value: new ByteBuilder(le).i64(s.tsoffset).build() });
  options(w, opts);
  return block(le, 1, w.build());
}

export interface EpbSpec {
  iface: number;
  /** Timestamp in the interface's units. */
  ts: bigint;
  data: Uint8Array;
  origLen?: number;
  capLen?: number;
  comments?: string[];
  extraOptions?: Option[];
}

export function epb(le: boolean, s: EpbSpec): Uint8Array {
  const w = new ByteBuilder(le);
  w.u32(s.iface).ts64(s.ts).u32(s.capLen ?? s.data.length).u32(s.origLen ?? s.data.length).bytes(s.data).pad4();
  options(w, [...(s.comments ?? []).map((c) => strOpt(1, c)), ...(s.extraOptions ?? [])]);
  return block(le, 6, w.build());
}

/** Obsolete Packet Block (type 2). */
export function pb(le: boolean, s: EpbSpec): Uint8Array {
  const w = new ByteBuilder(le);
  w.u16(s.iface).u16(0).ts64(s.ts).u32(s.capLen ?? s.data.length).u32(s.origLen ?? s.data.length).bytes(s.data).pad4();
  options(w, (s.comments ?? []).map((c) => strOpt(1, c)));
  return block(le, 2, w.build());
}

export function spb(le: boolean, s: { origLen?: number; data: Uint8Array }): Uint8Array {
  const w = new ByteBuilder(le);
  w.u32(s.origLen ?? s.data.length).bytes(s.data).pad4();
  return block(le, 3, w.build());
}

/** Name Resolution Block with one IPv4 record. */
export function nrb(le: boolean): Uint8Array {
  const w = new ByteBuilder(le);
  const name = utf8.encode('host.example\0');
  w.u16(1).u16(4 + name.length).bytes([192, 0, 2, 1]).bytes(name).pad4();
  w.u16(0).u16(0);
  return block(le, 4, w.build());
}

/** Interface Statistics Block. */
export function isb(le: boolean, iface: number): Uint8Array {
  const w = new ByteBuilder(le);
  w.u32(iface).u32(0).u32(0);
  return block(le, 5, w.build());
}

/** Decryption Secrets Block. */
export function dsb(le: boolean): Uint8Array {
  const w = new ByteBuilder(le);
  const secret = utf8.encode('CLIENT_RANDOM 00 00\n');
  w.u32(0x544c534b).u32(secret.length).bytes(secret).pad4();
  return block(le, 0x0a, w.build());
}

/** Custom block (copiable) with a private enterprise number. */
export function custom(le: boolean): Uint8Array {
  const w = new ByteBuilder(le);
  w.u32(32473).bytes([1, 2, 3, 4, 5]).pad4();
  return block(le, 0x00000bad, w.build());
}
