/**
 * Where replayed packets go. The pacer hands packets over with `add()` (synchronous, buffered)
 * when they are due and calls `flush()` once per batch (before it sleeps, and every
 * `maxBatch` packets), so a live stream is readable while it plays and an interface gets one
 * sendmmsg per batch.
 */
import type { Packet } from '../packet.js';
import type { CaptureInterface } from '../pcap/capture-interface.js';

export type DestinationKind = 'stream' | 'file' | 'iface' | 'memory';

export interface DestinationStats {
  /** Packets handed to the destination and accepted (written, or sent by the kernel). */
  packets: number;
  bytes: number;
  /** Packets the destination could not take, by stable reason (e.g. `send-emsgsize`). */
  errors: Record<string, number>;
}

export interface Destination {
  readonly kind: DestinationKind;
  /** For messages: "-", the path, "iface:eth0". */
  readonly name: string;
  /** True for plain files: nothing waits; the schedule becomes the timestamps. */
  readonly virtualTime: boolean;
  /** Most packets to buffer before a flush. */
  readonly maxBatch: number;
  /** Packets added since the last flush. */
  readonly pending: number;
  readonly stats: DestinationStats;
  /** Called once before the first packet: the epoch time (ms) of schedule time 0. */
  begin(wallMsAtZero: number): void;
  /** The interfaces of the input being read (pcapng IDBs), for the output's interface descriptions. */
  setInputInterfaces(ifaces: readonly CaptureInterface[]): void;
  /**
   * Take one packet, sent at `sendMs` (ms from schedule time 0). Returns false when the
   * destination wants a flush before more packets (backpressure or a full batch).
   */
  add(pkt: Packet, sendMs: number): boolean;
  /** Push buffered packets out; resolves when the destination can take more. */
  flush(): Promise<void>;
  /** Finish (files: rename onto the target). */
  close(): Promise<void>;
  /** Give up (files: remove the temporary file). */
  abort(): Promise<void>;
}

export function newDestinationStats(): DestinationStats {
  return { packets: 0, bytes: 0, errors: {} };
}

/** A destination that remembers what it got and when: for tests and library users. */
export class MemoryDestination implements Destination {
  readonly kind = 'memory';
  readonly name: string;
  readonly virtualTime: boolean;
  readonly maxBatch: number;
  readonly stats = newDestinationStats();
  /** Every packet with its send time (ms from schedule time 0). */
  readonly sent: Array<{ sendMs: number; len: number; pkt: Packet }> = [];
  /** Flushes and how many packets each carried. */
  readonly batches: number[] = [];
  pending = 0;
  wallMsAtZero = 0;
  closed = false;
  /** Called for every flush, e.g. to charge time to a fake clock. */
  onFlush: ((count: number) => void) | null = null;

  constructor(o: { name?: string; virtualTime?: boolean; maxBatch?: number; keepPackets?: boolean } = {}) {
    this.name = o.name ?? '<memory>';
    this.virtualTime = o.virtualTime ?? false;
    this.maxBatch = o.maxBatch ?? 1024;
    this.keep = o.keepPackets ?? true;
  }

  private readonly keep: boolean;

  begin(wallMsAtZero: number): void {
    this.wallMsAtZero = wallMsAtZero;
  }

  setInputInterfaces(): void {}

  add(pkt: Packet, sendMs: number): boolean {
    const len = pkt.tail - pkt.head;
    if (this.keep) this.sent.push({ sendMs, len, pkt });
    else this.sent.push({ sendMs, len, pkt: null as unknown as Packet });
    this.stats.packets++;
    this.stats.bytes += len;
    this.pending++;
    return this.pending < this.maxBatch;
  }

  async flush(): Promise<void> {
    if (this.pending === 0) return;
    this.batches.push(this.pending);
    this.onFlush?.(this.pending);
    this.pending = 0;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  async abort(): Promise<void> {
    this.closed = true;
  }
}
