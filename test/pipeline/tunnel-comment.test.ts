/**
 * The tunnel comment written from the fields (TunnelInfo.writeComment, what the pcapng writer
 * uses per packet) is byte for byte the text of toComment(), the general path: every field, both
 * families, every flag, values outside the fields' widths; and a pcapng file written with the
 * metadata objects equals the one written with their texts.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiBytes, putDecimal, putHex, putToken } from '../../pipeline/comment-grammar.js';
import { outputComments, writerComments } from '../../pipeline/comments.js';
import { MAX_COMMENT_BYTES, TUNNEL, TunnelInfo } from '../../pipeline/metadata.js';
import { Packet } from '../../pipeline/packet.js';
import { LINKTYPE } from '../../pipeline/pcap/link-type.js';
import { type PacketComment, createStreamWriter } from '../../pipeline/pcap/writer.js';
import { frame } from '../helpers/pcap-build.js';
import { collect } from '../helpers/pcap-collect.js';

const ALL_FLAGS = [TUNNEL.KEY, TUNNEL.CSUM, TUNNEL.DONT_FRAGMENT, TUNNEL.OAM, TUNNEL.VXLAN_OPT];

/** writeComment's bytes as text, written at an odd offset of a dirty buffer. */
function written(t: TunnelInfo, at = 3): string {
  const buf = new Uint8Array(at + t.maxCommentBytes + 8).fill(0xee);
  const end = t.writeComment(buf, at);
  expect(end - at).toBeLessThanOrEqual(t.maxCommentBytes);
  expect(buf[end]).toBe(0xee); // nothing beyond what it reports
  return Buffer.from(buf.subarray(at, end)).toString('latin1');
}

function info(o: Partial<Omit<TunnelInfo, 'src' | 'dst'>> & { src?: number[]; dst?: number[] }): TunnelInfo {
  const t = new TunnelInfo();
  const { src, dst, ...rest } = o;
  Object.assign(t, rest);
  if (src) t.src.set(src);
  if (dst) t.dst.set(dst);
  return t;
}

const uint32 = fc.oneof(fc.constantFrom(0, 1, 9, 10, 99, 100, 255, 256, 4095, 4096, 65535, 65536, 0xfffff, 0xffffff, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
/** IPv6 words with long zero runs likely (where "::" goes is the hard part). */
const word = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(1, 0xf, 0x10, 0xfff, 0x1000, 0xffff));
const address6 = fc.array(word, { minLength: 8, maxLength: 8 }).map((ws) => ws.flatMap((w) => [w >> 8, w & 0xff]));
const address4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });

const tunnelInfo = fc
  .record({
    ipv6: fc.boolean(),
    a4: address4,
    b4: address4,
    a6: address6,
    b6: address6,
    vni: uint32,
    flags: fc.subarray(ALL_FLAGS).map((fs) => fs.reduce((a, f) => a | f, 0)),
    tos: uint32,
    ttl: uint32,
    label: uint32,
    tpSrc: uint32,
    tpDst: uint32,
    gbp: uint32,
    tx: fc.boolean(),
  })
  .map(({ a4, b4, a6, b6, ...r }) => info({ ...r, src: r.ipv6 ? a6 : a4, dst: r.ipv6 ? b6 : b4 }));

