/**
 * Capture destinations: a live pcap/pcapng stream (stdout, a FIFO, a character device) or a
 * regular file.
 *
 * Timestamps: a replayed packet gets the time it was sent, as a capture of the replay would
 * show it. On a live stream that is the wall-clock time of the write (one time per batch);
 * in a file, where nothing waits, it is the scheduled time, counted from the first packet's
 * original timestamp (so `--speed 1` to a file keeps the input's times and `--link-speed`
 * spaces back-to-back segments by their serialization time).
 */
import type { Packet } from '../packet.js';
import type { CaptureInterface } from '../pcap/capture-interface.js';
import type { CaptureWriter } from '../pcap/writer.js';
import { writerComments, hasMetadata } from '../comments.js';
import { newDestinationStats, type Destination } from './destination.js';

export interface CaptureDestinationOptions {
  kind: 'stream' | 'file';
  name: string;
  writer: CaptureWriter;
  format: 'pcap' | 'pcapng';
  /** Timestamp resolution of the output interfaces (1e6 or 1e9). */
  tsUnits: number;
  onWarning?: (key: string, message: string) => void;
}

const NS_PER_S = 1_000_000_000;

export class CaptureDestination implements Destination {
  readonly kind: 'stream' | 'file';
  readonly name: string;
  readonly virtualTime: boolean;
  readonly maxBatch: number;
  readonly stats = newDestinationStats();
  pending = 0;
  private readonly writer: CaptureWriter;
  private inputIfaces: readonly CaptureInterface[] = [];
  private readonly ifaceMap = new Map<string, number>();
  /** Time of schedule zero: whole seconds and nanoseconds. */
  private zeroSec = 0;
  private zeroNs = 0;
  private haveZero = false;
  private readonly warn: (key: string, message: string) => void;

  constructor(private readonly o: CaptureDestinationOptions) {
    this.kind = o.kind;
    this.name = o.name;
    this.writer = o.writer;
    this.virtualTime = o.kind === 'file';
    this.maxBatch = o.kind === 'file' ? 1 << 16 : 1024;
    this.warn = o.onWarning ?? (() => {});
  }

  begin(wallMsAtZero: number): void {
    if (this.virtualTime) return; // files: zero is the first packet's own timestamp
    const sec = Math.floor(wallMsAtZero / 1000);
    this.zeroSec = sec;
    this.zeroNs = Math.round((wallMsAtZero - sec * 1000) * 1e6);
    this.haveZero = true;
  }

  setInputInterfaces(ifaces: readonly CaptureInterface[]): void {
    this.inputIfaces = ifaces;
  }

  add(pkt: Packet, sendMs: number): boolean {
    const sendNs = Math.round(sendMs * 1e6);
    if (!this.haveZero) {
      // First packet of a file: it is sent at its own capture time.
      this.haveZero = true;
      const ns = Math.round((pkt.tsFrac * NS_PER_S) / pkt.tsUnits) - sendNs;
      const carry = Math.floor(ns / NS_PER_S);
      this.zeroSec = pkt.tsSec + carry;
      this.zeroNs = ns - carry * NS_PER_S;
    }
    const ns = this.zeroNs + sendNs;
    const carry = Math.floor(ns / NS_PER_S);
    pkt.tsSec = this.zeroSec + carry;
    pkt.tsFrac = ns - carry * NS_PER_S;
    pkt.tsUnits = NS_PER_S;

    if (this.o.format === 'pcap' && hasMetadata(pkt)) {
      this.warn('pcap-metadata', 'warning: pcap output cannot carry per-packet metadata (tunnel info, GSO notes); write .pcapng to keep it');
    }
    const ok = this.writer.write(pkt, this.outIface(pkt), this.o.format === 'pcapng' ? writerComments(pkt) : null);
    this.stats.packets++;
    this.stats.bytes += pkt.tail - pkt.head;
    this.pending++;
    return ok && this.pending < this.maxBatch;
  }

  async flush(): Promise<void> {
    this.pending = 0;
    await this.writer.flush();
  }

  async close(): Promise<void> {
    this.pending = 0;
    await this.writer.close();
  }

  async abort(): Promise<void> {
    this.pending = 0;
    await this.writer.abort();
  }

  private outIface(pkt: Packet): number {
    const key = `${pkt.iface}/${pkt.linkType}`;
    const known = this.ifaceMap.get(key);
    if (known !== undefined) return known;
    const src = this.inputIfaces[pkt.iface];
    const desc: CaptureInterface = {
      linkType: pkt.linkType,
      snapLen: Math.max(src?.snapLen ?? 0, 262144),
      tsUnits: this.o.tsUnits,
    };
    if (src?.name !== undefined) desc.name = src.name;
    if (src?.description !== undefined) desc.description = src.description;
    const id = this.writer.addInterface(desc);
    this.ifaceMap.set(key, id);
    return id;
  }
}
