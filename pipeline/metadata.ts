/**
 * Per-packet tunnel metadata: the kernel's `struct ip_tunnel_info` (include/net/ip_tunnels.h)
 * carried in a metadata dst. Zero means "unset" exactly where the kernel treats it so
 * (src 0 → device/route source, ttl 0 → default, tpSrc 0 → flow hash, tpDst 0 → device port).
 *
 * In pcapng output the metadata travels as a packet comment (contract format):
 *   tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=49152 tpDst=4789 flags=key,csum
 */
import { dataViewOf, setBytes } from './wire/bytes.js';
import { formatIp, parseIp } from './wire/ip-address.js';
import type { CommentSource } from './pcap/writer.js';
import { asciiBytes, commentNumber, FIELD_SEPARATOR, putDecimal, putHex, putToken } from './comment-grammar.js';

/** TUNNEL_* flags, 6.1 values (be16 bit masks). */
export const TUNNEL = {
  CSUM: 0x0001,
  KEY: 0x0004,
  DONT_FRAGMENT: 0x0100,
  OAM: 0x0200,
  VXLAN_OPT: 0x1000,
} as const;

const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [TUNNEL.KEY, 'key'],
  [TUNNEL.CSUM, 'csum'],
  [TUNNEL.DONT_FRAGMENT, 'df'],
  [TUNNEL.OAM, 'oam'],
  [TUNNEL.VXLAN_OPT, 'vxlan-opt'],
];

/**
 * Address storage: the two addresses of a TunnelInfo side by side, 32 bytes of a shared 4 KB block
 * (cheaper to make than a buffer each: vxlan-decap makes metadata per received packet), seen as
 * bytes (src, dst) and as eight 32-bit words (zeroed and compared a word at a time: a byte loop
 * over both addresses took some 390 instructions per packet to reset them). A kept view keeps
 * its block alive.
 */
const ADDRESS_BLOCK = 4096;
let addressBlock = new ArrayBuffer(ADDRESS_BLOCK);
let addressNext = 0;

/** The byte order of the words' view: a DataView read in it gives the word the bytes make in memory. */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The offset of 32 fresh bytes in addressBlock. */
function newAddressPair(): number {
  if (addressNext === ADDRESS_BLOCK) {
    addressBlock = new ArrayBuffer(ADDRESS_BLOCK);
    addressNext = 0;
  }
  const at = addressNext;
  addressNext += 32;
  return at;
}

export class TunnelInfo implements CommentSource {
  /** tun_id: the VNI (24 bits for VXLAN). */
  vni = 0;
  /** tun_flags (TUNNEL.*). */
  flags: number = TUNNEL.KEY;
  /** Mode IP_TUNNEL_INFO_IPV6: addresses are IPv6. */
  ipv6 = false;
  private readonly at = newAddressPair();
  /** Outer source address (4 or 16 bytes used); all zero = unset. */
  readonly src = new Uint8Array(addressBlock, this.at, 16);
  /** Outer destination address; all zero = unset. */
  readonly dst = new Uint8Array(addressBlock, this.at + 16, 16);
  /** src then dst as 32-bit words (words 0 and 4 hold the IPv4 addresses). */
  private readonly words = new Int32Array(addressBlock, this.at, 8);
  /** Full TOS byte / IPv6 traffic class (DSCP + ECN). */
  tos = 0;
  /** TTL / hop limit; 0 = device default. */
  ttl = 0;
  /** IPv6 flow label (20 bits). */
  label = 0;
  /** Outer UDP ports; 0 = unset. */
  tpSrc = 0;
  tpDst = 0;
  /** VXLAN GBP option value (valid when flags has VXLAN_OPT). */
  gbp = 0;
  /** Mode IP_TUNNEL_INFO_TX: a transmit key (set by tunnel-key); receive metadata has it clear. Comment: `mode=tx`. */
  tx = false;

  /** Bytes writeComment will write at most (its fields as they are now). */
  get maxCommentBytes(): number {
    return uint32Fields(this) ? MAX_COMMENT_BYTES : this.buildComment().length;
  }