describe('TunnelInfo.writeComment: the bytes of toComment()', () => {
  it('received metadata of every kind: IPv4 and IPv6 outer, DF, CSUM, TOS/TTL, ports, label, GBP, TX key', () => {
    const cases = [
      info({ vni: 42, src: [192, 0, 2, 1], dst: [192, 0, 2, 2], tos: 0, ttl: 64, tpSrc: 49152, tpDst: 4789, flags: TUNNEL.KEY | TUNNEL.CSUM }),
      info({ vni: 0, src: [0, 0, 0, 0], dst: [255, 255, 255, 255], tos: 0xfc, ttl: 255, flags: TUNNEL.KEY | TUNNEL.DONT_FRAGMENT }),
      info({ vni: 0xffffff, ipv6: true, src: [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1], dst: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, ...new Array(7).fill(0), 2], tos: 0x2b, ttl: 1, label: 0x54321, tpSrc: 65535, tpDst: 8472, flags: TUNNEL.KEY }),
      info({ vni: 7, src: [198, 51, 100, 7], dst: [203, 0, 113, 9], gbp: 0x40abcd, flags: TUNNEL.KEY | TUNNEL.VXLAN_OPT }),
      info({ vni: 7, src: [198, 51, 100, 7], dst: [203, 0, 113, 9], gbp: 0x12, flags: TUNNEL.KEY | TUNNEL.VXLAN_OPT | TUNNEL.OAM | TUNNEL.CSUM | TUNNEL.DONT_FRAGMENT, tx: true }),
      info({ flags: 0 }), // flags=none
      info({ ipv6: true, flags: 0, label: 0 }), // "::" for both addresses
      info({ ipv6: true, src: [...new Array(15).fill(0), 1], dst: [0xfe, 0x80, ...new Array(14).fill(0)] }),
    ];
    for (const t of cases) expect(written(t)).toBe(t.toComment());
    expect(written(cases[0]!)).toBe('tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=49152 tpDst=4789 flags=key,csum');
  });

  it('IPv6 zero runs: one "::" at the first longest run of two or more zero words, single zero words kept', () => {
    const words = (ws: number[]) => ws.flatMap((w) => [w >> 8, w & 0xff]);
    const shapes = [
      [0, 0, 0, 0, 0, 0, 0, 0],
      [1, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 1],
      [1, 0, 1, 0, 1, 0, 1, 0], // no run of two: no "::"
      [1, 0, 0, 1, 0, 0, 1, 1], // tie: the first
      [1, 0, 0, 1, 0, 0, 0, 1], // the longer, later run
      [0, 0, 1, 1, 1, 1, 0, 0],
      [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xabcd],
      [0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff],
    ];
    for (const s of shapes) {
      const t = info({ ipv6: true, src: words(s), dst: words([...s].reverse()) });
      expect(written(t)).toBe(t.toComment());
    }
  });

  it('random metadata (fast-check): equal texts, at any buffer offset', () => {
    fc.assert(
      fc.property(tunnelInfo, fc.integer({ min: 0, max: 7 }), (t, at) => {
        expect(written(t, at)).toBe(t.toComment());
      }),
      { numRuns: 3000 },
    );
  });

  it('values outside the fields\' widths (library users can set anything) take the text path: still equal', () => {
    const odd = [-1, 1.5, 2 ** 32, 2 ** 53, -(2 ** 31), Number.NaN, Number.POSITIVE_INFINITY, -1.2345678901234567e-300];
    for (const key of ['vni', 'tos', 'ttl', 'tpSrc', 'tpDst', 'label', 'gbp'] as const) {
      for (const v of odd) {
        const t = info({ ipv6: true, flags: TUNNEL.KEY | TUNNEL.VXLAN_OPT, [key]: v });
        expect(written(t)).toBe(t.toComment());
      }
    }
    // In range, every field at its longest: within MAX_COMMENT_BYTES.
    const longest = info({ ipv6: true, tx: true, flags: ALL_FLAGS.reduce((a, f) => a | f, 0), src: new Array(16).fill(0xff), dst: new Array(16).fill(0xff) });
    for (const key of ['vni', 'tos', 'ttl', 'tpSrc', 'tpDst', 'label', 'gbp'] as const) longest[key] = 2 ** 32 - 1;
    expect(longest.maxCommentBytes).toBe(MAX_COMMENT_BYTES);
    expect(written(longest)).toBe(longest.toComment());
    expect(longest.toComment().length).toBeLessThanOrEqual(MAX_COMMENT_BYTES);
    // Out of range, the text can be long ((1e-300).toString(16) has hundreds of digits): the bound follows it.
    for (const key of ['vni', 'tos', 'ttl', 'tpSrc', 'tpDst', 'label', 'gbp'] as const) longest[key] = -1.2345678901234567e-300;
    expect(longest.toComment().length).toBeGreaterThan(MAX_COMMENT_BYTES);
    expect(longest.maxCommentBytes).toBe(longest.toComment().length);
    expect(written(longest)).toBe(longest.toComment());
  });

  it('a written comment reads back (fromComment) as the same metadata', () => {
    fc.assert(
      fc.property(tunnelInfo, (t) => {
        t.vni &= 0xffffff;
        t.tos &= 0xff;
        t.ttl &= 0xff;
        t.tpSrc &= 0xffff;
        t.tpDst &= 0xffff;
        t.label &= 0xfffff;
        const back = TunnelInfo.fromComment(written(t))!;
        expect(back).not.toBeNull();
        expect(back.toComment()).toBe(t.toComment());
      }),
      { numRuns: 500 },
    );
  });
});

