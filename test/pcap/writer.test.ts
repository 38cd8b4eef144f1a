import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Packet } from '../../pipeline/packet.js';
import { CaptureWriteError } from '../../pipeline/pcap/errors.js';
import { LINKTYPE } from '../../pipeline/pcap/link-type.js';
import { openCapture, readPackets } from '../../pipeline/pcap/reader.js';
import { type CaptureWriter, type WriteOptions, createFileWriter, createStreamWriter, formatFromPath } from '../../pipeline/pcap/writer.js';
import { buildPcap, concat, epb, frame, idb, shb, spb, strOpt } from '../helpers/pcap-build.js';
import { collect, frameOf, withTempDir } from '../helpers/pcap-collect.js';

const Y2100 = 4102444800;

function pkt(data: Uint8Array, ts: [number, number, number], origLen = data.length): Packet {
  const p = Packet.fromBytes(data, origLen);
  [p.tsSec, p.tsFrac, p.tsUnits] = ts;
  return p;
}

/** A Writable collecting everything written into one buffer. */
function memorySink(opts: { highWaterMark?: number; delay?: boolean } = {}): { stream: Writable; bytes: () => Uint8Array } {
  const parts: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: opts.highWaterMark ?? 16384,
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk));
      if (opts.delay) setImmediate(cb);
      else cb();
    },
  });
  return { stream, bytes: () => new Uint8Array(Buffer.concat(parts)) };
}

async function writeToMemory(opts: WriteOptions, fill: (w: CaptureWriter) => void): Promise<Uint8Array> {
  const sink = memorySink();
  const w = createStreamWriter(sink.stream, opts);
  fill(w);
  await w.close();
  return sink.bytes();
}

describe('pcap writer', () => {
  it('writes exactly the bytes of a hand-built µs pcap', async () => {
    const out = await writeToMemory({ format: 'pcap' }, (w) => {
      expect(w.addInterface({ linkType: LINKTYPE.RAW, snapLen: 65535, tsUnits: 1e6 })).toBe(0);
      w.write(pkt(frame(60, 1), [1_700_000_000, 123_456, 1e6]), 0, ['ignored']);
      w.write(pkt(frame(33, 2), [Y2100, 999_999_999, 1e9], 1500), 0, null); // ns → µs, toward zero
      w.write(pkt(frame(5, 3), [7, (2 ** 20) - 1, 2 ** 20]), 0, null);
    });
    const want = buildPcap({
      le: true,
      snapLen: 262144, // never below 262144 unless opts.snapLen says so
      linkType: LINKTYPE.RAW,
      records: [
        { sec: 1_700_000_000, frac: 123_456, data: frame(60, 1) },
        { sec: Y2100, frac: 999_999, data: frame(33, 2), origLen: 1500 },
        { sec: 7, frac: 999_999, data: frame(5, 3) },
      ],
    });
    expect(Buffer.from(out).toString('hex')).toBe(Buffer.from(want).toString('hex'));
  });

  it('writes the ns magic and ns timestamps', async () => {
    const out = await writeToMemory({ format: 'pcap', nanosecond: true }, (w) => {
      w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e9 });
      w.write(pkt(frame(10, 1), [5, 123_456_789, 1e9]), 0, null);
      w.write(pkt(frame(10, 2), [5, 654_321, 1e6]), 0, null);
    });
    const want = buildPcap({ le: true, nano: true, snapLen: 262144, records: [
      { sec: 5, frac: 123_456_789, data: frame(10, 1) },
      { sec: 5, frac: 654_321_000, data: frame(10, 2) },
    ] });
    expect(out).toEqual(want);
  });

  it('takes further interfaces of the same link type and refuses another link type', async () => {
    const sink = memorySink();
    const w = createStreamWriter(sink.stream, { format: 'pcap' });
    expect(w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e6 })).toBe(0);
    expect(w.addInterface({ linkType: 1, snapLen: 100, tsUnits: 1e9 })).toBe(0);
    expect(() => w.addInterface({ linkType: 101, snapLen: 0, tsUnits: 1e6 })).toThrow(
      expect.objectContaining({ code: 'ERR_PCAP_LINKTYPE_MIXED', name: 'CaptureWriteError' }),
    );
    expect(() => w.write(pkt(frame(1, 1), [0, 0, 1e6]), 1, null)).toThrow(expect.objectContaining({ code: 'ERR_CAPTURE_BAD_INTERFACE' }));
    expect(() => w.write(pkt(frame(1, 1), [2 ** 32, 0, 1e6]), 0, null)).toThrow(expect.objectContaining({ code: 'ERR_CAPTURE_TIMESTAMP_RANGE' }));
    await w.close();
    expect(() => w.write(pkt(frame(1, 1), [0, 0, 1e6]), 0, null)).toThrow(CaptureWriteError);
  });

  it('packets grown beyond the input snaplen stay readable', async () => {
    const out = await writeToMemory({ format: 'pcap' }, (w) => {
      w.addInterface({ linkType: 1, snapLen: 96, tsUnits: 1e6 });
      w.write(pkt(frame(146, 1), [1, 0, 1e6], 1564), 0, null);
    });
    const r = await collect(out);
    expect(r.error).toBeNull();
    expect([r.packets[0]!.length, r.packets[0]!.origLen]).toEqual([146, 1564]);
  });

  it('an output without interfaces is a valid empty Ethernet pcap', async () => {
    const out = await writeToMemory({ format: 'pcap' }, () => {});
    expect(out).toEqual(buildPcap({ le: true, snapLen: 262144, linkType: 1, records: [] }));
  });

  it('cuts packets to snapLen, keeping origLen', async () => {
    const out = await writeToMemory({ format: 'pcap', snapLen: 64 }, (w) => {
      w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e6 });
      w.write(pkt(frame(100, 1), [1, 0, 1e6]), 0, null);
    });
    const r = await collect(out);
    expect(r.reader!.interfaces[0]!.snapLen).toBe(64);
    expect([r.packets[0]!.length, r.packets[0]!.origLen]).toEqual([64, 100]);
    expect(frameOf(r.packets[0]!)).toEqual(frame(100, 1).subarray(0, 64));
  });
});

