/**
 * The synchronous core: a chain of stages over packets, with accounting. Every packet that
 * enters is either forwarded (possibly as several segments) or dropped with a reason.
 * File I/O lives in run.ts; replay and the library API drive this same class.
 */
import type { Packet } from './packet.js';
import type { PipelineConfig } from './config.js';
import type { Stage, StageContext, StageEnv } from '../stages/stage.js';
import { Egress, type PacketContext } from './egress.js';
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
}

export function newCounters(): Counters {
  return { packetsIn: 0, packetsOut: 0, forwarded: 0, dropped: 0, drops: {}, nonEthernet: 0, truncated: 0, bytesIn: 0, bytesOut: 0, trailerBytes: 0 };
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
  for (const [k, v] of Object.entries(c.drops)) into.drops[k] = (into.drops[k] ?? 0) + v;
}

export interface PipelineOptions {
  onWarning?: (message: string) => void;
}

export class Pipeline {
  readonly stages: Stage[];
  /** The NIC egress after the last stage; null for a faithful run (format conversion only). */
  readonly egress: Egress | null;
  /** Gives partial checksums of the capture back their CHECKSUM_PARTIAL state (with an egress only). */
  private readonly ingressChecksums: IngressChecksums | null;
  /** The layer record lent to the packet in flight (null when nothing reads one: a faithful copy). */
  private readonly layers: LayerRecord | null;
  readonly nic: NicProfile;
  readonly config: PipelineConfig;
  counters: Counters = newCounters();

  private readonly contexts: StageContext[];
  private readonly egressContext: PacketContext;
  /** Runs the first stage (or the egress when there is no stage). */
  private readonly enter: (p: Packet) => void;
  private out: Packet[] = [];
  private droppedNow = false;
  private readonly warned = new Map<string, { message: string; count: number }>();
  private readonly onWarning: (message: string) => void;
  private readonly linkSrc: Uint8Array | null;
  private readonly linkDst: Uint8Array | null;

  constructor(config: PipelineConfig, opts: PipelineOptions = {}) {
    this.config = config;
    this.onWarning = opts.onWarning ?? (() => {});
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
    this.ingressChecksums = this.egress ? new IngressChecksums(config.vxlanPorts) : null;
    const env: StageEnv = { nic: this.nic, view: config.view, egress: egress.view, vxlanPorts: config.vxlanPorts };
    this.stages = config.stages.map((s) => s.definition.create(s.options, env));
    this.layers = this.egress || this.stages.length > 0 ? new LayerRecord(vxlanPortTable(config.vxlanPorts)) : null;
    this.linkSrc = config.linkLayer ? parseMac(config.linkLayer.src) : null;
    this.linkDst = config.linkLayer ? parseMac(config.linkLayer.dst) : null;

    const drop = (_p: Packet, reason: string): void => {
      this.droppedNow = true;
      this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
    };
    const warnOnce = (key: string, message: string): void => this.warnOnce(key, message);
    // The egress hands its packets to the output; stage i's emit runs stage i+1, the last
    // stage's runs the egress.
    const countTrailer = (bytes: number): void => {
      this.counters.trailerBytes += bytes;
    };
    this.egressContext = { emit: (p) => void this.out.push(p), drop, countTrailer, warnOnce };
    const egressCtx = this.egressContext;
    const last: (p: Packet) => void = this.egress ? (p) => egress.process(p, egressCtx) : egressCtx.emit;
    this.enter = last;
    this.contexts = [];
    for (let i = this.stages.length - 1; i >= 0; i--) {
      const next = i + 1 < this.stages.length ? this.stages[i + 1]! : null;
      const nextCtx = this.contexts[0];
      const ctx: StageContext = { emit: next ? (p) => next.process(p, nextCtx!) : last, drop, warnOnce };
      this.contexts.unshift(ctx);
    }
    if (this.stages.length > 0) {
      const first = this.stages[0]!;
      const firstCtx = this.contexts[0]!;
      this.enter = (p) => first.process(p, firstCtx);
    }
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

  /** Run one input packet through every stage; returns the packets that leave (0..n), in `out`. */
  process(pkt: Packet, out: Packet[]): void {
    const c = this.counters;
    c.packetsIn++;
    c.bytesIn += pkt.length;
    if (pkt.truncated) c.truncated++;
    restoreMetadata(pkt);
    this.out = out;
    const before = out.length;

    if (pkt.linkType !== LINKTYPE.ETHERNET) {
      if (!this.linkSrc || !convertToEthernet(pkt, this.linkSrc, this.linkDst!)) {
        c.nonEthernet++;
        c.forwarded++;
        out.push(pkt);
        this.countOut(out, before);
        return;
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
    this.ingressChecksums?.classify(pkt);
    this.droppedNow = false;
    this.enter(pkt);
    pkt.layers = null;
    this.dropTooLarge(out, before);
    // Forwarded when anything of it left (one packet may leave as several segments); else it was dropped.
    if (out.length > before) c.forwarded++;
    else {
      if (!this.droppedNow) {
        // A stage neither emitted nor dropped: never lose a packet silently.
        c.drops['stage-swallowed'] = (c.drops['stage-swallowed'] ?? 0) + 1;
      }
      c.dropped++;
    }
    this.countOut(out, before);
  }

  /** End of an input: let stages that hold packets back release them. */
  flush(out: Packet[]): void {
    this.out = out;
    const before = out.length;
    this.stages.forEach((s, i) => s.flush?.(this.contexts[i]!));
    this.dropTooLarge(out, before);
    this.countOut(out, before);
  }

  /** Take the counters gathered so far and start new ones (per input). */
  takeCounters(): Counters {
    const c = this.counters;
    this.counters = newCounters();
    return c;
  }

  /**
   * Drop frames a capture cannot hold: readers refuse records above MAX_CAPLEN (capflow's own,
   * and Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD for Ethernet), so writing one would make the
   * whole output unreadable. A stage can grow a frame past it (mpls-push on a 262144-byte frame).
   */
  private dropTooLarge(out: Packet[], from: number): void {
    let w = from;
    for (let i = from; i < out.length; i++) {
      const p = out[i]!;
      if (p.tail - p.head > MAX_CAPLEN) {
        this.droppedNow = true;
        this.counters.drops['record-too-large'] = (this.counters.drops['record-too-large'] ?? 0) + 1;
        this.warnOnce('record-too-large', `a ${p.tail - p.head}-byte frame exceeds the ${MAX_CAPLEN}-byte record limit of capture readers: dropped (record-too-large)`);
        continue;
      }
      out[w++] = p;
    }
    out.length = w;
  }

  private countOut(out: Packet[], from: number): void {
    this.counters.packetsOut += out.length - from;
    for (let i = from; i < out.length; i++) this.counters.bytesOut += out[i]!.length;
  }
}
