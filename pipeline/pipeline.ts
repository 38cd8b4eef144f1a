/**
 * The synchronous core: a chain of stages over packets, with accounting. Every packet that
 * enters is either forwarded (possibly as several segments) or dropped with a reason.
 * File I/O lives in run.ts; replay and the library API drive this same class.
 */
import type { Packet } from './packet.js';
import type { PipelineConfig } from './config.js';
import type { Stage, StageContext, StageEnv } from '../stages/stage.js';
import { Egress } from './egress.js';
import { IngressChecksums } from './checksum-state.js';
import { loadProfile } from './nic/profile.js';
import type { NicProfile } from './nic/profile.js';
import { ConfigError } from './config-error.js';
import { LINKTYPE } from './pcap/link-type.js';
import { convertToEthernet } from './link-layer.js';
import { parseMac } from './wire/mac-address.js';
import { restoreMetadata } from './comments.js';
import { MAX_CAPLEN } from './pcap/capture-interface.js';
import { LayerRecord, vxlanPortTable } from './layer-record.js';
import type { DropReason } from './drop-reasons.js';
import { PacketSlab } from './packet-slab.js';
import { TunnelInfoPool } from './metadata.js';
import { PacketPool } from './pcap/packet-pool.js';

/**
 * What one stage (or the egress) did with the packets it was given. `in = passed + dropped`:
 * every packet handed to it was passed on (at least one packet left for it) or dropped with a
 * reason. `out` counts the packets it emitted: more than `passed` where one packet leaves as
 * several (the egress's segments and fragments).
 */
export interface StageCounters {
  name: string;
  in: number;
  passed: number;
  out: number;
  dropped: number;
  drops: Record<string, number>;
}

function newStageCounters(name: string): StageCounters {
  return { name, in: 0, passed: 0, out: 0, dropped: 0, drops: {} };
}

export interface Counters {
  packetsIn: number;
  packetsOut: number;
  forwarded: number;
  dropped: number;
  drops: Record<string, number>;
  /** Packets of a link type stages can't handle, passed through untouched. */
  nonEthernet: number;
  /** Packets whose capture was shorter than the frame (snaplen). */
  truncated: number;
  bytesIn: number;
  bytesOut: number;
  /** Bytes after IP datagrams (Ethernet padding, trailers) cut before segmenting or fragmenting. */
  trailerBytes: number;
  /**
   * Packets with a checksum that is neither complete, partial nor absent (IPv4 header, TCP/UDP,
   * outer and inside VXLAN): forwarded unchanged, as the kernel forwards them. Counted only when
   * asked (PipelineOptions.countBadChecksums) and the pipeline has an egress.
   */
  badChecksums: number;
  /** Per stage, in pipeline order, the egress last (none in a plain copy). */
  stages: StageCounters[];
}

export function newCounters(): Counters {
  return { packetsIn: 0, packetsOut: 0, forwarded: 0, dropped: 0, drops: {}, nonEthernet: 0, truncated: 0, bytesIn: 0, bytesOut: 0, trailerBytes: 0, badChecksums: 0, stages: [] };
}

/** Add stage counters `from` into `into` stage by stage (the same pipeline). */
export function addStageCounters(into: StageCounters[], from: readonly StageCounters[]): void {
  for (let i = 0; i < from.length; i++) {
    const f = from[i]!;
    const t = (into[i] ??= newStageCounters(f.name));
    t.in += f.in;
    t.passed += f.passed;
    t.out += f.out;
    t.dropped += f.dropped;
    for (const [k, v] of Object.entries(f.drops)) t.drops[k] = (t.drops[k] ?? 0) + v;
  }
}

export function addCounters(into: Counters, c: Counters): void {
  into.packetsIn += c.packetsIn;
  into.packetsOut += c.packetsOut;
  into.forwarded += c.forwarded;
  into.dropped += c.dropped;
  into.nonEthernet += c.nonEthernet;
  into.truncated += c.truncated;
  into.bytesIn += c.bytesIn;
  into.bytesOut += c.bytesOut;
  into.trailerBytes += c.trailerBytes;
  into.badChecksums += c.badChecksums;
  for (const [k, v] of Object.entries(c.drops)) into.drops[k] = (into.drops[k] ?? 0) + v;
  addStageCounters(into.stages, c.stages);
}

