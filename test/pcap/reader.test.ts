import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { HEADROOM } from '../../pipeline/packet.js';
import { LINKTYPE } from '../../pipeline/pcap/link-type.js';
import { buildPcap, concat, custom, dsb, epb, frame, idb, isb, nrb, pb, shb, spb } from '../helpers/pcap-build.js';
import { collect, frameOf } from '../helpers/pcap-collect.js';

const Y2100 = 4102444800;

it('DataViews built with byteLength throw on out-of-range reads (the parsers rely on it)', () => {
  const backing = new Uint8Array(64);
  const sub = backing.subarray(8, 16);
  const dv = new DataView(sub.buffer, sub.byteOffset, sub.byteLength);
  expect(() => dv.getUint32(6, true)).toThrow(RangeError);
});

describe('pcap reader', () => {
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      it(`reads ${nano ? 'ns' : 'µs'} ${le ? 'little' : 'big'}-endian`, async () => {
        const frac = nano ? 999_999_999 : 999_999;
        const bytes = buildPcap({
          le,
          nano,
          snapLen: 96,
          linkType: LINKTYPE.RAW,
          records: [
            { sec: Y2100 - 1, frac, data: frame(60, 1) },
            { sec: 1, frac: 0, data: frame(96, 2), origLen: 1500 },
            { sec: 2, frac: 5, data: new Uint8Array(0) },
          ],
        });
        const { reader, packets, error, warnings } = await collect(bytes);
        if (!reader) throw error;
        expect(error).toBeNull();
        expect(warnings).toEqual([]);
        expect(reader.format).toBe('pcap');
        expect(reader.nanosecond).toBe(nano);
        expect(reader.interfaces).toEqual([{ linkType: LINKTYPE.RAW, snapLen: 96, tsUnits: nano ? 1e9 : 1e6 }]);
        expect(packets).toHaveLength(3);
        const [a, b, c] = packets;
        expect(frameOf(a!)).toEqual(frame(60, 1));
        expect([a!.tsSec, a!.tsFrac, a!.tsUnits, a!.iface, a!.linkType]).toEqual([Y2100 - 1, frac, nano ? 1e9 : 1e6, 0, LINKTYPE.RAW]);
        // Zero-copy: the frame sits in the read chunk, right after its 16-byte record header.
        expect(a!.head).toBe(24 + 16);
        expect(a!.floor).toBe(24);
        expect(a!.macOff).toBe(a!.head);
        expect(a!.origLen).toBe(60);
        expect(b!.origLen).toBe(1500);
        expect(b!.truncated).toBe(true);
        expect(c!.length).toBe(0);
        expect(reader.packetsRead).toBe(3);
        expect(reader.bytesRead).toBe(bytes.length);
      });
    }
  }

  it('masks the FCS bits off the link type field', async () => {
    const bytes = buildPcap({ le: true, linkType: 0x1000_0000 | 0x0400_0000 | LINKTYPE.ETHERNET, records: [{ sec: 1, frac: 0, data: frame(20, 1) }] });
    const { reader, packets } = await collect(bytes);
    if (!reader) throw new Error('open failed');
    expect(reader.interfaces[0]!.linkType).toBe(LINKTYPE.ETHERNET);
    expect(packets[0]!.linkType).toBe(LINKTYPE.ETHERNET);
  });

  it('accepts any snaplen, 0 meaning unlimited', async () => {
    const bytes = buildPcap({ le: true, snapLen: 0, records: [{ sec: 1, frac: 0, data: frame(9000, 1) }] });
    const { packets, error } = await collect(bytes);
    expect(error).toBeNull();
    expect(packets[0]!.length).toBe(9000);
  });

  it('carries a fraction of a second or more into the seconds', async () => {
    const bytes = buildPcap({ le: true, records: [{ sec: 10, frac: 2_500_000, data: frame(1, 1) }] });
    const { packets } = await collect(bytes);
    expect([packets[0]!.tsSec, packets[0]!.tsFrac]).toEqual([12, 500_000]);
  });

  it('hands out zero-copy packets: the chunk itself, floor at the record, a copy with HEADROOM once a push needs more', async () => {
    const bytes = buildPcap({ le: true, records: [1, 2].map((i) => ({ sec: i, frac: 0, data: frame(40, i) })) });
    const { packets } = await collect(bytes);
    const [a, b] = packets;
    expect(a!.buf).toBe(b!.buf);
    expect([a!.floor, a!.head, a!.tail, a!.headroom]).toEqual([24, 40, 80, 16]);
    expect([b!.floor, b!.head, b!.tail]).toEqual([80, 96, 136]);
    // A push that fits the dead record header stays in place and leaves the neighbours alone.
    const chunk = a!.buf;
    const at = b!.push(16);
    expect(b!.buf).toBe(chunk);
    b!.buf.fill(0xa5, at, at + 16);
    expect(frameOf(a!)).toEqual(frame(40, 1));
    // One byte more: b moves to a buffer of its own, with HEADROOM in front.
    b!.pull(16);
    b!.macOff = b!.head;
    const at2 = b!.push(17);
    expect(b!.buf).not.toBe(chunk);
    expect([b!.floor, at2, b!.macOff]).toEqual([0, HEADROOM, HEADROOM + 17]);
    expect(b!.data.subarray(17)).toEqual(frame(40, 2));
    expect(frameOf(a!)).toEqual(frame(40, 1));
  });

  it('copies records that straddle chunks, and every record with copyRecords', async () => {
    const bytes = buildPcap({ le: true, records: [1, 2, 3].map((i) => ({ sec: i, frac: 0, data: frame(40, i) })) });
    // 24 + 56 + 30: the second record straddles the first two chunks.
    const split = await collect(bytes, {}, [24 + 56 + 30, 1000]);
    // The third record starts at file offset 136, offset 26 of the second chunk (which starts at 110).
    expect(split.packets.map((p) => p.floor)).toEqual([24, 0, 26]);
    expect(split.packets[1]!.head).toBe(HEADROOM);
    expect(split.packets.map(frameOf)).toEqual([1, 2, 3].map((i) => frame(40, i)));
    const copied = await collect(bytes, { copyRecords: true });
    for (const p of copied.packets) expect([p.floor, p.head, p.buf.length]).toEqual([0, HEADROOM, HEADROOM + 40]);
    expect(copied.packets.map(frameOf)).toEqual([1, 2, 3].map((i) => frame(40, i)));
  });
});

