/**
 * `diffCaptures(expected, actual, options)`: the comparison behind `capflow diff` and the
 * `toMatchPcap` matcher.
 *
 * Ordered (default): both captures are read in lockstep from their batch iterators and packet
 * n is compared with packet n. Memory is constant: a batch of each side (about one input chunk)
 * and at most `max` listed differences.
 *
 * Unordered (`unordered: true`): packets are matched by a 53-bit hash of their bytes with the
 * ignored fields masked, first come first served among equal ones; matched pairs are then
 * compared on their packet fields (timestamp, lengths, interface, comments). EXPECTED is read
 * first and kept in memory as hashes plus packet fields (about 100 bytes a packet); ACTUAL is
 * streamed. Unmatched packets are reported as missing / extra. When EXPECTED is a file or an
 * array it is read again to summarize the missing packets that are listed.
 */
import type { Packet } from '../packet.js';
import { openCapture } from '../pcap/reader.js';
import { PacketComparer, type PacketMeta, packetComments } from './compare.js';
import { parseIgnore } from './fields.js';
import { DEFAULT_VXLAN_PORTS } from './layout.js';
import { DiffCollector, type Difference, type DiffResult } from './result.js';
import { ALIGN_WINDOW, firstCommon } from './align.js';

/** A capture to compare: a file path ('-' = stdin; pcap, pcapng, optionally gzip), or packets. */
export type PacketSource = string | Iterable<Packet> | AsyncIterable<Packet>;

export interface DiffOptions {
  /** Field names masked before comparing (see DIFF_FIELD_NAMES; `outer.`/`inner.` prefixes, `[i]` indexes, `layer.*`). */
  ignore?: readonly string[];
  /** Match packets regardless of order (holds EXPECTED's hashes in memory). */
  unordered?: boolean;
  /** Differences listed at most (the rest are counted); 0 = all. Default 20. */
  max?: number;
  /** UDP destination ports decoded as VXLAN (default 4789 and 8472). */
  vxlanPorts?: readonly number[];
  /** Reading: a truncated last record is an error instead of a warning. */
  strict?: boolean;
  onWarning?: (message: string) => void;
  /**
   * Receive the listed differences as they are found, in order (awaited: a slow consumer slows
   * the comparison down); the result's `differences` is then empty. For reports of any length in
   * bounded memory (`capflow diff --max 0`).
   */
  onDifferences?: (listed: Difference[]) => void | Promise<void>;
}

export const DEFAULT_MAX_DIFFERENCES = 20;

interface OpenedSource {
  label: 'EXPECTED' | 'ACTUAL';
  /** 'pcap' / 'pcapng' for files; null for packets. */
  format: 'pcap' | 'pcapng' | null;
  batches: AsyncIterator<Packet[]>;
  /** Can be read again (files other than stdin, sync iterables). */
  reopen: (() => Promise<OpenedSource>) | null;
  /**
   * Stop reading and release the input. For a file, its reader's close(): ending `batches` alone
   * would not release a file whose batches were never asked for (a generator not started skips
   * its finally).
   */
  close(): Promise<unknown>;
}

const BATCH = 1024;

/** Compare two captures packet by packet. Rejects when an input cannot be read or an --ignore name is unknown. */
export async function diffCaptures(expected: PacketSource, actual: PacketSource, options: DiffOptions = {}): Promise<DiffResult> {
  const rules = parseIgnore(options.ignore ?? []);
  if (expected === '-' && actual === '-') throw new TypeError('EXPECTED and ACTUAL cannot both be stdin');
  const sink = new DiffCollector(options.max ?? DEFAULT_MAX_DIFFERENCES, options.onDifferences);
  const E = await openSource(expected, 'EXPECTED', options);
  let A: OpenedSource;
  try {
    A = await openSource(actual, 'ACTUAL', options);
  } catch (e) {
    await E.close();
    throw e;
  }
  const notes: string[] = [];
  const pcapSide = E.format === 'pcap' ? E : A.format === 'pcap' ? A : null;
  if (pcapSide) notes.push(`comments not compared: ${pcapSide.label} is a pcap file, which cannot hold them`);
  const cmp = new PacketComparer({ rules, vxlanPorts: options.vxlanPorts ?? DEFAULT_VXLAN_PORTS, comments: pcapSide === null });
  try {
    const packets = options.unordered ? await diffUnordered(E, A, cmp, sink) : await diffOrdered(E, A, cmp, sink);
    await sink.drain();
    return sink.result(packets, notes);
  } finally {
    await Promise.allSettled([E.close(), A.close()]);
  }
}