describe('pcapng writer', () => {
  it('writes exactly the bytes of a hand-built little-endian pcapng', async () => {
    const out = await writeToMemory({ format: 'pcapng' }, (w) => {
      expect(w.addInterface({ linkType: 1, snapLen: 262144, tsUnits: 1e9, name: 'eth0', description: 'uplink ✓' })).toBe(0);
      expect(w.addInterface({ linkType: 101, snapLen: 0, tsUnits: 1e6 })).toBe(1);
      expect(w.addInterface({ linkType: 276, snapLen: 65535, tsUnits: 2 ** 20 })).toBe(2);
      w.write(pkt(frame(61, 1), [Y2100, 123_456_789, 1e9]), 0, ['first', 'sécond']);
      w.write(pkt(frame(3, 2), [1_700_000_000, 1, 1e6], 1500), 1, null);
      w.write(pkt(frame(64, 3), [1_700_000_000, 0xabcde, 2 ** 20]), 2, []);
      w.write(pkt(frame(8, 4), [1, 500_000, 1e6]), 0, null); // µs packet on a ns interface
    });
    const want = concat(
      shb(true, { options: [strOpt(4, 'capflow')] }),
      idb(true, { linkType: 1, snapLen: 262144, name: 'eth0', description: 'uplink ✓', tsresol: 9 }),
      idb(true, { linkType: 101, snapLen: 0 }),
      idb(true, { linkType: 276, snapLen: 262144, tsresol: 0x80 | 20 }),
      epb(true, { iface: 0, ts: BigInt(Y2100) * 1_000_000_000n + 123_456_789n, data: frame(61, 1), comments: ['first', 'sécond'] }),
      epb(true, { iface: 1, ts: 1_700_000_000_000_001n, data: frame(3, 2), origLen: 1500 }),
      epb(true, { iface: 2, ts: (1_700_000_000n << 20n) + 0xabcden, data: frame(64, 3) }),
      epb(true, { iface: 0, ts: 1_500_000_000n, data: frame(8, 4) }),
    );
    expect(Buffer.from(out).toString('hex')).toBe(Buffer.from(want).toString('hex'));
  });

  it('round-trips a multi-section big-endian capture with comments and SPBs', async () => {
    const input = concat(
      shb(false),
      idb(false, { linkType: 1, tsresol: 9, name: 'a' }),
      idb(false, { linkType: 101, tsresol: 0x80 | 30 }),
      epb(false, { iface: 0, ts: BigInt(Y2100) * 1_000_000_000n + 7n, data: frame(70, 1), comments: ['x', 'y', 'z'] }),
      epb(false, { iface: 1, ts: (1_600_000_000n << 30n) + (1n << 29n) + 1n, data: frame(21, 2) }),
      shb(true),
      idb(true, { linkType: 229, snapLen: 128 }),
      spb(true, { data: frame(40, 3) }),
      epb(true, { iface: 0, ts: 5n, data: frame(1, 4), origLen: 9000 }),
    );
    const a = await collect(input);
    expect(a.error).toBeNull();
    const out = await writeToMemory({ format: 'pcapng' }, (w) => {
      const ids = a.reader!.interfaces.map((i) => w.addInterface(i));
      for (const p of a.packets) w.write(p, ids[p.iface]!, p.comments);
    });
    const b = await collect(out);
    expect(b.error).toBeNull();
    // snaplens below 262144 are raised (stages may grow packets); everything else is kept
    expect(b.reader!.interfaces).toEqual(a.reader!.interfaces.map((i) => ({ ...i, snapLen: i.snapLen === 0 ? 0 : Math.max(i.snapLen, 262144) })));
    const view = (ps: Packet[]) => ps.map((p) => [p.iface, p.linkType, p.tsSec, p.tsFrac, p.tsUnits, p.origLen, p.comments, Buffer.from(frameOf(p)).toString('hex')]);
    expect(view(b.packets)).toEqual(view(a.packets));
  });

  it('writes interfaces with units that if_tsresol cannot express as nanoseconds', async () => {
    const out = await writeToMemory({ format: 'pcapng' }, (w) => {
      w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 3000 });
      w.write(pkt(frame(4, 1), [10, 1500, 3000]), 0, null);
    });
    const r = await collect(out);
    expect(r.reader!.interfaces[0]!.tsUnits).toBe(1e9);
    expect([r.packets[0]!.tsSec, r.packets[0]!.tsFrac]).toEqual([10, 500_000_000]);
  });

  it('cuts very long comments at a character boundary within 65535 bytes', async () => {
    const long = 'é'.repeat(40000); // 80000 bytes of UTF-8
    const out = await writeToMemory({ format: 'pcapng' }, (w) => {
      w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e6 });
      w.write(pkt(frame(4, 1), [0, 0, 1e6]), 0, [long, 'short']);
    });
    const r = await collect(out);
    expect(r.error).toBeNull();
    expect(r.packets[0]!.comments).toEqual(['é'.repeat(32767), 'short']);
  });

  it('refuses unknown interfaces and out-of-range timestamps', async () => {
    const w = createStreamWriter(memorySink().stream, { format: 'pcapng' });
    w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e9 });
    expect(() => w.write(pkt(frame(1, 1), [0, 0, 1e6]), 1, null)).toThrow(expect.objectContaining({ code: 'ERR_CAPTURE_BAD_INTERFACE' }));
    expect(() => w.write(pkt(frame(1, 1), [2 ** 40, 0, 1e9]), 0, null)).toThrow(expect.objectContaining({ code: 'ERR_CAPTURE_TIMESTAMP_RANGE' }));
    await w.close();
  });
});