  get addrLen(): number {
    return this.ipv6 ? 16 : 4;
  }

  /** Every field back to its default, as a `new TunnelInfo()` (for a pool's reuse). */
  reset(): void {
    this.vni = 0;
    this.flags = TUNNEL.KEY;
    this.ipv6 = false;
    const w = this.words;
    w[0] = w[1] = w[2] = w[3] = w[4] = w[5] = w[6] = w[7] = 0;
    this.tos = 0;
    this.ttl = 0;
    this.label = 0;
    this.tpSrc = 0;
    this.tpDst = 0;
    this.gbp = 0;
    this.tx = false;
  }

  clone(): TunnelInfo {
    const t = new TunnelInfo();
    t.copyFrom(this);
    return t;
  }

  /** Every field equal to `o`'s (the addresses over their length): the same key, the same comment. */
  equals(o: TunnelInfo): boolean {
    if (
      this.vni !== o.vni ||
      this.flags !== o.flags ||
      this.tos !== o.tos ||
      this.ttl !== o.ttl ||
      this.label !== o.label ||
      this.tpSrc !== o.tpSrc ||
      this.tpDst !== o.tpDst ||
      this.gbp !== o.gbp ||
      // Booleans by truth: `!==` on them compiled to a call of V8's generic comparison (vxlan-encap
      // makes this check per packet).
      (this.ipv6 ? !o.ipv6 : o.ipv6) ||
      (this.tx ? !o.tx : o.tx)
    ) {
      return false;
    }
    return this.sameAddresses(o);
  }

  /**
   * src and dst from a packet's IP header: 16 bytes each at srcOff and dstOff of `b` for IPv6,
   * else 4 (the rest of each address zeroed). Read a word at a time in the host's byte order,
   * which is the words' own; `ipv6` is the caller's to set.
   */
  readAddresses(b: Uint8Array, srcOff: number, dstOff: number, v6: boolean): void {
    const dv = dataViewOf(b);
    const w = this.words;
    w[0] = dv.getInt32(srcOff, LITTLE_ENDIAN_HOST);
    w[4] = dv.getInt32(dstOff, LITTLE_ENDIAN_HOST);
    if (v6) {
      w[1] = dv.getInt32(srcOff + 4, LITTLE_ENDIAN_HOST);
      w[2] = dv.getInt32(srcOff + 8, LITTLE_ENDIAN_HOST);
      w[3] = dv.getInt32(srcOff + 12, LITTLE_ENDIAN_HOST);
      w[5] = dv.getInt32(dstOff + 4, LITTLE_ENDIAN_HOST);
      w[6] = dv.getInt32(dstOff + 8, LITTLE_ENDIAN_HOST);
      w[7] = dv.getInt32(dstOff + 12, LITTLE_ENDIAN_HOST);
    } else w[1] = w[2] = w[3] = w[5] = w[6] = w[7] = 0;
  }

  /** The source address is unset: all zero over the address length. */
  get srcUnset(): boolean {
    const w = this.words;
    return w[0] === 0 && (!this.ipv6 || (w[1] === 0 && w[2] === 0 && w[3] === 0));
  }

  /** The destination address is unset: all zero over the address length. */
  get dstUnset(): boolean {
    const w = this.words;
    return w[4] === 0 && (!this.ipv6 || (w[5] === 0 && w[6] === 0 && w[7] === 0));
  }

  /** src and dst equal to `o`'s over this one's address length (4 bytes each, or 16). */
  sameAddresses(o: TunnelInfo): boolean {
    const a = this.words;
    const b = o.words;
    if (a[0] !== b[0] || a[4] !== b[4]) return false;
    if (!this.ipv6) return true;
    return a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[5] === b[5] && a[6] === b[6] && a[7] === b[7];
  }

