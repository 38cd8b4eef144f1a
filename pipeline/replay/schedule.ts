/**
 * The replay schedule: when each outgoing packet is due, in milliseconds from the start of the
 * replay. Pure computation (no clock), so it is shared by live destinations (the pacer sleeps
 * until each due time) and files (the due time becomes the packet's timestamp).
 *
 * - speed X: the packet's capture time relative to the loop's first packet, divided by X.
 * - pps N: one packet every 1/N s. mbps N: each packet occupies len*8 / (N*10^6) s.
 * - topspeed: everything is due at once.
 * - link speed R (any mode): a packet cannot start before the previous one has left the link,
 *   len*8/R after it started; back-to-back segments of one super-packet are spaced that way.
 *
 * Due times never go backwards (captures with out-of-order timestamps send the late packet at
 * once, as tcpreplay does). Loops follow each other, `gapMs` apart.
 */
import type { Packet } from '../packet.js';
import type { RateSpec } from './rate.js';

export interface ScheduleOptions {
  rate: RateSpec;
  /** Link speed in bits per second; 0 or undefined: no serialization delay. */
  linkBps?: number | undefined;
}

export class Schedule {
  readonly rate: RateSpec;
  readonly linkBps: number;
  /** Scheduled end of everything so far: the last due time, or the end of its rate slot / serialization. */
  end = 0;
  /** Due time of the last packet. */
  lastDue = 0;
  private loopBase = 0;
  private tsBaseSec = 0;
  private tsBaseMs = 0;
  private haveTsBase = false;
  private nextSlot = 0;
  private linkFree = 0;
  private readonly msPerPacket: number;
  private readonly msPerBit: number;
  private readonly linkMsPerBit: number;

  constructor(o: ScheduleOptions) {
    this.rate = o.rate;
    this.linkBps = o.linkBps && o.linkBps > 0 ? o.linkBps : 0;
    this.msPerPacket = o.rate.kind === 'pps' ? 1000 / o.rate.pps : 0;
    this.msPerBit = o.rate.kind === 'mbps' ? 1 / (o.rate.mbps * 1000) : 0;
    this.linkMsPerBit = this.linkBps ? 1000 / this.linkBps : 0;
  }

  /** Due time (ms from the start) of the next packet, which has `len` bytes. Advances the schedule. */
  next(pkt: Packet, len = pkt.tail - pkt.head): number {
    let t: number;
    switch (this.rate.kind) {
      case 'speed': {
        if (!this.haveTsBase) {
          this.haveTsBase = true;
          this.tsBaseSec = pkt.tsSec;
          this.tsBaseMs = (pkt.tsFrac * 1000) / pkt.tsUnits;
        }
        const rel = (pkt.tsSec - this.tsBaseSec) * 1000 + ((pkt.tsFrac * 1000) / pkt.tsUnits - this.tsBaseMs);
        t = this.loopBase + rel / this.rate.speed;
        break;
      }
      case 'pps':
      case 'mbps':
        t = this.nextSlot;
        break;
      case 'topspeed':
        t = this.loopBase;
        break;
    }
    if (t < this.lastDue) t = this.lastDue;
    if (t < this.linkFree) t = this.linkFree;
    const bits = len * 8;
    if (this.msPerPacket) this.nextSlot = t + this.msPerPacket;
    else if (this.msPerBit) this.nextSlot = t + bits * this.msPerBit;
    if (this.linkMsPerBit) this.linkFree = t + bits * this.linkMsPerBit;
    this.lastDue = t;
    const end = Math.max(t, this.nextSlot, this.linkFree);
    if (end > this.end) this.end = end;
    return t;
  }

  /** Start the next loop of the input, `gapMs` after the end of this one. */
  nextLoop(gapMs = 0): void {
    const base = this.end + Math.max(0, gapMs);
    this.loopBase = base;
    this.nextSlot = base;
    if (this.linkFree < base) this.linkFree = base;
    this.lastDue = base;
    this.end = base;
    this.haveTsBase = false;
  }
}