describe('TunnelInfo addresses (views into shared blocks)', () => {
  it('each object\'s src and dst are its own 16 zero bytes, across block boundaries, and clones copy them', () => {
    const all = Array.from({ length: 1000 }, () => new TunnelInfo());
    all.forEach((t, i) => {
      expect(t.src.length).toBe(16);
      expect(t.dst.length).toBe(16);
      expect([...t.src, ...t.dst].every((b) => b === 0)).toBe(true);
      t.src.fill(i & 0xff);
      t.dst.fill(~i & 0xff);
    });
    all.forEach((t, i) => {
      expect([...t.src]).toEqual(new Array(16).fill(i & 0xff));
      expect([...t.dst]).toEqual(new Array(16).fill(~i & 0xff));
    });
    const c = all[7]!.clone();
    all[7]!.src.fill(0);
    expect([...c.src]).toEqual(new Array(16).fill(7));
  });
});

describe('TunnelInfo addresses a word at a time (reset, readAddresses, srcUnset/dstUnset, copyFrom)', () => {
  it('reset zeroes every byte of both addresses; copyFrom copies all 32', () => {
    const t = new TunnelInfo();
    t.src.forEach((_, i) => (t.src[i] = i + 1));
    t.dst.forEach((_, i) => (t.dst[i] = 0xf0 + i));
    const c = new TunnelInfo();
    c.copyFrom(t);
    expect([...c.src, ...c.dst]).toEqual([...t.src, ...t.dst]);
    t.reset();
    expect([...t.src, ...t.dst].every((b) => b === 0)).toBe(true);
  });

  it('readAddresses takes 4 or 16 bytes from a frame at any offset, the rest of each address zeroed', () => {
    const backing = new Uint8Array(200).map((_, i) => (i * 37 + 11) & 0xff);
    for (const frame of [backing, backing.subarray(13)]) {
      for (const [srcOff, dstOff] of [[0, 4], [26, 30], [45, 61], [7, 150]] as const) {
        for (const v6 of [false, true]) {
          const t = new TunnelInfo();
          t.src.fill(0xee);
          t.dst.fill(0xee);
          t.readAddresses(frame, srcOff, dstOff, v6);
          const n = v6 ? 16 : 4;
          const want = (off: number) => [...frame.subarray(off, off + n), ...new Array(16 - n).fill(0)];
          expect([...t.src], `src ${srcOff} v6 ${v6}`).toEqual(want(srcOff));
          expect([...t.dst], `dst ${dstOff} v6 ${v6}`).toEqual(want(dstOff));
        }
      }
    }
  });

  it('srcUnset and dstUnset: all zero over the family\'s length, bytes past an IPv4 address not counted', () => {
    for (const v6 of [false, true]) {
      const t = new TunnelInfo();
      t.ipv6 = v6;
      expect(t.srcUnset && t.dstUnset).toBe(true);
      for (let i = 0; i < 16; i++) {
        for (const which of ['src', 'dst'] as const) {
          t.reset();
          t.ipv6 = v6;
          t[which][i] = 1;
          const set = i < (v6 ? 16 : 4);
          expect(t.srcUnset, `${which}[${i}] v6 ${v6}`).toBe(!(which === 'src' && set));
          expect(t.dstUnset, `${which}[${i}] v6 ${v6}`).toBe(!(which === 'dst' && set));
        }
      }
    }
  });
});

describe('TunnelInfo.equals', () => {
  it('holds for a clone and fails when any one field or address byte differs, booleans both ways', () => {
    const base = () => info({ vni: 42, flags: TUNNEL.KEY | TUNNEL.CSUM, tos: 0x10, ttl: 64, label: 0x12345, tpSrc: 4789, tpDst: 8472, gbp: 7, src: [192, 0, 2, 1], dst: [192, 0, 2, 2] });
    const numbers = ['vni', 'flags', 'tos', 'ttl', 'label', 'tpSrc', 'tpDst', 'gbp'] as const;
    for (const v6 of [false, true]) {
      for (const tx of [false, true]) {
        const a = base();
        a.ipv6 = v6;
        a.tx = tx;
        expect(a.equals(a.clone())).toBe(true);
        for (const k of numbers) {
          const b = a.clone();
          b[k] += 1;
          expect(a.equals(b), k).toBe(false);
          expect(b.equals(a), k).toBe(false);
        }
        // Values beyond 32 bits (library users can set anything) are compared as they are.
        const far = a.clone();
        far.vni = 2 ** 32 + 42;
        expect(a.equals(far)).toBe(false);
        for (const k of ['ipv6', 'tx'] as const) {
          const b = a.clone();
          b[k] = !b[k];
          expect(a.equals(b), k).toBe(false);
          expect(b.equals(a), k).toBe(false);
        }
        // Address bytes count over the family's length only.
        for (let i = 0; i < 16; i++) {
          for (const which of ['src', 'dst'] as const) {
            const b = a.clone();
            b[which][i] ^= 1;
            expect(a.equals(b), `${which}[${i}]`).toBe(i >= (v6 ? 16 : 4));
          }
        }
      }
    }
  });
});