/**
 * A run whose counters do not add up: a capflow bug (a stage that lost a packet), never a
 * silent wrong summary.
 */
export class AccountingError extends Error {
  override readonly name = 'AccountingError';
}

/**
 * Check that every packet is accounted for: `packetsIn = forwarded + dropped`, and for every
 * stage and the egress `in = passed + dropped`. Throws an AccountingError naming the stage that
 * lost packets (or the totals that do not add up).
 */
export function checkAccounting(c: Counters): void {
  for (const s of c.stages) {
    if (s.in !== s.passed + s.dropped) {
      const lost = s.in - s.passed - s.dropped;
      throw new AccountingError(
        `internal error: stage ${s.name} ${lost > 0 ? `lost ${lost}` : `accounted for ${-lost} more`} packet${Math.abs(lost) === 1 ? '' : 's'} ` +
          `(${s.in} in, ${s.passed} passed on, ${s.dropped} dropped): a capflow bug, please report it`,
      );
    }
  }
  if (c.packetsIn !== c.forwarded + c.dropped) {
    throw new AccountingError(
      `internal error: ${c.packetsIn} packets in but ${c.forwarded} forwarded + ${c.dropped} dropped: a capflow bug, please report it`,
    );
  }
}

export interface PipelineOptions {
  onWarning?: (message: string) => void;
  /**
   * Tell bad checksums from complete ones at ingress and count them (`badChecksums`). It sums
   * every TCP/UDP packet once, so it is asked for; with an egress only (a plain copy reads no
   * checksum).
   */
  countBadChecksums?: boolean;
  /**
   * Buffers the stages and the egress make for packets (a push beyond the headroom, segments)
   * come from the pipeline's own slabs, and the metadata stages attach (vxlan-decap) from its own
   * pool, both reused after each `recycleBuffers()` call. Only for a
   * caller that writes (copies out) or drops every packet `process` hands it before that call,
   * like the run loop; packets kept past it would be overwritten.
   */
  recycleBuffers?: boolean;
}

export class Pipeline {
  readonly stages: Stage[];
  /** The NIC egress after the last stage; null for a faithful run (format conversion only). */
  readonly egress: Egress | null;
  /** Gives partial checksums of the capture back their CHECKSUM_PARTIAL state (with an egress only). */
  private readonly ingressChecksums: IngressChecksums | null;
  /** The layer record lent to the packet in flight (null when nothing reads one: a faithful copy). */
  private readonly layers: LayerRecord | null;
  /** Where packets in flight get new buffers from (PipelineOptions.recycleBuffers), else null: the shared slab. */
  private readonly arena: PacketSlab | null;
  /** Where stages get metadata for packets in flight (PipelineOptions.recycleBuffers), else null. */
  private readonly tunnelInfos: TunnelInfoPool | null;
  readonly nic: NicProfile;
  readonly config: PipelineConfig;
  /**
   * The packets the readers of this pipeline's runs hand out (ReadOptions.packetPool): one set
   * for every input of a run, and of every file of a batch job (Pipeline.reset).
   */
  readonly readerPackets = new PacketPool();
  counters: Counters = newCounters();

  /** Each stage's context (its link), for flush. */
  private readonly contexts: StageContext[];
  /** The stages' counters then the egress's, bumped in place; takeCounters() copies them out. */
  private readonly stageCounters: StageCounters[];
  /** The first stage's link (or the egress's when there is no stage); null: straight to the output. */
  private readonly first: StageLink | null;
  /** Where the packet in flight leaves: out[end++] (by index, see processInto). */
  private readonly outlet = new Outlet();
  private droppedNow = false;
  private readonly warned = new Map<string, { message: string; count: number }>();
  private onWarning: (message: string) => void;
  /** Built with PipelineOptions.recycleBuffers and countBadChecksums (what a run may reuse it for). */
  readonly recycles: boolean;
  readonly countsBadChecksums: boolean;
  private readonly linkSrc: Uint8Array | null;
  private readonly linkDst: Uint8Array | null;