describe('pcapng reader', () => {
  for (const le of [true, false]) {
    it(`reads a ${le ? 'little' : 'big'}-endian file with interfaces of different link types and resolutions`, async () => {
      const bytes = concat(
        shb(le),
        idb(le, { linkType: LINKTYPE.ETHERNET, snapLen: 262144, tsresol: 9, name: 'eth0', description: 'uplink ✓' }),
        idb(le, { linkType: LINKTYPE.RAW, snapLen: 0 }),
        idb(le, { linkType: LINKTYPE.LINUX_SLL2, snapLen: 65535, tsresol: 0x80 | 20 }),
        epb(le, { iface: 0, ts: BigInt(Y2100) * 1_000_000_000n + 123_456_789n, data: frame(61, 1), comments: ['first', 'second ünïcode'] }),
        epb(le, { iface: 1, ts: 1_700_000_000_000_001n, data: frame(3, 2), origLen: 1500 }),
        epb(le, { iface: 2, ts: (1_700_000_000n << 20n) + 0xabcden, data: frame(64, 3) }),
      );
      const { reader, packets, error } = await collect(bytes);
      if (!reader) throw error;
      expect(error).toBeNull();
      expect(reader.format).toBe('pcapng');
      expect(reader.nanosecond).toBe(true);
      expect(reader.interfaces).toEqual([
        { linkType: 1, snapLen: 262144, tsUnits: 1e9, name: 'eth0', description: 'uplink ✓' },
        { linkType: 101, snapLen: 0, tsUnits: 1e6 },
        { linkType: 276, snapLen: 65535, tsUnits: 2 ** 20 },
      ]);
      expect(packets.map((p) => [p.iface, p.linkType, p.tsSec, p.tsFrac, p.tsUnits, p.length, p.origLen])).toEqual([
        [0, 1, Y2100, 123_456_789, 1e9, 61, 61],
        [1, 101, 1_700_000_000, 1, 1e6, 3, 1500],
        [2, 276, 1_700_000_000, 0xabcde, 2 ** 20, 64, 64],
      ]);
      expect(packets[0]!.comments).toEqual(['first', 'second ünïcode']);
      expect(packets[1]!.comments).toBeNull();
      expect(frameOf(packets[0]!)).toEqual(frame(61, 1));
      expect(frameOf(packets[2]!)).toEqual(frame(64, 3));
    });
  }

  it('numbers interfaces cumulatively over sections, switching byte order', async () => {
    const bytes = concat(
      shb(true),
      idb(true, { linkType: 1 }),
      epb(true, { iface: 0, ts: 1_000_000n, data: frame(10, 1) }),
      shb(false),
      idb(false, { linkType: 101, tsresol: 9 }),
      idb(false, { linkType: 1 }),
      epb(false, { iface: 0, ts: 2_000_000_000n, data: frame(11, 2) }),
      epb(false, { iface: 1, ts: 3_000_000n, data: frame(12, 3) }),
      shb(true),
      idb(true, { linkType: 229 }),
      epb(true, { iface: 0, ts: 4_000_000n, data: frame(13, 4) }),
    );
    const { reader, packets, error } = await collect(bytes);
      if (!reader) throw error;
    expect(error).toBeNull();
    expect(reader.interfaces.map((i) => i.linkType)).toEqual([1, 101, 1, 229]);
    expect(packets.map((p) => [p.iface, p.linkType, p.tsSec, p.length])).toEqual([
      [0, 1, 1, 10],
      [1, 101, 2, 11],
      [2, 1, 3, 12],
      [3, 229, 4, 13],
    ]);
  });

  it('a new section forgets the previous section’s interfaces', async () => {
    const bytes = concat(shb(true), idb(true), idb(true), shb(true), idb(true), epb(true, { iface: 1, ts: 0n, data: frame(4, 1) }));
    const { error } = await collect(bytes);
    expect(error).toMatchObject({ code: 'ERR_PCAPNG_NO_INTERFACE' });
  });

  for (const le of [true, false]) {
    it(`reads simple packet blocks and obsolete packet blocks (${le ? 'LE' : 'BE'})`, async () => {
      const bytes = concat(
        shb(le),
        idb(le, { snapLen: 64, tsresol: 3 }),
        spb(le, { data: frame(60, 1) }),
        spb(le, { data: frame(64, 2), origLen: 1514 }), // cut to the snaplen
        spb(le, { data: frame(30, 3), origLen: 30 }),
        pb(le, { iface: 0, ts: 1_234_567n, data: frame(50, 4), comments: ['old'] }),
      );
      const { packets, error } = await collect(bytes);
      expect(error).toBeNull();
      expect(packets.map((p) => [p.length, p.origLen, p.tsSec, p.tsFrac, p.tsUnits])).toEqual([
        [60, 60, 0, 0, 1000],
        [64, 1514, 0, 0, 1000],
        [30, 30, 0, 0, 1000],
        [50, 50, 1234, 567, 1000],
      ]);
      expect(frameOf(packets[1]!)).toEqual(frame(64, 2));
      expect(packets[3]!.comments).toEqual(['old']);
    });
  }

  it('caps an SPB at the block body when origlen is larger and there is no snaplen', async () => {
    const bytes = concat(shb(true), idb(true, { snapLen: 0 }), spb(true, { data: frame(21, 1), origLen: 9000 }));
    const { packets } = await collect(bytes);
    // body padded to 24 bytes: the padding is not distinguishable from data in an SPB
    expect([packets[0]!.length, packets[0]!.origLen]).toEqual([24, 9000]);
    expect(frameOf(packets[0]!).subarray(0, 21)).toEqual(frame(21, 1));
  });

  for (const le of [true, false]) {
    it(`skips NRB, ISB, DSB, custom and unknown blocks (${le ? 'LE' : 'BE'})`, async () => {
      const bytes = concat(
        shb(le, { options: [{ code: 4, value: new TextEncoder().encode('someapp') }] }),
        nrb(le),
        idb(le),
        custom(le),
        epb(le, { iface: 0, ts: 1n, data: frame(10, 1) }),
        dsb(le),
        isb(le, 0),
        concat(new Uint8Array(0)),
        epb(le, { iface: 0, ts: 2n, data: frame(11, 2) }),
        // an unknown block type with a body
        (() => {
          const b = epb(le, { iface: 0, ts: 3n, data: frame(12, 3) });
          new DataView(b.buffer).setUint32(0, 0x12345, le);
          return b;
        })(),
        isb(le, 0),
      );
      const { packets, error } = await collect(bytes);
      expect(error).toBeNull();
      expect(packets.map((p) => p.tsFrac)).toEqual([1, 2]);
    });
  }

  it('applies if_tsoffset', async () => {
    const bytes = concat(shb(false), idb(false, { tsoffset: 1_000_000n }), epb(false, { iface: 0, ts: 5_000_007n, data: frame(4, 1) }));
    const { packets } = await collect(bytes);
    expect([packets[0]!.tsSec, packets[0]!.tsFrac]).toEqual([1_000_005, 7]);
  });

  it('reports nanosecond=false when the first interface is µs', async () => {
    const bytes = concat(shb(true), idb(true), idb(true, { tsresol: 9 }));
    const { reader, packets, error } = await collect(bytes);
      if (!reader) throw error;
    expect(error).toBeNull();
    expect(packets).toEqual([]);
    expect(reader.nanosecond).toBe(false);
  });
});