/** One side of the ordered diff: packets read but not yet aligned, with their identity hashes. */
class AlignQueue {
  packets: Packet[] = [];
  keys: number[] = [];
  head = 0;
  /** Packets taken (aligned) so far: the number of the next one is taken + 1. */
  taken = 0;
  done = false;

  constructor(
    readonly src: OpenedSource,
    private readonly identity: (p: Packet) => number,
  ) {}

  get available(): number {
    return this.packets.length - this.head;
  }

  /** Read until ALIGN_WINDOW packets are waiting (or the input ends). */
  async fill(): Promise<void> {
    while (!this.done && this.available < ALIGN_WINDOW) {
      const r = await this.src.batches.next();
      if (r.done) {
        this.done = true;
        break;
      }
      if (this.head > 0) {
        // Drop what was taken (packets must not be kept alive: they hold their input chunks).
        this.packets = this.packets.slice(this.head);
        this.keys = this.keys.slice(this.head);
        this.head = 0;
      }
      for (const p of r.value) {
        this.packets.push(p);
        this.keys.push(this.identity(p));
      }
    }
  }

  /** Can more be read before the window is full? */
  get short(): boolean {
    return !this.done && this.available < ALIGN_WINDOW;
  }

  take(): Packet {
    const p = this.packets[this.head]!;
    this.packets[this.head++] = undefined as unknown as Packet;
    this.taken++;
    return p;
  }
}

/** The first s > 0 with equal packets s places after both heads, within `limit`; 0 if none. */
function sameAfter(e: AlignQueue, a: AlignQueue, limit: number): number {
  for (let s = 1; s < limit; s++) if (e.keys[e.head + s] === a.keys[a.head + s]) return s;
  return 0;
}

/** In file order, aligned (align.ts): pairs compared, packets on one side only reported missing / extra. */
async function diffOrdered(E: OpenedSource, A: OpenedSource, cmp: PacketComparer, sink: DiffCollector) {
  const scratch = { buf: new Uint8Array(2048) };
  const identity = (p: Packet): number => identityOf(p, cmp, scratch);
  const e = new AlignQueue(E, identity);
  const a = new AlignQueue(A, identity);
  const pair = (): void => {
    const aNo = a.taken + 1;
    const eNo = e.taken + 1;
    if (cmp.compare(e.take(), a.take(), eNo, aNo === eNo ? undefined : aNo, sink) > 0) sink.packetsDiffering++;
  };
  for (;;) {
    // Both windows are as full as the inputs allow: an empty side has ended.
    await e.fill();
    await a.fill();
    if (e.available === 0 && a.available === 0) break;
    if (e.available > 0 && a.available > 0) {
      if (e.keys[e.head] === a.keys[a.head]) {
        // Equal heads, the common case: paired without looking further (until a window runs short).
        do pair();
        while (e.available > 0 && a.available > 0 && e.keys[e.head] === a.keys[a.head] && !(e.short || a.short));
      } else {
        const n = Math.min(e.available, ALIGN_WINDOW);
        const m = Math.min(a.available, ALIGN_WINDOW);
        // Changed packets in place (the sequences meet again after s pairs) cost s; the edit
        // script's way costs max(del, ins). On a tie, or with repeated packets (where the
        // script may pair a packet with a copy of its neighbour), changed in place wins.
        const s = sameAfter(e, a, Math.min(n, m));
        let del = s;
        let ins = s;
        if (s !== 1) {
          ({ del, ins } = firstCommon(e.keys, e.head, n, a.keys, a.head, m));
          if (s > 0 && s <= Math.max(del, ins)) del = ins = s;
        }
        // In order, a deleted and an inserted packet are one changed packet; the surplus is
        // missing in ACTUAL (deleted) or extra in ACTUAL (inserted).
        const changed = Math.min(del, ins);
        for (let i = 0; i < changed; i++) pair();
        for (let i = changed; i < del; i++) unmatched(e.take(), e.taken, 'missing', cmp, sink);
        for (let i = changed; i < ins; i++) unmatched(a.take(), a.taken, 'extra', cmp, sink);
      }
    } else if (e.available > 0) {
      while (e.available > 0) unmatched(e.take(), e.taken, 'missing', cmp, sink);
    } else {
      while (a.available > 0) unmatched(a.take(), a.taken, 'extra', cmp, sink);
    }
    await sink.drain();
  }
  return { expected: e.taken, actual: a.taken };
}