  /** Take every field of `o` (addresses over all 16 bytes). */
  copyFrom(o: TunnelInfo): void {
    this.vni = o.vni;
    this.flags = o.flags;
    this.ipv6 = o.ipv6;
    const w = this.words;
    const ow = o.words;
    w[0] = ow[0]!;
    w[1] = ow[1]!;
    w[2] = ow[2]!;
    w[3] = ow[3]!;
    w[4] = ow[4]!;
    w[5] = ow[5]!;
    w[6] = ow[6]!;
    w[7] = ow[7]!;
    this.tos = o.tos;
    this.ttl = o.ttl;
    this.label = o.label;
    this.tpSrc = o.tpSrc;
    this.tpDst = o.tpDst;
    this.gbp = o.gbp;
    this.tx = o.tx;
  }

  srcString(): string {
    return formatIp(this.src.subarray(0, this.addrLen));
  }

  dstString(): string {
    return formatIp(this.dst.subarray(0, this.addrLen));
  }

  /** Set src or dst from text; switching the address family clears the other address when it no longer fits. */
  setAddress(which: 'src' | 'dst', text: string): void {
    const bytes = parseIp(text);
    if (!bytes) throw new Error(`not an IP address: ${text}`);
    const v6 = bytes.length === 16;
    if (v6 !== this.ipv6) {
      // The key holds one family; the other address is meaningless in the new family.
      const other = which === 'src' ? this.dst : this.src;
      other.fill(0);
      this.ipv6 = v6;
    }
    const target = which === 'src' ? this.src : this.dst;
    target.fill(0);
    target.set(bytes);
  }

  /**
   * The contract's comment text. Equal metadata gives the same string object (a small cache
   * of recent texts, each checked field by field against this object, so in-place changes
   * are always seen): per-packet metadata costs no string building, and writers can cache the
   * encoded bytes by string.
   */
  toComment(): string {
    const slot = commentSlot(this);
    const hit = COMMENT_CACHE[slot];
    if (hit !== undefined && hit.info.equals(this)) return hit.text;
    const text = this.buildComment();
    COMMENT_CACHE[slot] = { info: this.clone(), text };
    return text;
  }

  /**
   * Write the bytes of toComment()'s text (ASCII) at buf[at...], at most maxCommentBytes; returns
   * the position after them. Builds no string when every numeric field is an integer 0..2^32-1
   * (what stages and the comment reader produce); other values take the text's path.
   */
  writeComment(buf: Uint8Array, at: number): number {
    if (!uint32Fields(this)) return putText(buf, at, this.buildComment());
    const m = findTemplate(this);
    if (m === null) return this.formatComment(buf, at);
    // An earlier comment's bytes around its source port (see CommentTemplate).
    setBytes(buf, m.before, at);
    const p = putDecimal(buf, at + m.before.length, this.tpSrc);
    setBytes(buf, m.after, p);
    return p + m.after.length;
  }

  /** writeComment's text field by field; kept as a template for the next packets of the tunnel. */
  private formatComment(buf: Uint8Array, at: number): number {
    let p = putToken(buf, at, T_VNI);
    p = putDecimal(buf, p, this.vni);
    p = putToken(buf, p, T_SRC);
    p = this.ipv6 ? putIpv6(buf, p, this.src) : putIpv4(buf, p, this.src);
    p = putToken(buf, p, T_DST);
    p = this.ipv6 ? putIpv6(buf, p, this.dst) : putIpv4(buf, p, this.dst);
    p = putToken(buf, p, T_TOS);
    p = putHex(buf, p, this.tos, 2);
    p = putToken(buf, p, T_TTL);
    p = putDecimal(buf, p, this.ttl);
    p = putToken(buf, p, T_TP_SRC);
    const portAt = p;
    p = putDecimal(buf, p, this.tpSrc);
    const restAt = p;
    p = putToken(buf, p, T_TP_DST);
    p = putDecimal(buf, p, this.tpDst);
    if (this.ipv6) {
      p = putToken(buf, p, T_LABEL);
      p = putHex(buf, p, this.label, 5);
    }
    if (this.flags & TUNNEL.VXLAN_OPT) {
      p = putToken(buf, p, T_GBP);
      p = putHex(buf, p, this.gbp, 6);
    }
    p = putToken(buf, p, T_FLAGS);
    const start = p;
    for (let i = 0; i < FLAG_TOKENS.length; i++) {
      if (this.flags & FLAG_BITS[i]!) {
        if (p !== start) buf[p++] = 0x2c; // ','
        p = putToken(buf, p, FLAG_TOKENS[i]!);
      }
    }
    if (p === start) p = putToken(buf, p, T_NONE);
    if (this.tx) p = putToken(buf, p, T_MODE_TX);
    const m = templateToReplace(this);
    const bytes = m.bytes;
    for (let i = at; i < p; i++) bytes[i - at] = buf[i]!;
    m.before = bytes.subarray(0, portAt - at);
    m.after = bytes.subarray(restAt - at, p - at);
    m.fields.copyFrom(this);
    return p;
  }