  constructor(config: PipelineConfig, opts: PipelineOptions = {}) {
    this.config = config;
    this.onWarning = opts.onWarning ?? (() => {});
    this.recycles = opts.recycleBuffers === true;
    this.countsBadChecksums = opts.countBadChecksums ?? false;
    try {
      this.nic = loadProfile(config.nic);
    } catch (e) {
      // The profile's own message names the profile file; say where that name was given.
      if (e instanceof ConfigError) throw e;
      const where = config.nicSource ?? '--nic';
      throw new ConfigError(`${where}: ${(e as Error).message.replace(': (document): ', ': ')}`);
    }
    const egress = new Egress(config.egress, { nic: this.nic, view: config.view, vxlanPorts: config.vxlanPorts });
    this.egress = config.faithful ? null : egress;
    this.ingressChecksums = this.egress ? new IngressChecksums(config.vxlanPorts, opts.countBadChecksums ?? false) : null;
    this.tunnelInfos = opts.recycleBuffers === true ? new TunnelInfoPool() : null;
    const env: StageEnv = { nic: this.nic, view: config.view, egress: egress.view, vxlanPorts: config.vxlanPorts };
    if (this.tunnelInfos) env.tunnelInfos = this.tunnelInfos;
    this.stages = config.stages.map((s) => s.definition.create(s.options, env));
    this.layers = this.egress || this.stages.length > 0 ? new LayerRecord(vxlanPortTable(config.vxlanPorts)) : null;
    this.arena = opts.recycleBuffers === true ? new PacketSlab(true) : null;
    this.linkSrc = config.linkLayer ? parseMac(config.linkLayer.src) : null;
    this.linkDst = config.linkLayer ? parseMac(config.linkLayer.dst) : null;

    // Per-stage counters: plain number fields bumped per packet, no allocation. Stage i's emit
    // counts its `out` and runs stage i+1 (the last stage's runs the egress, the egress's hands
    // the packet to the output); its drop counts the reason for the stage and for the run.
    const names = this.stages.map((s) => s.name);
    if (this.egress) names.push(this.egress.name);
    this.stageCounters = names.map(newStageCounters);
    const hooks: LinkHooks = {
      dropped: (sc, reason) => {
        this.droppedNow = true;
        sc.dropped++;
        sc.drops[reason] = (sc.drops[reason] ?? 0) + 1;
        const d = this.counters.drops;
        d[reason] = (d[reason] ?? 0) + 1;
      },
      warnOnce: (key, message) => this.warnOnce(key, message),
      countTrailer: (bytes) => {
        this.counters.trailerBytes += bytes;
      },
    };
    let next: StageLink | null = this.egress ? new StageLink(this.outlet, hooks, this.egress, this.stageCounters[this.stages.length]!, null) : null;
    const links: StageLink[] = [];
    for (let i = this.stages.length - 1; i >= 0; i--) {
      next = new StageLink(this.outlet, hooks, this.stages[i]!, this.stageCounters[i]!, next);
      links.unshift(next);
    }
    this.contexts = links;
    this.first = next;
  }