/** A packet on one side only. */
function unmatched(p: Packet | null, no: number, kind: 'missing' | 'extra', cmp: PacketComparer, sink: DiffCollector, summary?: string): void {
  sink.packetsDiffering++;
  if (!sink.room) return sink.skip(1);
  const text = summary ?? (p ? cmp.summary(p) : '');
  sink.add({
    packet: no,
    kind,
    field: 'packet',
    label: 'packet',
    expected: kind === 'missing' ? text : '(none)',
    actual: kind === 'extra' ? text : '(missing)',
  });
}

/** What --unordered keeps of each EXPECTED packet. */
class ExpectedIndex {
  readonly tsSec: number[] = [];
  readonly tsFrac: number[] = [];
  readonly tsUnits: number[] = [];
  readonly iface: number[] = [];
  readonly linkType: number[] = [];
  readonly origLen: number[] = [];
  readonly capLen: number[] = [];
  readonly comments: (string[] | null)[] = [];
  /** Next EXPECTED index with the same hash (-1: none), FIFO from `first`. */
  readonly next: number[] = [];
  readonly first = new Map<number, number>();
  readonly last = new Map<number, number>();
  matched = 0;
  matchedFlags: Uint8Array = new Uint8Array(0);

  add(p: Packet, key: number, comments: string[] | null): void {
    const i = this.next.length;
    this.tsSec.push(p.tsSec);
    this.tsFrac.push(p.tsFrac);
    this.tsUnits.push(p.tsUnits);
    this.iface.push(p.iface);
    this.linkType.push(p.linkType);
    this.origLen.push(p.origLen);
    this.capLen.push(p.length);
    this.comments.push(comments);
    this.next.push(-1);
    const tail = this.last.get(key);
    if (tail === undefined) this.first.set(key, i);
    else this.next[tail] = i;
    this.last.set(key, i);
  }

  /** Take the first unmatched EXPECTED packet with this hash; -1 when there is none. */
  take(key: number): number {
    const i = this.first.get(key);
    if (i === undefined) return -1;
    const n = this.next[i]!;
    if (n < 0) {
      this.first.delete(key);
      this.last.delete(key);
    } else this.first.set(key, n);
    this.matchedFlags[i] = 1;
    this.matched++;
    return i;
  }

  meta(i: number): PacketMeta {
    return {
      tsSec: this.tsSec[i]!,
      tsFrac: this.tsFrac[i]!,
      tsUnits: this.tsUnits[i]!,
      iface: this.iface[i]!,
      linkType: this.linkType[i]!,
      origLen: this.origLen[i]!,
      length: this.capLen[i]!,
    };
  }

  get size(): number {
    return this.next.length;
  }
}

