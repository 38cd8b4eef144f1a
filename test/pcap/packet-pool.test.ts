/**
 * A reader that recycles its chunks (the run loop's) reuses its Packet objects too, and reads into
 * slots of the I/O memory, from which writers copy frames with copyWithin. Each must give what the
 * general path gives: fresh packets, and frames copied through a view.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Packet } from '../../pipeline/packet.js';
import { READ_CHUNK_SIZE, openCapture } from '../../pipeline/pcap/reader.js';
import { PacketPool } from '../../pipeline/pcap/packet-pool.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { WriteBuffer } from '../../pipeline/pcap/write-buffer.js';
import { slotMemoryOf, slotsTaken, takeSlot, giveSlot } from '../../pipeline/pcap/io-slots.js';
import type { ByteOutput } from '../../pipeline/pcap/output.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { parseStageSpec, resolvePipeline } from '../../pipeline/config.js';
import { runCapture } from '../../pipeline/run.js';
import { concat, epb, frame, idb, pb, pcapHeader, pcapRecord, shb, spb } from '../helpers/pcap-build.js';
import { withTempDir } from '../helpers/pcap-collect.js';

/** Everything a reader sets on a packet, and the frame's bytes (not the buffer it lies in). */
function summary(p: Packet): Record<string, unknown> {
  const { buf, floor, head, tail, macOff, ...rest } = p;
  return { ...rest, frame: Buffer.from(buf.subarray(head, tail)).toString('hex'), headroom: head - floor, mac: macOff - head, length: tail - head };
}

/**
 * Summaries of every packet of `path`, read with or without recycleChunks (and a shared pool);
 * and how many distinct Packet objects, added to `objects` when given.
 */
async function readAll(path: string, recycleChunks: boolean, packetPool?: PacketPool, objects = new Set<Packet>()): Promise<{ packets: Record<string, unknown>[]; objects: number }> {
  const reader = await openCapture(path, { name: path, recycleChunks, packetPool });
  const packets: Record<string, unknown>[] = [];
  // Valid until the next batch is asked for: summarised now.
  for await (const batch of reader.batches()) {
    for (const p of batch) {
      objects.add(p);
      packets.push(summary(p));
    }
  }
  return { packets, objects: objects.size };
}

/** An IPv4/TCP frame of `len` bytes behind `vlans` 802.1Q tags, varied bytes. */
function tcpFrame(len: number, seed: number, vlans = 0): Uint8Array {
  const f = frame(len, seed);
  let o = 12;
  for (let v = 0; v < vlans; v++, o += 4) f.set([0x81, 0x00, 0, 10 + v], o);
  f.set([0x08, 0x00, 0x45, 0, (len - o - 2) >> 8, (len - o - 2) & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2], o);
  return f;
}

/** A pcap of about `bytes`: odd record sizes (records straddle chunk ends), some snaplen-cut, VLAN and QinQ. */
function pcapFile(bytes: number, nano = false): Uint8Array {
  const recs: Uint8Array[] = [pcapHeader({ le: true, nano, snapLen: 262144 })];
  for (let i = 0, size = 24; size < bytes; i++) {
    const data = tcpFrame(60 + ((i * 389) % 1455), i, i % 3);
    const cut = i % 7 === 3 ? data.subarray(0, 54) : data;
    const r = pcapRecord(true, { sec: 1_700_000_000 + i, frac: (i * 977) % (nano ? 1e9 : 1e6), data: cut, origLen: data.length });
    recs.push(r);
    size += r.length;
  }
  return concat(...recs);
}

/** A pcapng of about `bytes`: two interfaces (µs, ns), comments on some packets only, EPB, PB and SPB. */
function pcapngFile(bytes: number): Uint8Array {
  const blocks: Uint8Array[] = [shb(true), idb(true, { name: 'eth0' }), idb(true, { tsresol: 9, linkType: 1 })];
  for (let i = 0, size = 0; size < bytes; i++) {
    const data = tcpFrame(60 + ((i * 211) % 1455), i, i % 2);
    const comments = i % 5 === 0 ? [`note ${i}`, 'second'] : i % 5 === 1 ? [`only ${i}`] : undefined;
    const b =
      i % 11 === 10 ? spb(true, { data }) : i % 13 === 12 ? pb(true, { iface: 1, ts: BigInt(i) * 1000n, data, comments }) : epb(true, { iface: i % 2, ts: 1_700_000_000_000_000n + BigInt(i), data, comments });
    blocks.push(b);
    size += b.length;
  }
  return concat(...blocks);
}

