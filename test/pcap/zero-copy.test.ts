/**
 * Zero-copy reading and writing: reader packets reference the read chunk (floor at their record),
 * the pcap writer hands unchanged records to the output as views of that chunk, and the file
 * output keeps several writes in flight. Every path must give the same bytes as the copying one.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEADROOM, Packet } from '../../pipeline/packet.js';
import { READ_CHUNK_SIZE, openCapture, readCaptureFromStream } from '../../pipeline/pcap/reader.js';
import { createFileWriter, createStreamWriter } from '../../pipeline/pcap/writer.js';
import { FILE_WRITES_IN_FLIGHT } from '../../pipeline/pcap/output.js';
import { WRITE_CHUNK_SIZE } from '../../pipeline/pcap/write-buffer.js';
import { buildPcap, concat, frame, pcapHeader, pcapRecord } from '../helpers/pcap-build.js';
import { chunked, collect, frameOf, withTempDir } from '../helpers/pcap-collect.js';
import { Writable } from 'node:stream';

/** A pcap of `n` records with varied sizes (so records straddle any chunking). */
function records(le: boolean, n: number, nano = false): Uint8Array {
  return buildPcap({
    le,
    nano,
    records: Array.from({ length: n }, (_, i) => ({ sec: 1_700_000_000 + i, frac: i * 7, data: frame(60 + ((i * 131) % 1400), i), origLen: i % 5 === 0 ? 2000 : undefined })),
  });
}

/** Read `bytes` (cut into chunks of `sizes`), apply `edit`, write pcap; returns the output bytes. */
async function passthrough(
  bytes: Uint8Array,
  sizes: number[],
  edit: (p: Packet, i: number) => void = () => {},
  copyRecords = false,
  shared?: { chunks: number },
): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  const inputs = new Set<ArrayBufferLike>();
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      if (shared && inputs.has(chunk.buffer)) shared.chunks++;
      parts.push(Buffer.from(chunk));
      cb();
    },
  });
  const reader = await readCaptureFromStream(chunked(bytes, sizes), { name: 't', copyRecords });
  const w = createStreamWriter(sink, { format: 'pcap', nanosecond: reader.nanosecond });
  w.addInterface(reader.interfaces[0]!);
  let i = 0;
  for await (const batch of reader.batches()) {
    for (const p of batch) {
      inputs.add(p.buf.buffer);
      edit(p, i++);
      if (!w.write(p, 0, null)) await w.flush();
    }
  }
  await w.close();
  return new Uint8Array(Buffer.concat(parts));
}

describe('zero-copy pcap passthrough', () => {
  for (const le of [true, false]) {
    for (const sizes of [[1 << 20], [4096], [1000, 17, 3000]]) {
      it(`${le ? 'LE' : 'BE'} input in chunks of ${sizes.join('/')}: same bytes as the copying path`, async () => {
        const bytes = records(le, 300);
        const shared = { chunks: 0 };
        const viaChunks = await passthrough(bytes, sizes, undefined, false, shared);
        const copied = await passthrough(bytes, sizes, undefined, true);
        // LE µs records are handed to the output as views of the input chunks; BE ones are rewritten.
        if (le) expect(shared.chunks).toBeGreaterThan(0);
        else expect(shared.chunks).toBe(0);
        expect(Buffer.compare(viaChunks, copied)).toBe(0);
        // LE µs input: the records are written back unchanged (the header's snaplen is raised to 262144).
        if (le) expect(Buffer.compare(viaChunks.subarray(24), bytes.subarray(24))).toBe(0);
      });
    }
  }

  it('packets changed by stages are written as changed, their neighbours unchanged', async () => {
    const bytes = records(true, 200);
    const edit = (p: Packet, i: number): void => {
      if (i % 3 === 0) {
        // MPLS-like insert after the MAC addresses: 4 bytes, fits the dead record header.
        const at = p.insertAt(p.head + 12, 4);
        p.buf.set([0x88, 0x47, 0, i & 0xff], at);
      } else if (i % 3 === 1) {
        // A VXLAN-sized push: the packet is copied out of the chunk.
        const at = p.push(50);
        p.buf.fill(i & 0xff, at, at + 50);
      } else if (i % 7 === 0) {
        p.tsFrac += 1; // header differs from the input's: copied
      }
    };
    const zero = await passthrough(bytes, [5000], edit);
    const copy = await passthrough(bytes, [5000], edit, true);
    expect(Buffer.compare(zero, copy)).toBe(0);
    const back = await collect(zero);
    expect(back.packets).toHaveLength(200);
    expect(frameOf(back.packets[2]!)).toEqual(frame(60 + ((2 * 131) % 1400), 2));
  });

  it('push/pull inside the headroom never touches the previous record', async () => {
    const bytes = records(true, 50);
    const { packets } = await collect(bytes);
    for (const p of packets) {
      const n = p.headroom;
      expect(n).toBe(16);
      const at = p.push(n);
      expect(at).toBe(p.floor);
      p.buf.fill(0xa5, at, at + n);
    }
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      expect(p.data.subarray(16)).toEqual(frame(60 + ((i * 131) % 1400), i));
    }
  });

  it('clone() is a compact copy with HEADROOM, offsets shifted', async () => {
    const { packets } = await collect(records(true, 3));
    const p = packets[1]!;
    p.netOff = p.head + 14;
    const c = p.clone();
    expect(c.buf).not.toBe(p.buf);
    expect([c.floor, c.head, c.buf.length, c.netOff, c.macOff]).toEqual([0, HEADROOM, HEADROOM + p.length, HEADROOM + 14, HEADROOM]);
    expect(frameOf(c)).toEqual(frameOf(p));
  });
});

