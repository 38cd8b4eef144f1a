/**
 * capflow's metadata in pcapng packet comments: written on output so Wireshark shows it
 * (frame.comment), read back on input so a later run continues with the same metadata.
 */
import type { Packet } from './packet.js';
import { TunnelInfo } from './metadata.js';
import { parseGsoNote } from './gso/notes.js';
import type { PacketComment } from './pcap/writer.js';

/** Move capflow comments (tunnel ...) from pkt.comments into pkt.tunnel; other comments stay. */
export function restoreMetadata(pkt: Packet): void {
  const cs = pkt.comments;
  if (!cs) return;
  let kept: string[] | null = null;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    const t = c.startsWith('tunnel ') ? TunnelInfo.fromComment(c) : null;
    if (t) {
      pkt.tunnel = t;
      kept ??= cs.slice(0, i);
    } else if (c.startsWith('gso ') && isCapflowNote(c)) {
      // A driver-view note: the packet is a super-packet left for the NIC. Restore the request
      // (the note itself is written again on output if the packet still leaves whole).
      const g = parseGsoNote(c);
      if (g && pkt.gsoSize === 0) {
        pkt.gsoSize = g.gsoSize;
        pkt.gsoType = g.gsoType;
        pkt.gsoSegs = g.gsoSegs;
      }
      kept ??= cs.slice(0, i);
    } else if (kept) kept.push(c);
  }
  if (kept) pkt.comments = kept.length ? kept : null;
}

function isCapflowNote(c: string): boolean {
  return /^gso type=\S+ size=\d+ segs=\d+/.test(c);
}

/** Comments for the output record: the packet's own, then its tunnel metadata, then stage notes. */
export function outputComments(pkt: Packet): string[] | null {
  if (!pkt.tunnel && !pkt.notes) return pkt.comments;
  if (pkt.tunnel && !pkt.comments && !pkt.notes) return [pkt.tunnel.toComment()];
  const out = pkt.comments ? pkt.comments.slice() : [];
  if (pkt.tunnel) out.push(pkt.tunnel.toComment());
  if (pkt.notes) out.push(...pkt.notes);
  return out;
}

/** The one-comment list of a packet whose only comment is its tunnel metadata (reused). */
const tunnelOnly: PacketComment[] = [];

/**
 * outputComments for a capture writer: the same comments, with the tunnel metadata as the
 * TunnelInfo itself (the pcapng writer writes its text's bytes; no string per packet). The list
 * may be reused by the next call: hand it to the writer and let go.
 */
export function writerComments(pkt: Packet): readonly PacketComment[] | null {
  const t = pkt.tunnel;
  if (!t && !pkt.notes) return pkt.comments;
  if (t && !pkt.comments && !pkt.notes) {
    tunnelOnly[0] = t;
    return tunnelOnly;
  }
  const out: PacketComment[] = pkt.comments ? pkt.comments.slice() : [];
  if (t) out.push(t);
  if (pkt.notes) out.push(...pkt.notes);
  return out;
}

/** True when the packet carries something only pcapng can hold. */
export function hasMetadata(pkt: Packet): boolean {
  return pkt.tunnel !== null || pkt.notes !== null;
}
