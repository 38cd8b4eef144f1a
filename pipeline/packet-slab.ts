/**
 * Packet buffers carved from large shared slabs instead of one ArrayBuffer per packet (an
 * ArrayBuffer of its own costs far more than copying a 1500-byte frame: backing store, zero
 * fill, external-memory accounting for the GC). Used wherever a packet needs a buffer of its
 * own: `Packet.reserve` (a push larger than the headroom, e.g. vxlan-encap moving a zero-copy
 * reader packet out of its read chunk) and software segmentation.
 *
 * Ownership is the reader-chunk rule of packet.ts: a packet owns buf[floor, tail) of
 * the slab and nothing else; a slab region is handed out once and never reused, so the GC frees
 * a slab when its last packet is gone. A stage that keeps packets for long should `clone()` them
 * (one slab stays alive as long as any of its packets does).
 */
/** Slab size; requests above a quarter of it get a buffer of their own. */
const SLAB_SIZE = 256 * 1024;
const OWN_BUFFER_ABOVE = SLAB_SIZE >>> 2;

export class PacketSlab {
  /** The slab the last `take` carved from. */
  buf = new Uint8Array(0);
  private pos = 0;

  /**
   * A fresh region of `n` bytes, 8-byte aligned in its ArrayBuffer; returns its offset in
   * `this.buf` (read `buf` after the call: it changes when a new slab starts). The first
   * `zeroed` bytes are zero (give the headroom: the caller writes the rest); the others are
   * uninitialised (slabs are not zero-filled: the caller copies a frame over them anyway).
   */
  take(n: number, zeroed: number): number {
    if (n > OWN_BUFFER_ABOVE) {
      this.buf = new Uint8Array(n);
      this.pos = n; // nothing left in it: the next take starts a new slab
      return 0;
    }
    if (this.pos + n > this.buf.length) {
      // A plain Uint8Array over unzeroed memory (not a Buffer: its subarray is slower).
      this.buf = new Uint8Array(Buffer.allocUnsafeSlow(SLAB_SIZE).buffer, 0, SLAB_SIZE);
      this.pos = 0;
    }
    const off = this.pos;
    this.pos = (off + n + 7) & ~7;
    this.buf.fill(0, off, off + zeroed);
    return off;
  }
}