describe('backpressure', () => {
  it('write() returns false when the stream is full, and flush() waits for drain', async () => {
    const sink = memorySink({ highWaterMark: 1024, delay: true });
    const w = createStreamWriter(sink.stream, { format: 'pcap' });
    w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e6 });
    let falses = 0;
    const n = 3000;
    for (let i = 0; i < n; i++) {
      if (!w.write(pkt(frame(1000, i), [i, 0, 1e6]), 0, null)) {
        falses++;
        await w.flush();
      }
    }
    await w.close();
    expect(falses).toBeGreaterThan(0);
    expect(w.packetsWritten).toBe(n);
    expect(w.bytesWritten).toBe(24 + n * 1016);
    const r = await collect(sink.bytes());
    expect(r.packets).toHaveLength(n);
    expect(frameOf(r.packets[n - 1]!)).toEqual(frame(1000, n - 1));
  });
});

describe('file output', () => {
  it('formatFromPath', () => {
    expect(formatFromPath('a/b.pcap')).toEqual({ format: 'pcap', gzip: false });
    expect(formatFromPath('B.PCAPNG')).toEqual({ format: 'pcapng', gzip: false });
    expect(formatFromPath('x.cap.gz')).toEqual({ format: 'pcap', gzip: true });
    expect(formatFromPath('x.pcapng.gz')).toEqual({ format: 'pcapng', gzip: true });
    expect(formatFromPath('x.gz')).toBeNull();
    expect(formatFromPath('x.txt')).toBeNull();
  });

  it('writes through a temp file in the same directory and renames it on close', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'out.pcapng');
      await writeFile(path, 'old contents');
      const w = await createFileWriter(path, { format: 'pcapng' });
      w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e6 });
      w.write(pkt(frame(50, 1), [1, 2, 1e6]), 0, ['c']);
      await w.flush();
      const during = await readdir(dir);
      expect(during).toHaveLength(2);
      expect(during.find((f) => f !== 'out.pcapng')).toMatch(new RegExp(`^\\.out\\.pcapng\\.capflow-${process.pid}-[0-9a-f]+\\.tmp$`));
      expect(await readFile(path, 'utf8')).toBe('old contents');
      await w.close();
      expect(await readdir(dir)).toEqual(['out.pcapng']);
      const ps = [];
      for await (const p of readPackets(path, { name: path })) ps.push(p);
      expect(ps.map((p) => p.comments)).toEqual([['c']]);
    });
  });

  it('abort() removes the temp file and leaves the target alone', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'out.pcap');
      await writeFile(path, 'old contents');
      const w = await createFileWriter(path, { format: 'pcap' });
      w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e6 });
      for (let i = 0; i < 2000; i++) w.write(pkt(frame(1000, i), [1, 2, 1e6]), 0, null);
      await w.abort();
      expect(await readdir(dir)).toEqual(['out.pcap']);
      expect(await readFile(path, 'utf8')).toBe('old contents');
      const fresh = await createFileWriter(join(dir, 'never.pcap'), { format: 'pcap' });
      await fresh.abort();
      expect(existsSync(join(dir, 'never.pcap'))).toBe(false);
      expect(await readdir(dir)).toEqual(['out.pcap']);
    });
  });

  it('rejects when the directory does not exist', async () => {
    await withTempDir(async (dir) => {
      await expect(createFileWriter(join(dir, 'missing', 'x.pcap'), { format: 'pcap' })).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  for (const format of ['pcap', 'pcapng'] as const) {
    it(`gzip output (${format}) is gzip and reads back`, async () => {
      await withTempDir(async (dir) => {
        const path = join(dir, `out.${format}.gz`);
        const w = await createFileWriter(path, { format, gzip: true, nanosecond: true });
        w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e9 });
        for (let i = 0; i < 500; i++) w.write(pkt(frame(200 + i, i), [i, i * 3, 1e9]), 0, null);
        await w.close();
        const raw = await readFile(path);
        expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
        expect(gunzipSync(raw).length).toBe(w.bytesWritten);
        const r = await openCapture(path, { name: path });
        expect(r.format).toBe(format);
        let n = 0;
        for await (const b of r.batches()) {
          for (const p of b) {
            expect([p.tsSec, p.tsFrac, p.length]).toEqual([n, n * 3, 200 + n]);
            n++;
          }
        }
        expect(n).toBe(500);
      });
    });
  }

  it('openCapture reports a missing file with the system error', async () => {
    await withTempDir(async (dir) => {
      await expect(openCapture(join(dir, 'nope.pcap'), { name: 'nope.pcap' })).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
});
