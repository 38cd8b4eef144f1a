/**
 * Packet buffers carved from large shared slabs instead of one ArrayBuffer per packet (an
 * ArrayBuffer of its own costs far more than copying a 1500-byte frame: backing store, zero
 * fill, external-memory accounting for the GC). Used wherever a packet needs a buffer of its
 * own: `Packet.reserve` (a push larger than the headroom, e.g. vxlan-encap moving a zero-copy
 * reader packet out of its read chunk) and software segmentation.
 *
 * Ownership is the reader-chunk rule of packet.ts: a packet owns buf[floor, tail) of the slab
 * and nothing else. A shared slab (`new PacketSlab()`) hands a region out once and never reuses
 * it, so the GC frees a slab when its last packet is gone; a stage that keeps packets for long
 * should `clone()` them (one slab stays alive as long as any of its packets does).
 *
 * A recycling slab (`new PacketSlab(true)`, a pipeline's arena: Pipeline's `recycleBuffers`) is
 * for a consumer that writes or drops every packet before it calls `recycle()`, like the run
 * loop: `recycle()` declares every region handed out so far dead, and later `take`s carve the
 * same slabs again. Fresh memory costs far more than the copy into it (the kernel maps and
 * faults in new pages: 5 times the copy of a 1500-byte frame), so reusing a few warm slabs is
 * what makes a push larger than the headroom cheap. Slab memory is never a read chunk
 * (capture-interface.ts), so writers copy it and keep no reference to it.
 */
import type { PacketPool } from './pcap/packet-pool.js';
import { giveSummable, takeSummable } from './wire/summable-memory.js';
import { uninitializedBytes } from './wire/bytes.js';

/** Slab size; requests above a quarter of it get a buffer of their own. */
const SLAB_SIZE = 256 * 1024;
const OWN_BUFFER_ABOVE = SLAB_SIZE >>> 2;
/** Free slabs a recycling slab keeps for reuse (8 MiB): about what one batch of segments fills. */
const MAX_SPARE = 32;

/** A recycling slab's summable regions go back when the slab itself is collected. */
const regionsBack = new FinalizationRegistry<Uint8Array[]>((regions) => {
  for (const r of regions) giveSummable(r);
});

export class PacketSlab {
  /** The slab the last `take` carved from. */
  buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** Recycling: full slabs carved since the last recycle(), and slabs free to carve again. */
  private readonly filled: Uint8Array[] = [];
  private readonly spare: Uint8Array[] = [];

  /**
   * Packet objects made for frames in this slab's pipeline (fragments), reused after recycle()
   * like the regions: created by their first user (gso/fragment.ts), only on a recycling slab.
   */
  packets: PacketPool | null = null;

  /**
   * Slabs a recycling slab took from the summable memory (wire/summable-memory.ts: checksums over
   * segments built in them run in WebAssembly), given back when dropped or when this is collected.
   */
  private readonly regions: Uint8Array[] = [];

  constructor(readonly recycling = false) {
    if (recycling) regionsBack.register(this, this.regions);
  }

  /**
   * A fresh region of `n` bytes, 8-byte aligned in its ArrayBuffer; returns its offset in
   * `this.buf` (read `buf` after the call: it changes when a new slab starts). The first
   * `zeroed` bytes are zero (give the headroom: the caller writes the rest); the others are
   * uninitialised (slabs are not zero-filled, and recycled ones hold older packets: the caller
   * copies a frame over them anyway).
   */
  take(n: number, zeroed: number): number {
    if (n > OWN_BUFFER_ABOVE) {
      this.retire();
      this.buf = new Uint8Array(n);
      this.pos = n; // nothing left in it: the next take starts a new slab
      return 0;
    }
    if (this.pos + n > this.buf.length) {
      this.retire();
      // A plain Uint8Array over unzeroed memory (not a Buffer: its subarray is slower).
      this.buf = this.spare.pop() ?? this.newSlab();
      this.pos = 0;
    }
    const off = this.pos;
    this.pos = (off + n + 7) & ~7;
    this.buf.fill(0, off, off + zeroed);
    return off;
  }

  /**
   * Every region handed out so far is dead (its packets were written or dropped): carve the
   * same slabs again. Only for a recycling slab; a no-op on a shared one.
   */
  recycle(): void {
    if (!this.recycling) return;
    this.packets?.recycle();
    // Called after every written packet: usually nothing but the current slab to rewind.
    if (this.filled.length > 0) {
      for (const s of this.filled) {
        if (this.spare.length < MAX_SPARE) this.spare.push(s);
        else this.drop(s);
      }
      this.filled.length = 0;
    }
    if (this.buf.length === SLAB_SIZE) this.pos = 0;
  }

  /** A slab of SLAB_SIZE bytes: summable memory for a recycling slab while there is room. */
  private newSlab(): Uint8Array {
    const region = this.recycling ? takeSummable(SLAB_SIZE) : null;
    if (region === null) return uninitializedBytes(SLAB_SIZE);
    this.regions.push(region);
    return region;
  }

  /** A slab no longer kept: its summable region goes back. */
  private drop(slab: Uint8Array): void {
    const i = this.regions.indexOf(slab);
    if (i < 0) return;
    this.regions.splice(i, 1);
    giveSummable(slab);
  }

  /** The current slab is left behind: keep it for reuse after the next recycle(). */
  private retire(): void {
    if (this.recycling && this.buf.length === SLAB_SIZE && this.pos > 0) this.filled.push(this.buf);
  }
}
