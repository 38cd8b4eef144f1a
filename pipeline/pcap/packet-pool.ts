/**
 * The packets a reader that recycles its read chunks hands out, reused batch after batch: such a
 * batch is valid only until the next one is asked for (ReadOptions.recycleChunks), its packets
 * as much as the bytes they reference. A Packet is some thirty fields; one per record was most
 * of what a run with a stage allocated, and so of its garbage collection.
 */
import { Packet } from '../packet.js';

export class PacketPool {
  private readonly packets: Packet[] = [];
  /** Packets handed out since the last recycle(): packets[0, used). */
  private used = 0;

  /** A packet as `new Packet(buf, head, tail, origLen, floor)` makes it. */
  take(buf: Uint8Array, head: number, tail: number, origLen: number, floor: number): Packet {
    const i = this.used++;
    if (i < this.packets.length) return this.packets[i]!.reset(buf, head, tail, origLen, floor);
    const p = new Packet(buf, head, tail, origLen, floor);
    this.packets.push(p);
    return p;
  }

  /** Packets made so far (what the pool holds). */
  get size(): number {
    return this.packets.length;
  }

  /** Every packet handed out so far is dead: take() gives them out again. */
  recycle(): void {
    this.used = 0;
  }
}