describe.each([false, true])('file I/O with read-ahead (syncReads: %s) and writes in flight', (syncReads) => {
  it('copies a multi-chunk capture exactly (records straddling read chunks)', async () => {
    await withTempDir(async (dir) => {
      // A slab of ~1 MiB of odd-sized records, repeated past several read and write chunks.
      const slab: Uint8Array[] = [];
      let size = 0;
      for (let i = 0; size < 1 << 20; i++) {
        const r = pcapRecord(true, { sec: 1_700_000_000 + i, frac: i, data: frame(1000 + ((i * 37) % 517), i) });
        slab.push(r);
        size += r.length;
      }
      const one = concat(...slab);
      const reps = Math.ceil((2 * READ_CHUNK_SIZE + FILE_WRITES_IN_FLIGHT * WRITE_CHUNK_SIZE) / one.length) + 1;
      const input = concat(pcapHeader({ le: true, snapLen: 262144 }), ...Array.from({ length: reps }, () => one));
      const src = join(dir, 'in.pcap');
      await writeFile(src, input);
      const reader = await openCapture(src, { name: src, syncReads });
      const dst = join(dir, 'out.pcap');
      const w = await createFileWriter(dst, { format: 'pcap' });
      w.addInterface(reader.interfaces[0]!);
      let falses = 0;
      for await (const batch of reader.batches()) {
        let ok = true;
        for (const p of batch) ok = w.write(p, 0, null) && ok;
        if (!ok) {
          falses++;
          await w.flush();
        }
      }
      await w.close();
      expect(w.bytesWritten).toBe(input.length);
      expect(Buffer.compare(await readFile(dst), input)).toBe(0);
      expect(await readdir(dir)).toEqual(['in.pcap', 'out.pcap'].sort());
      expect(falses).toBeGreaterThanOrEqual(0);
    });
  }, 60_000);

  it('a failed write rejects flush/close and leaves no output behind', async () => {
    await withTempDir(async (dir) => {
      const dst = join(dir, 'out.pcap');
      const w = await createFileWriter(dst, { format: 'pcap' });
      w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e6 });
      const p = Packet.fromBytes(frame(1000, 1));
      // A timestamp pcap can't hold throws synchronously, before anything is queued.
      p.tsSec = 2 ** 40;
      expect(() => w.write(p, 0, null)).toThrow();
      await w.abort();
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('an input that is not a regular file (a directory) rejects', async () => {
    await withTempDir(async (dir) => {
      await expect(openCapture(dir, { name: dir })).rejects.toMatchObject({ code: 'EISDIR' });
      await expect(openCapture(join(dir, 'missing.pcap'), { name: 'x' })).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
});