describe('comment grammar token writers', () => {
  it('putDecimal is String(n) and putHex is toString(16).padStart for every width, 0..2^32-1', () => {
    const buf = new Uint8Array(16);
    const text = (end: number, at: number) => Buffer.from(buf.subarray(at, end)).toString('latin1');
    const check = (n: number) => {
      expect(text(putDecimal(buf, 1, n), 1)).toBe(String(n));
      for (const d of [1, 2, 5, 6, 8]) expect(text(putHex(buf, 2, n, d), 2)).toBe(n.toString(16).padStart(d, '0'));
    };
    for (let p = 1; p <= 2 ** 32; p *= 10) [p - 1, p, p + 1].forEach((n) => n >= 0 && n < 2 ** 32 && check(n));
    for (let s = 0; s < 32; s++) [2 ** s - 1, 2 ** s, 2 ** s + 1].forEach((n) => n < 2 ** 32 && check(n));
    fc.assert(fc.property(uint32, (n) => check(n)), { numRuns: 2000 });
    expect(text(putToken(buf, 0, asciiBytes(' x=')), 0)).toBe(' x=');
    expect(() => asciiBytes('é')).toThrow(/not ASCII/);
  });
});

/** A pcapng file in memory. */
async function pcapng(fill: (write: (p: Packet, comments: readonly PacketComment[] | null) => void) => void): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk));
      cb();
    },
  });
  const w = createStreamWriter(sink, { format: 'pcapng' });
  w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 0, tsUnits: 1e9 });
  fill((p, c) => w.write(p, 0, c));
  await w.close();
  return Buffer.concat(parts);
}

describe('pcapng writer: metadata written from the fields equals its text', () => {
  it('same file bytes for every packet length (padding), comment mix and order; reads back the same', async () => {
    const samples = fc.sample(tunnelInfo, { numRuns: 120, seed: 12 });
    const packets = samples.map((t, i) => {
      const p = Packet.fromBytes(frame(14 + (i % 9) * 7 + (i % 4), i));
      p.tsSec = 1_700_000_000 + i;
      p.tsFrac = i * 1000;
      p.tsUnits = 1e9;
      p.tunnel = i % 5 === 4 ? null : t;
      if (i % 3 === 1) p.comments = ['captured on eth0', 'é ünïcode'.slice(0, 1 + (i % 9))];
      if (i % 4 === 2) p.notes = ['a stage note', 'x'.repeat(i % 5)];
      return p;
    });
    const byText = await pcapng((write) => packets.forEach((p) => write(p, outputComments(p))));
    const byFields = await pcapng((write) => packets.forEach((p) => write(p, writerComments(p))));
    expect(byFields.equals(byText)).toBe(true);
    // Read back: the tunnel comment between the packet's own comments and its notes.
    const back = await collect(byFields);
    expect(back.error).toBeNull();
    expect(back.packets.map((p) => p.comments ?? null)).toEqual(packets.map((p) => outputComments(p)));
  });

  it('writerComments: the packet\'s own comments, the TunnelInfo itself, then notes; null without any', () => {
    const p = Packet.fromBytes(frame(60, 1));
    expect(writerComments(p)).toBeNull();
    p.comments = ['own'];
    expect(writerComments(p)).toBe(p.comments);
    const t = info({ vni: 5 });
    p.tunnel = t;
    p.notes = ['note'];
    expect(writerComments(p)).toEqual(['own', t, 'note']);
    expect(p.comments).toEqual(['own']); // not modified
    p.comments = p.notes = null;
    expect(writerComments(p)).toEqual([t]);
  });
});
