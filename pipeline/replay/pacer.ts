/**
 * The pacer: hands packets to a destination when they are due, without a timer per packet.
 *
 * Packets come in batches (one per input chunk, after the pipeline). For each packet the
 * schedule gives its due time; everything already due goes into the destination's batch; the
 * first packet that is not yet due makes the pacer flush the batch and sleep once until that
 * time. At high rates one wake sends every packet whose time has passed (about one timer
 * granularity's worth), so pacing holds at a million packets per second; due times are
 * absolute, so a late wake never shifts the rest of the schedule (no drift).
 *
 * The clock is injected: tests drive it with a VirtualClock and check the schedule exactly.
 */
import type { Packet } from '../packet.js';
import type { Clock } from './clock.js';
import type { Destination } from './destination.js';
import { rateUnit, rateValue, type RateSpec } from './rate.js';
import type { Schedule } from './schedule.js';

export interface PacerOptions {
  clock: Clock;
  schedule: Schedule;
  destination: Destination;
  /** Stop after this many packets (0/undefined: no limit). */
  limit?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface RateReport {
  requested: { mode: RateSpec['kind']; value: number | null; unit: string; linkSpeedBps: number | null };
  /** In the requested unit (speed multiplier, pps, Mbps); null for topspeed or a zero-length run. */
  achieved: { value: number | null; pps: number | null; mbps: number | null };
  packets: number;
  bytes: number;
  /** How long the schedule says the replay takes, and how long it took (ms). */
  scheduledMs: number;
  actualMs: number;
  /** How late packets went out compared to their due time (ms). */
  late: { maxMs: number; meanMs: number };
  /** True when the destination is a file: times are computed, nothing waited. */
  virtualTime: boolean;
}

export class Pacer {
  /** Packets handed to the destination. */
  packets = 0;
  bytes = 0;
  private t0 = 0;
  private now = 0;
  private started = false;
  private lateMax = 0;
  private lateSum = 0;
  private readonly limit: number;
  private readonly clock: Clock;
  private readonly schedule: Schedule;
  private readonly dest: Destination;
  private readonly signal: AbortSignal | undefined;

  constructor(o: PacerOptions) {
    this.clock = o.clock;
    this.schedule = o.schedule;
    this.dest = o.destination;
    this.limit = o.limit && o.limit > 0 ? o.limit : Infinity;
    this.signal = o.signal;
  }

  /** True once `limit` packets were sent or the signal fired. */
  get done(): boolean {
    return this.packets >= this.limit || this.signal?.aborted === true;
  }

  /** Fix schedule time 0 to the clock's now (called by the first emit if not before). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.t0 = this.now = this.clock.now();
    this.dest.begin(this.clock.wallMs());
  }

  /**
   * Send `pkts` (in order) as they come due. Resolves when all were handed over and flushed,
   * or early when the limit is reached or the signal fires.
   */
  async emit(pkts: readonly Packet[]): Promise<void> {
    if (!this.started) this.start();
    const dest = this.dest;
    const clock = this.clock;
    for (let i = 0; i < pkts.length; i++) {
      if (this.done) break;
      const pkt = pkts[i]!;
      const due = this.t0 + this.schedule.next(pkt);
      if (due > this.now) {
        this.now = clock.now();
        if (due > this.now) {
          // Not due yet: push out what is buffered (a live reader sees it now), then one sleep.
          if (!dest.virtualTime && dest.pending > 0) {
            await dest.flush();
            this.now = clock.now();
          }
          while (due > this.now) {
            if (this.signal?.aborted) return;
            await clock.sleep(due - this.now, this.signal);
            this.now = clock.now();
          }
        }
      }
      const late = this.now - due;
      if (late > this.lateMax) this.lateMax = late;
      this.lateSum += late;
      this.packets++;
      this.bytes += pkt.tail - pkt.head;
      if (!dest.add(pkt, this.now - this.t0)) {
        await dest.flush();
        this.now = clock.now();
      }
    }
    if (dest.pending > 0 && !dest.virtualTime) {
      await dest.flush();
      this.now = clock.now();
    }
  }

  /** A new loop of the input begins, `gapMs` after the end of the previous one. */
  nextLoop(gapMs: number): void {
    this.schedule.nextLoop(gapMs);
  }

  /**
   * Flush, and wait until the end of the last packet's slot (rate modes), so the achieved
   * rate is measured over the same span the schedule covers. Returns the rate report.
   */
  async finish(): Promise<RateReport> {
    if (!this.started) this.start();
    if (this.dest.pending > 0) await this.dest.flush();
    const end = this.t0 + this.schedule.end;
    this.now = this.clock.now();
    while (end > this.now && !this.signal?.aborted && this.packets > 0) {
      await this.clock.sleep(end - this.now, this.signal);
      this.now = this.clock.now();
    }
    return this.report();
  }

  /** The report so far (also valid after an interruption). */
  report(): RateReport {
    const rate = this.schedule.rate;
    const actualMs = this.now - this.t0;
    const scheduledMs = this.schedule.end;
    const secs = actualMs / 1000;
    const pps = secs > 0 ? this.packets / secs : null;
    const mbps = secs > 0 ? (this.bytes * 8) / secs / 1e6 : null;
    let value: number | null = null;
    switch (rate.kind) {
      case 'speed':
        value = actualMs > 0 && scheduledMs > 0 ? (rate.speed * scheduledMs) / actualMs : null;
        break;
      case 'pps':
        value = pps;
        break;
      case 'mbps':
        value = mbps;
        break;
      case 'topspeed':
        value = null;
        break;
    }
    return {
      requested: { mode: rate.kind, value: rateValue(rate), unit: rateUnit(rate), linkSpeedBps: this.schedule.linkBps || null },
      achieved: { value, pps, mbps },
      packets: this.packets,
      bytes: this.bytes,
      scheduledMs,
      actualMs,
      late: { maxMs: this.lateMax, meanMs: this.packets ? this.lateSum / this.packets : 0 },
      virtualTime: this.dest.virtualTime,
    };
  }
}