  private buildComment(): string {
    let s =
      `tunnel vni=${this.vni} src=${this.srcString()} dst=${this.dstString()}` +
      ` tos=0x${this.tos.toString(16).padStart(2, '0')} ttl=${this.ttl}` +
      ` tpSrc=${this.tpSrc} tpDst=${this.tpDst}`;
    if (this.ipv6) s += ` label=0x${this.label.toString(16).padStart(5, '0')}`;
    if (this.flags & TUNNEL.VXLAN_OPT) s += ` gbp=0x${this.gbp.toString(16).padStart(6, '0')}`;
    const names = FLAG_NAMES.filter(([bit]) => this.flags & bit).map(([, n]) => n);
    s += ` flags=${names.length ? names.join(',') : 'none'}`;
    if (this.tx) s += ' mode=tx';
    return s;
  }

  /**
   * Parse a comment written by toComment(); null when the text is not a tunnel comment of the
   * public grammar (each key at most once, numbers within their field's width, src and dst of one
   * family). The Wireshark dissector accepts exactly the same texts.
   */
  static fromComment(text: string): TunnelInfo | null {
    if (!text.startsWith('tunnel ')) return null;
    const t = new TunnelInfo();
    t.flags = 0;
    let src: Uint8Array | null = null;
    let dst: Uint8Array | null = null;
    const seen = new Set<string>();
    for (const part of text.slice(7).split(FIELD_SEPARATOR)) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      if (eq < 0) return null;
      const key = part.slice(0, eq);
      const val = part.slice(eq + 1);
      if (seen.has(key)) return null;
      seen.add(key);
      if (key === 'src' || key === 'dst') {
        const ip = parseIp(val);
        if (!ip) return null;
        if (key === 'src') src = ip;
        else dst = ip;
      } else if (key === 'flags') {
        if (val !== 'none') {
          for (const name of val.split(',')) {
            const hit = FLAG_NAMES.find(([, n]) => n === name);
            if (!hit) return null;
            t.flags |= hit[0];
          }
        }
      } else if (key === 'mode') {
        if (val !== 'tx') return null;
        t.tx = true;
      } else {
        const max = NUMBER_KEYS[key as keyof typeof NUMBER_KEYS];
        if (max === undefined || !Object.hasOwn(NUMBER_KEYS, key)) return null;
        const n = commentNumber(val, max);
        if (n === null) return null;
        t[key as keyof typeof NUMBER_KEYS] = n;
      }
    }
    if (!src || !dst || src.length !== dst.length) return null;
    t.ipv6 = src.length === 16;
    t.src.set(src);
    t.dst.set(dst);
    return t;
  }
}

/**
 * Metadata objects reused from packet to packet, for a pipeline whose caller writes or drops
 * every packet before it calls `recycle()` (the run loop: PipelineOptions.recycleBuffers), the
 * lifetime of the kernel's per-skb metadata dst. An object handed out by `take()` is never
 * handed out again before the next `recycle()`, so packets in flight together (segments of one
 * super-packet share their metadata; packets of one input) never share an object by accident.
 */
