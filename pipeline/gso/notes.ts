/**
 * The driver-view note on a super-packet left for the NIC (or a GSO-partial chunk):
 *
 *   gso type=tcpv4 size=1448 segs=45
 *   gso type=tcpv4+udp_tunnel_csum+partial size=1398 segs=44
 *
 * `type` is the base kind (tcpv4 | tcpv6 | udp_l4) followed by `+flag` suffixes for the other
 * SKB_GSO_* bits, in this order: ecn, fixedid, udp_tunnel, udp_tunnel_csum, partial, dodgy.
 * `size` is gso_size (payload bytes per segment), `segs` is gso_segs. A later capflow run reads the
 * note back (pipeline/comments.ts) and restores gsoSize/gsoType/gsoSegs, so the same packet can be
 * pushed through a wire-view run.
 */
import { GSO } from '../packet.js';
import { commentNumber } from '../comment-grammar.js';

const BASE: ReadonlyArray<readonly [number, string]> = [
  [GSO.TCPV4, 'tcpv4'],
  [GSO.TCPV6, 'tcpv6'],
  [GSO.UDP_L4, 'udp_l4'],
];

const SUFFIX: ReadonlyArray<readonly [number, string]> = [
  [GSO.TCP_ECN, 'ecn'],
  [GSO.TCP_FIXEDID, 'fixedid'],
  [GSO.UDP_TUNNEL, 'udp_tunnel'],
  [GSO.UDP_TUNNEL_CSUM, 'udp_tunnel_csum'],
  [GSO.PARTIAL, 'partial'],
  [GSO.DODGY, 'dodgy'],
];

/** `tcpv4+udp_tunnel_csum+partial` for a gso_type. Unknown bits are written as `0x...`. */
export function formatGsoType(gsoType: number): string {
  let t = gsoType >>> 0;
  const parts: string[] = [];
  for (const [bit, name] of BASE) {
    if (t & bit) {
      parts.push(name);
      t &= ~bit;
    }
  }
  if (parts.length === 0) parts.push('none');
  for (const [bit, name] of SUFFIX) {
    if (t & bit) {
      parts.push(name);
      t &= ~bit;
    }
  }
  if (t !== 0) parts.push(`0x${t.toString(16)}`);
  return parts.join('+');
}

/** Inverse of formatGsoType; null for an unknown word. */
export function parseGsoType(s: string): number | null {
  let t = 0;
  for (const word of s.split('+')) {
    const hit = BASE.find(([, n]) => n === word) ?? SUFFIX.find(([, n]) => n === word);
    if (hit) t |= hit[0];
    else if (/^0x[0-9a-f]+$/i.test(word)) {
      const v = commentNumber(word, 0xffffffff);
      if (v === null) return null;
      t |= v;
    }
    else if (word !== 'none') return null;
  }
  return t >>> 0;
}

/** The note text for a packet handed to the NIC whole. */
export function formatGsoNote(gsoType: number, gsoSize: number, gsoSegs: number): string {
  return `gso type=${formatGsoType(gsoType)} size=${gsoSize} segs=${gsoSegs}`;
}

export interface GsoNote {
  gsoType: number;
  gsoSize: number;
  gsoSegs: number;
}

const NOTE_RE = /^gso type=(\S+) size=(\d+) segs=(\d+)/;

/** Parse a note written by formatGsoNote; null when the text is not one. */
export function parseGsoNote(text: string): GsoNote | null {
  const m = NOTE_RE.exec(text);
  if (!m) return null;
  const gsoType = parseGsoType(m[1]!);
  const gsoSize = commentNumber(m[2]!, 0xffff);
  const gsoSegs = commentNumber(m[3]!, 0xffff); // gso_segs is a u16 in skb_shared_info
  if (gsoType === null || gsoType === 0 || !gsoSize || gsoSegs === null) return null;
  return { gsoType, gsoSize, gsoSegs };
}