describe('Packet.reset', () => {
  it('makes what the constructor makes, whatever the packet held', () => {
    const buf = new Uint8Array(64);
    const p = new Packet(new Uint8Array(32), 8, 30, 99, 4);
    // Every field, present and future, set to something no constructor gives.
    for (const k of Object.keys(p) as (keyof Packet)[]) {
      const v = p[k];
      const o = p as unknown as Record<string, unknown>;
      if (typeof v === 'number') o[k] = 12345;
      else if (typeof v === 'boolean') o[k] = !v;
      else o[k] = { stale: k };
    }
    expect(p.reset(buf, 16, 40, 50, 2)).toBe(p);
    expect({ ...p }).toStrictEqual({ ...new Packet(buf, 16, 40, 50, 2) });
  });
});

describe('reader with recycleChunks: reused packets', () => {
  it('pcap (µs, ns), pcapng (two interfaces, comments, EPB/PB/SPB): the same packets as fresh ones, in fewer objects', async () => {
    await withTempDir(async (dir) => {
      const files: [string, Uint8Array][] = [
        ['us.pcap', pcapFile(5 * READ_CHUNK_SIZE)],
        ['ns.pcap', pcapFile(4 * READ_CHUNK_SIZE + 777, true)],
        ['two.pcapng', pcapngFile(5 * READ_CHUNK_SIZE)],
      ];
      for (const [name, bytes] of files) {
        const path = join(dir, name);
        await writeFile(path, bytes);
        const fresh = await readAll(path, false);
        const reused = await readAll(path, true);
        expect(reused.packets.length).toBeGreaterThan(1000);
        expect(reused.packets).toStrictEqual(fresh.packets);
        expect(fresh.objects).toBe(fresh.packets.length);
        // About one batch's worth of packets (a chunk's), not one per record.
        expect(reused.objects).toBeLessThan(reused.packets.length / 3);
      }
    });
  });

  it('inputs read one after the other with one pool get the same Packet objects: the pool does not grow input after input', async () => {
    await withTempDir(async (dir) => {
      const files: [string, Uint8Array][] = [
        ['us.pcap', pcapFile(3 * READ_CHUNK_SIZE)],
        ['two.pcapng', pcapngFile(3 * READ_CHUNK_SIZE)],
        ['ns.pcap', pcapFile(2 * READ_CHUNK_SIZE + 777, true)],
      ];
      const pool = new PacketPool();
      const objects = new Set<Packet>();
      const sizes: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (const [name, bytes] of files) {
          const path = join(dir, name);
          await writeFile(path, bytes);
          const shared = await readAll(path, true, pool, objects);
          expect(shared.packets).toStrictEqual((await readAll(path, false)).packets);
          sizes.push(pool.size);
        }
      }
      // Made while reading the first inputs (the largest chunk's worth), then only reused.
      expect(sizes[0]).toBeGreaterThan(100);
      expect(sizes.at(-1)).toBe(Math.max(...sizes.slice(0, files.length)));
      expect(objects.size).toBe(pool.size);
    });
  });

  it('the inputs of a run, and the files of a batch job, share the pipeline\'s pool', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'in.pcap');
      await writeFile(path, pcapFile(3 * READ_CHUNK_SIZE));
      const config = resolvePipeline({}, 'test', { extraStages: [parseStageSpec('mpls-push:labels=[{label: 100, ttl: 64}]')] });
      const slot = { pipeline: null as Pipeline | null };
      await runCapture({ inputs: [path, path, path], output: join(dir, 'out.pcap'), config, pipelineSlot: slot });
      const pool = slot.pipeline!.readerPackets;
      const size = pool.size;
      expect(size).toBeGreaterThan(100);
      await runCapture({ inputs: [path, path], output: join(dir, 'out2.pcap'), config, pipelineSlot: slot });
      expect(slot.pipeline!.readerPackets).toBe(pool);
      expect(pool.size).toBe(size);
    });
  });

  it('the pool gives its packets out again only after recycle()', () => {
    const pool = new PacketPool();
    const buf = new Uint8Array(100);
    const a = pool.take(buf, 10, 20, 10, 0);
    const b = pool.take(buf, 30, 40, 10, 20);
    expect(b).not.toBe(a);
    a.comments = ['x'];
    pool.recycle();
    const c = pool.take(buf, 50, 60, 12, 40);
    expect(c).toBe(a);
    expect(c.comments).toBeNull();
    expect([c.head, c.tail, c.origLen, c.floor]).toEqual([50, 60, 12, 40]);
  });
});

/** An output that keeps what it is given (copies), done at once. */
function memoryOutput(): { out: ByteOutput; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  return {
    out: {
      name: 'memory',
      write(chunk, _reusable, written) {
        parts.push(Buffer.from(chunk));
        written?.();
        return true;
      },
      drain: async () => {},
      end: async () => {},
      abort: async () => {},
    },
    bytes: () => Buffer.concat(parts),
  };
}