export class TunnelInfoPool {
  private readonly items: TunnelInfo[] = [];
  private used = 0;

  /** Metadata equal to a `new TunnelInfo()`, owned by the caller until the next recycle(). */
  take(): TunnelInfo {
    let t = this.items[this.used];
    if (t === undefined) {
      t = new TunnelInfo();
      this.items.push(t);
    } else {
      t.reset();
    }
    this.used++;
    return t;
  }

  /** Every object handed out so far is dead (its packets were written or dropped). */
  recycle(): void {
    this.used = 0;
  }
}

/**
 * Most bytes of a tunnel comment whose numbers are integers 0..2^32-1: ten digits per number,
 * two IPv6 addresses, every flag, mode=tx (245), rounded up.
 */
export const MAX_COMMENT_BYTES = 256;

const T_VNI = asciiBytes('tunnel vni=');
const T_SRC = asciiBytes(' src=');
const T_DST = asciiBytes(' dst=');
const T_TOS = asciiBytes(' tos=0x');
const T_TTL = asciiBytes(' ttl=');
const T_TP_SRC = asciiBytes(' tpSrc=');
const T_TP_DST = asciiBytes(' tpDst=');
const T_LABEL = asciiBytes(' label=0x');
const T_GBP = asciiBytes(' gbp=0x');
const T_FLAGS = asciiBytes(' flags=');
const T_NONE = asciiBytes('none');
const T_MODE_TX = asciiBytes(' mode=tx');
const FLAG_BITS = FLAG_NAMES.map(([bit]) => bit);
const FLAG_TOKENS = FLAG_NAMES.map(([, n]) => asciiBytes(n));

/**
 * A comment writeComment formatted, as the template of later ones: between two VTEPs only the
 * outer UDP source port changes from flow to flow (the flow hash of udp_flow_src_port,
 * drivers/net/vxlan/vxlan_core.c), so a comment whose other printed fields equal the template's
 * is its bytes before the port, the port, and its bytes after it. The fields are a private
 * copy: metadata objects change in place (and pools reuse them).
 */
class CommentTemplate {
  readonly fields = new TunnelInfo();
  /** The text's bytes; `before` and `after` the tpSrc digits are views of them (copied with one `set` each). */
  readonly bytes = new Uint8Array(MAX_COMMENT_BYTES);
  before = this.bytes.subarray(0, 0);
  after = this.bytes.subarray(0, 0);
}

/**
 * Templates of recent tunnels: 2-way sets chosen by a hash of some fields (the low bytes of the
 * addresses vary most), the least recently used of a set replaced, so a few tunnels interleaved
 * keep theirs. A collision only costs a formatting. Made on first use.
 */
const TEMPLATE_SET_BITS = 7;
const COMMENT_TEMPLATES: (CommentTemplate | undefined)[] = new Array(2 << TEMPLATE_SET_BITS);
/** Per set, the way (0 or 1) to replace next: the one not used last. */
const TEMPLATE_VICTIM = new Uint8Array(1 << TEMPLATE_SET_BITS);

function templateSet(t: TunnelInfo): number {
  const n = t.ipv6 ? 16 : 4;
  const s = t.src;
  const d = t.dst;
  const h = Math.imul(t.vni ^ (d[n - 1]! << 8) ^ (d[n - 2]! << 16) ^ (s[n - 1]! << 24), 0x9e3779b1) ^ t.tpDst ^ t.flags ^ t.ttl ^ t.tos;
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> (32 - TEMPLATE_SET_BITS);
}

/** The template of `t`'s tunnel, or null. */
function findTemplate(t: TunnelInfo): CommentTemplate | null {
  const set = templateSet(t);
  for (let way = 0; way < 2; way++) {
    const m = COMMENT_TEMPLATES[(set << 1) | way];
    if (m !== undefined && sameButSourcePort(m.fields, t)) {
      TEMPLATE_VICTIM[set] = way ^ 1;
      return m;
    }
  }
  return null;
}