  /**
   * Make the pipeline as it was built, for another run (a batch job's next file): no counts, no
   * warnings, the buffers and metadata of packets in flight reused, and what the stages and the
   * egress learnt from packets forgotten (flows and handshakes, IPv4 ID counters). The run is
   * then the same as with a new pipeline, and V8 keeps the code it optimized for this one (a new
   * pipeline's stage functions are new closures, and V8 compiled the hot ones again for the second
   * file: ten files of re-origination made 88-92 TurboFan compilations with a pipeline each, 71-74
   * with this one, 54 for one file alone). False when a stage has no `reset`: build a new pipeline
   * instead.
   */
  reset(onWarning?: (message: string) => void): boolean {
    if (this.stages.some((s) => !s.reset)) return false;
    for (const s of this.stages) s.reset!();
    this.egress?.reset();
    if (this.ingressChecksums) this.ingressChecksums.partial = 0;
    this.takeCounters();
    this.warned.clear();
    this.droppedNow = false;
    this.outlet.out = [];
    this.outlet.end = 0;
    this.recycleBuffers();
    if (onWarning) this.onWarning = onWarning;
    return true;
  }

  /**
   * Count a packet a stage warns about. The warning is printed once per input, with the count,
   * by reportWarnings(); `message` reads after "N packets" ("without tunnel metadata passed
   * through unencapsulated (vxlan-encap)").
   */
  warnOnce(key: string, message: string): void {
    const w = this.warned.get(key);
    if (w) w.count++;
    else this.warned.set(key, { message, count: 1 });
  }

  /** Print the warnings counted since the last call, naming `file`, and start counting anew. */
  reportWarnings(file: string): void {
    for (const { message, count } of this.warned.values()) {
      this.onWarning(`${file}: ${count} packet${count === 1 ? '' : 's'} ${message}`);
    }
    this.warned.clear();
  }

  /** Run one input packet through every stage; the packets that leave (0..n) are appended to `out`. */
  process(pkt: Packet, out: Packet[]): void {
    const end = this.processInto(pkt, out, out.length);
    if (out.length !== end) out.length = end;
  }

  /**
   * `process`, the packets that leave written to out[at], out[at + 1]... (at <= out.length); returns
   * the index after the last. Entries past it are not the packet's. For a caller that reuses one
   * list without emptying it (`length = 0` makes V8 drop the array's store and grow it anew).
   */
  processInto(pkt: Packet, out: Packet[], at: number): number {
    const c = this.counters;
    c.packetsIn++;
    c.bytesIn += pkt.length;
    if (pkt.truncated) c.truncated++;
    restoreMetadata(pkt);
    const outlet = this.outlet;
    outlet.out = out;
    outlet.end = at;
    const before = at;

    if (pkt.linkType !== LINKTYPE.ETHERNET) {
      if (!this.linkSrc || !convertToEthernet(pkt, this.linkSrc, this.linkDst!)) {
        c.nonEthernet++;
        c.forwarded++;
        out[outlet.end++] = pkt;
        this.countOut(out, before, outlet.end);
        return outlet.end;
      }
    }
    pkt.macOff = pkt.head;
    pkt.ingressLen = pkt.origLen;
    // The one decode: every stage and the egress read this record. It is lent to the packet
    // only while it goes through (no allocation per packet).
    if (this.layers) {
      pkt.layers = this.layers;
      this.layers.decode(pkt);
    }
    if (this.ingressChecksums?.classify(pkt)) c.badChecksums++;
    this.droppedNow = false;
    pkt.arena = this.arena;
    if (this.first !== null) this.first.enter(pkt);
    else outlet.out[outlet.end++] = pkt;
    pkt.layers = null;
    pkt.arena = null;
    const end = this.dropTooLarge(out, before, outlet.end);
    // Forwarded when anything of it left (one packet may leave as several segments); else it was dropped.
    // A packet a stage neither emitted nor dropped is counted nowhere: checkAccounting() names
    // the stage that lost it.
    if (end > before) c.forwarded++;
    else if (this.droppedNow) c.dropped++;
    this.countOut(out, before, end);
    return end;
  }

  /** End of an input: let stages that hold packets back release them. */
  flush(out: Packet[]): void {
    this.outlet.out = out;
    const before = out.length;
    this.outlet.end = before;
    this.stages.forEach((s, i) => {
      if (!s.flush) return;
      // A packet held back and released now was passed on.
      const sc = this.stageCounters[i]!;
      const o = sc.out;
      s.flush(this.contexts[i]!);
      sc.passed += sc.out - o;
    });
    const end = this.dropTooLarge(out, before, this.outlet.end);
    if (out.length !== end) out.length = end;
    this.countOut(out, before, end);
  }