describe('chunking and compression', () => {
  const pcapng = concat(
    shb(false),
    idb(false, { tsresol: 9, name: 'x' }),
    ...Array.from({ length: 20 }, (_, i) => epb(false, { iface: 0, ts: BigInt(i) * 1_000_000_007n, data: frame(1 + i * 37, i), comments: i % 3 ? [] : ['c' + i] })),
    shb(true),
    idb(true, { linkType: 101 }),
    ...Array.from({ length: 5 }, (_, i) => spb(true, { data: frame(8 + i, 100 + i) })),
  );
  const pcap = buildPcap({ le: false, nano: true, records: Array.from({ length: 30 }, (_, i) => ({ sec: i, frac: i * 7, data: frame(i * 13, i) })) });

  const summary = (ps: Awaited<ReturnType<typeof collect>>['packets']) =>
    ps.map((p) => [p.iface, p.linkType, p.tsSec, p.tsFrac, p.origLen, Buffer.from(frameOf(p)).toString('hex'), p.comments]);

  for (const [name, bytes] of [
    ['pcapng', pcapng],
    ['pcap', pcap],
  ] as const) {
    it(`gives the same packets for any chunking of a ${name} file (property)`, async () => {
      const whole = summary((await collect(bytes)).packets);
      expect(whole.length).toBeGreaterThan(20);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }), async (sizes) => {
          const r = await collect(bytes, {}, sizes);
          expect(r.error).toBeNull();
          expect(summary(r.packets)).toEqual(whole);
        }),
        { numRuns: 60 },
      );
    });

    it(`reads a ${name} file one byte at a time`, async () => {
      const r = await collect(bytes, {}, [1]);
      expect(r.error).toBeNull();
      expect(summary(r.packets)).toEqual(summary((await collect(bytes)).packets));
    });

    it(`detects gzip by magic bytes (${name})`, async () => {
      const gz = new Uint8Array(gzipSync(bytes));
      for (const sizes of [undefined, [1], [5, 100]]) {
        const r = await collect(gz, {}, sizes);
        expect(r.error).toBeNull();
        expect(r.reader!.format).toBe(name);
        expect(summary(r.packets)).toEqual(summary((await collect(bytes)).packets));
      }
    });
  }

  it('reads concatenated gzip members', async () => {
    const half = Math.floor(pcap.length / 2);
    const gz = concat(gzipSync(pcap.subarray(0, half)), gzipSync(pcap.subarray(half)));
    const r = await collect(gz);
    expect(r.error).toBeNull();
    expect(r.packets).toHaveLength(30);
  });

  it('yields one batch per chunk', async () => {
    const reader = await (await import('../../pipeline/pcap/reader.js')).readCaptureFromStream(
      (await import('../helpers/pcap-collect.js')).chunked(pcap, [pcap.length >> 1]),
      { name: 'x' },
    );
    const sizes: number[] = [];
    for await (const b of reader.batches()) sizes.push(b.length);
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    expect(sizes.reduce((a, b) => a + b)).toBe(30);
  });
});