/** The template a new text of `t` goes to: the one of its set not used last. */
function templateToReplace(t: TunnelInfo): CommentTemplate {
  const set = templateSet(t);
  const way = TEMPLATE_VICTIM[set]!;
  TEMPLATE_VICTIM[set] = way ^ 1;
  return (COMMENT_TEMPLATES[(set << 1) | way] ??= new CommentTemplate());
}

/** Every field the text of `b` prints equals `a`'s, except tpSrc (both of uint32Fields). */
function sameButSourcePort(a: TunnelInfo, b: TunnelInfo): boolean {
  // Booleans by truth (see TunnelInfo.equals).
  if (a.vni !== b.vni || a.flags !== b.flags || (a.ipv6 ? !b.ipv6 : b.ipv6) || a.tos !== b.tos || a.ttl !== b.ttl || a.tpDst !== b.tpDst || (a.tx ? !b.tx : b.tx)) {
    return false;
  }
  if (b.ipv6 && a.label !== b.label) return false;
  if ((b.flags & TUNNEL.VXLAN_OPT) !== 0 && a.gbp !== b.gbp) return false;
  return b.sameAddresses(a);
}

/** Every number writeComment prints is an integer 0..2^32-1 (else Number#toString decides the text). */
function uint32Fields(t: TunnelInfo): boolean {
  return (
    t.vni >>> 0 === t.vni &&
    t.tos >>> 0 === t.tos &&
    t.ttl >>> 0 === t.ttl &&
    t.tpSrc >>> 0 === t.tpSrc &&
    t.tpDst >>> 0 === t.tpDst &&
    t.label >>> 0 === t.label &&
    t.gbp >>> 0 === t.gbp
  );
}

/** An ASCII text (toComment's, on the general path). */
function putText(buf: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** formatIp of 4 bytes: dotted decimal. */
function putIpv4(buf: Uint8Array, at: number, a: Uint8Array): number {
  let p = putDecimal(buf, at, a[0]!);
  for (let i = 1; i < 4; i++) {
    buf[p++] = 0x2e; // '.'
    p = putDecimal(buf, p, a[i]!);
  }
  return p;
}

/** formatIp of 16 bytes (RFC 5952): lowercase words, the first longest run of two or more zero words as "::". */
function putIpv6(buf: Uint8Array, at: number, a: Uint8Array): number {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (a[2 * i] !== 0 || a[2 * i + 1] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && a[2 * j] === 0 && a[2 * j + 1] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let p = at;
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      buf[p++] = 0x3a; // ':'
      buf[p++] = 0x3a;
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) buf[p++] = 0x3a;
    p = putHex(buf, p, (a[2 * i]! << 8) | a[2 * i + 1]!, 1);
  }
  return p;
}

/** Numeric keys of the tunnel comment and their largest value (the width of the kernel field). */
const NUMBER_KEYS = { vni: 0xffffff, tos: 0xff, ttl: 0xff, tpSrc: 0xffff, tpDst: 0xffff, label: 0xfffff, gbp: 0xffffffff } as const;

/** Recent comment texts, direct-mapped by a hash of the fields (entries hold a private copy). */
const COMMENT_CACHE_SIZE = 256;
const COMMENT_CACHE: ({ info: TunnelInfo; text: string } | undefined)[] = new Array(COMMENT_CACHE_SIZE);

function commentSlot(t: TunnelInfo): number {
  let h = Math.imul(t.vni ^ (t.tpSrc << 8), 0x9e3779b1) ^ t.tpDst ^ (t.ttl << 16) ^ (t.tos << 24) ^ t.flags;
  const n = t.ipv6 ? 16 : 4;
  const s = t.src;
  const d = t.dst;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ s[i]! ^ (d[i]! << 8), 0x01000193);
  h ^= t.label ^ t.gbp;
  h ^= h >>> 15;
  return (Math.imul(h, 0x2c1b3c6d) >>> 24) & (COMMENT_CACHE_SIZE - 1);
}