  /**
   * Every packet this pipeline handed out so far was written or dropped: its buffers and
   * metadata may be reused (only with PipelineOptions.recycleBuffers; else nothing to do).
   */
  recycleBuffers(): void {
    this.arena?.recycle();
    this.tunnelInfos?.recycle();
  }

  /** Take the counters gathered so far and start new ones (per input). */
  takeCounters(): Counters {
    const c = this.counters;
    this.counters = newCounters();
    c.stages = this.stageCounters.map((s) => ({ ...s, drops: { ...s.drops } }));
    for (const s of this.stageCounters) {
      s.in = s.passed = s.out = s.dropped = 0;
      s.drops = {};
    }
    return c;
  }

  /**
   * Drop frames a capture cannot hold: readers refuse records above MAX_CAPLEN (capflow's own,
   * and Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD for Ethernet), so writing one would make the
   * whole output unreadable. A stage can grow a frame past it (mpls-push on a 262144-byte frame).
   */
  private dropTooLarge(out: Packet[], from: number, end: number): number {
    let i = from;
    while (i < end && out[i]!.tail - out[i]!.head <= MAX_CAPLEN) i++;
    // The usual case: nothing to drop, the list untouched.
    if (i === end) return end;
    let w = from;
    for (let i = from; i < end; i++) {
      const p = out[i]!;
      if (p.tail - p.head > MAX_CAPLEN) {
        this.droppedNow = true;
        const reason: DropReason = 'record-too-large';
        this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
        this.warnOnce('record-too-large', `a ${p.tail - p.head}-byte frame exceeds the ${MAX_CAPLEN}-byte record limit of capture readers: dropped (record-too-large)`);
        continue;
      }
      out[w++] = p;
    }
    return w;
  }

  private countOut(out: Packet[], from: number, end: number): void {
    this.counters.packetsOut += end - from;
    for (let i = from; i < end; i++) this.counters.bytesOut += out[i]!.length;
  }
}

/** Where the packets leaving the pipeline go: out[end++], the list processInto was given. */
class Outlet {
  out: Packet[] = [];
  end = 0;
}

/** What a link reports to its pipeline (per drop, per warning, per trailer: not per packet passed on). */
interface LinkHooks {
  dropped(sc: StageCounters, reason: DropReason): void;
  warnOnce(key: string, message: string): void;
  countTrailer(bytes: number): void;
}

/**
 * A stage's (or the egress's) place in the pipeline and the context it is given: `emit` counts the
 * packet and runs the next link (the last link's hands it to the outlet); `enter` runs the stage.
 * One class for every link, so a stage's `ctx.emit` and the next link's `enter` each have one call
 * target, which V8 compiles inline; a pair of closures per stage made every hop a generic call.
 */
class StageLink implements StageContext {
  constructor(
    private readonly outlet: Outlet,
    private readonly hooks: LinkHooks,
    private readonly stage: { process(pkt: Packet, ctx: StageContext): void },
    private readonly counters: StageCounters,
    private readonly next: StageLink | null,
  ) {}

  /** Run the stage on `p`; it passed the packet on when it emitted anything. */
  enter(p: Packet): void {
    const sc = this.counters;
    sc.in++;
    const before = sc.out;
    this.stage.process(p, this);
    if (sc.out !== before) sc.passed++;
  }

  emit(p: Packet): void {
    this.counters.out++;
    if (this.next !== null) this.next.enter(p);
    else {
      const o = this.outlet;
      o.out[o.end++] = p;
    }
  }

  drop(_p: Packet, reason: DropReason): void {
    this.hooks.dropped(this.counters, reason);
  }

  countTrailer(bytes: number): void {
    this.hooks.countTrailer(bytes);
  }

  warnOnce(key: string, message: string): void {
    this.hooks.warnOnce(key, message);
  }
}