describe('I/O memory slots', () => {
  it('copyIn from a slot (a copy within the I/O memory) and from another buffer (a view) give the same bytes, at any offset and length', () => {
    const src = takeSlot()!;
    const other = Buffer.alloc(src.length);
    for (let i = 0; i < 5000; i++) src[i] = other[i] = (i * 31 + 7) & 0xff;
    const viaSlot = new WriteBuffer(memoryOutput().out);
    const viaView = new WriteBuffer(memoryOutput().out);
    try {
      const mem = slotMemoryOf(viaSlot.buf)!;
      expect(mem).not.toBeNull();
      // The slot path copies within the memory (memory.copy when it is the summable one, else
      // copyWithin), never through a view of the source set into the buffer.
      const slotSet = vi.spyOn(viaSlot.buf, 'set');
      const viewSet = vi.spyOn(viaView.buf, 'set');
      for (const [from, n, at] of [[0, 1514, 0], [17, 1, 3], [1, 4095, 4097], [333, 0, 9], [4000, 999, 1]] as const) {
        viaSlot.copyIn(src, from, n, at);
        viaView.copyIn(other, from, n, at);
        expect(Buffer.compare(viaSlot.buf.subarray(at, at + n), viaView.buf.subarray(at, at + n))).toBe(0);
        expect(Buffer.compare(viaSlot.buf.subarray(at, at + n), other.subarray(from, from + n))).toBe(0);
      }
      expect(slotSet).not.toHaveBeenCalled();
      expect(viewSet).toHaveBeenCalledTimes(5);
      slotSet.mockRestore();
      viewSet.mockRestore();
    } finally {
      viaSlot.release();
      viaView.release();
      giveSlot(src);
    }
  });

  it('runs with a stage read and write through slots: the output of the general path, and every slot comes back', async () => {
    await withTempDir(async (dir) => {
      const stages: [string, Record<string, unknown>[]][] = [
        ['mpls-push', [parseStageSpec('mpls-push:labels=[{label: 100, ttl: 64}]'), parseStageSpec('gso:mtu=9000')]],
        ['plain copy', []],
      ];
      for (const [name, bytes] of [['in.pcap', pcapFile(3 * READ_CHUNK_SIZE)], ['in.pcapng', pcapngFile(2 * READ_CHUNK_SIZE)]] as const) {
        const src = join(dir, name);
        await writeFile(src, bytes);
        for (const [label, extraStages] of stages) {
          for (const ext of ['pcap', 'pcapng']) {
            const config = resolvePipeline({}, '<test>', { extraStages });
            // The general path: fresh packets from chunks that are no slots, copied through views.
            const general = join(dir, `general.${ext}`);
            const reader = await openCapture(src, { name: src });
            const w = await createFileWriter(general, { format: ext as 'pcap' | 'pcapng', nanosecond: reader.nanosecond });
            const pipeline = new Pipeline(config);
            const ids = new Map<number, number>();
            const out: Packet[] = [];
            for await (const batch of reader.batches()) {
              for (const p of batch) {
                out.length = 0;
                pipeline.process(p, out);
                for (const o of out) {
                  let id = ids.get(o.iface);
                  if (id === undefined) ids.set(o.iface, (id = w.addInterface({ ...reader.interfaces[o.iface]!, snapLen: 262144 })));
                  w.write(o, id, ext === 'pcapng' ? o.comments : null);
                }
              }
              await w.flush();
            }
            await w.close();
            const before = slotsTaken();
            const fast = join(dir, `fast.${ext}`);
            // Frames copied from a slot into a slot (copyWithin), once the slots are made.
            let slotCopies = 0;
            const copyIn = WriteBuffer.prototype.copyIn;
            const spy = vi.spyOn(WriteBuffer.prototype, 'copyIn').mockImplementation(function (this: WriteBuffer, s, from, n, at) {
              if (slotMemoryOf(s) !== null && slotMemoryOf(this.buf) !== null) slotCopies++;
              copyIn.call(this, s, from, n, at);
            });
            try {
              await runCapture({ inputs: [src], output: fast, config });
              await runCapture({ inputs: [src], output: fast, config });
            } finally {
              spy.mockRestore();
            }
            // The plain copy to pcap passes records through: it copies nothing.
            if (extraStages.length > 0 || ext === 'pcapng' || name.endsWith('pcapng')) expect(slotCopies, `${name} ${label} -> ${ext}`).toBeGreaterThan(500);
            expect(Buffer.compare(await readFile(fast), await readFile(general)), `${name} ${label} -> ${ext}`).toBe(0);
            // The read pool keeps a few slots for the next input; the writer's come back.
            expect(slotsTaken()).toBeLessThanOrEqual(Math.max(before, 16));
          }
        }
      }
    });
  });
});