async function diffUnordered(E: OpenedSource, A: OpenedSource, cmp: PacketComparer, sink: DiffCollector) {
  const scratch = { buf: new Uint8Array(2048) };
  const keep = cmp.comparesComments;
  const index = new ExpectedIndex();
  for (let r = await E.batches.next(); !r.done; r = await E.batches.next()) {
    for (const p of r.value) index.add(p, identityOf(p, cmp, scratch), keep ? packetComments(p) : null);
  }
  index.matchedFlags = new Uint8Array(index.size);

  let aNo = 0;
  for (let r = await A.batches.next(); !r.done; r = await A.batches.next()) {
    for (const p of r.value) {
      aNo++;
      const i = index.take(identityOf(p, cmp, scratch));
      if (i < 0) {
        unmatched(p, aNo, 'extra', cmp, sink);
        continue;
      }
      const n = cmp.compareMeta(index.meta(i), p, index.comments[i] ?? null, keep ? packetComments(p) : null, i + 1, i + 1 === aNo ? undefined : aNo, sink);
      if (n > 0) sink.packetsDiffering++;
    }
    await sink.drain();
  }

  // EXPECTED packets nobody matched, in order; summaries for the listed ones need their bytes.
  const missing: number[] = [];
  for (let i = 0; i < index.size; i++) if (!index.matchedFlags[i]) missing.push(i);
  const listed = sink.max === 0 ? missing.length : Math.max(0, Math.min(missing.length, sink.max - sink.listed));
  const summaries = await summariesOf(E, new Set(missing.slice(0, listed)), cmp);
  for (let n = 0; n < missing.length; n++) {
    const i = missing[n]!;
    unmatched(null, i + 1, 'missing', cmp, sink, summaries.get(i) ?? '(not kept: EXPECTED was read once)');
    if ((n & 1023) === 1023) await sink.drain();
  }
  return { expected: index.size, actual: aNo };
}

async function summariesOf(E: OpenedSource, wanted: Set<number>, cmp: PacketComparer): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (wanted.size === 0 || !E.reopen) return out;
  const again = await E.reopen();
  let i = 0;
  try {
    for (let r = await again.batches.next(); !r.done && out.size < wanted.size; r = await again.batches.next()) {
      for (const p of r.value) {
        if (wanted.has(i)) out.set(i, cmp.summary(p));
        i++;
      }
    }
  } finally {
    await again.close();
  }
  return out;
}

/**
 * The hash of a packet's frame with the ignored fields masked. maskedFrame first: it may give
 * `scratch` a larger buffer (a frame longer than any before), which is the one to hash.
 */
function identityOf(p: Packet, cmp: PacketComparer, scratch: { buf: Uint8Array }): number {
  const n = cmp.maskedFrame(p, scratch);
  return hash53(scratch.buf, n);
}

/** 53-bit hash of b[0, n): FNV-1a and a murmur-style mix side by side. */
export function hash53(b: Uint8Array, n: number): number {
  let h1 = 0x811c9dc5 ^ n;
  let h2 = 0x9747b28c ^ n;
  for (let i = 0; i < n; i++) {
    const x = b[i]!;
    h1 = Math.imul(h1 ^ x, 0x01000193);
    h2 = Math.imul(h2 ^ x, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0x85ebca6b);
  h2 ^= h2 >>> 16;
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}

async function openSource(src: PacketSource, label: 'EXPECTED' | 'ACTUAL', opts: DiffOptions): Promise<OpenedSource> {
  if (typeof src === 'string') {
    const name = src === '-' ? '<stdin>' : src;
    const reader = await openCapture(src, { name, strict: opts.strict ?? false, onWarning: opts.onWarning ?? (() => {}) });
    const batches = reader.batches()[Symbol.asyncIterator]();
    return {
      label,
      format: reader.format,
      batches,
      reopen: src === '-' ? null : () => openSource(src, label, opts),
      close: async () => {
        await batches.return?.(undefined);
        await reader.close();
      },
    };
  }
  if (Symbol.iterator in src) {
    const it = src as Iterable<Packet>;
    const batches = batchesOf(it);
    return { label, format: null, batches, reopen: Array.isArray(it) ? () => openSource(it, label, opts) : null, close: async () => batches.return(undefined) };
  }
  const batches = batchesOfAsync(src);
  return { label, format: null, batches, reopen: null, close: async () => batches.return(undefined) };
}

async function* batchesOf(it: Iterable<Packet>): AsyncGenerator<Packet[]> {
  let batch: Packet[] = [];
  for (const p of it) {
    batch.push(p);
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

async function* batchesOfAsync(it: AsyncIterable<Packet>): AsyncGenerator<Packet[]> {
  let batch: Packet[] = [];
  for await (const p of it) {
    batch.push(p);
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
