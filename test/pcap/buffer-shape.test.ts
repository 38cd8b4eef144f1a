/**
 * Every buffer the packet path keeps frames in is a plain Uint8Array, never a Node Buffer: the read
 * chunks (slots of the I/O memory, and buffers of their own before it is made or without it), the
 * slabs stages copy frames into (GSO segments here) and the writer's output buffers. With read
 * chunks as Buffers and slabs as Uint8Arrays, each byte access of the per-packet code saw two kinds
 * of array, and V8 compiled typed-array calls on packet buffers (`set`) as generic ones.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Packet } from '../../pipeline/packet.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { parseStageSpec, resolvePipeline } from '../../pipeline/config.js';
import { READ_CHUNK_SIZE, openCapture, readCaptureFromStream } from '../../pipeline/pcap/reader.js';
import { WriteBuffer } from '../../pipeline/pcap/write-buffer.js';
import type { ByteOutput } from '../../pipeline/pcap/output.js';
import { takeSlot, giveSlot } from '../../pipeline/pcap/io-slots.js';
import { uninitializedBytes } from '../../pipeline/wire/bytes.js';
import { generate } from '../bench/generate.js';
import { withTempDir } from '../helpers/pcap-collect.js';

/** The kinds of array among `arrays`, by prototype name. */
function kinds(arrays: Iterable<Uint8Array>): string[] {
  const names = new Set<string>();
  for (const a of arrays) names.add(Object.getPrototypeOf(a) === Uint8Array.prototype ? 'Uint8Array' : (a.constructor?.name ?? '?'));
  return [...names].sort();
}

const specs = ['gso:mtu=1500'];
const gsoConfig = () => resolvePipeline({}, '--stage', { extraStages: specs.map((s) => parseStageSpec(s)), extraSpecs: specs, view: 'wire' });

describe('one kind of array for every frame buffer', () => {
  // Chunks in slots of the I/O memory, recycled; and buffers of their own, handed out for good.
  it.each([true, false])('read chunks and GSO segments (chunks recycled: %s)', async (recycleChunks) => {
    await withTempDir(async (dir) => {
      // Super-packets of 16-64 KB, segmented into slab buffers; three read chunks and more.
      const input = join(dir, 'tso.pcap');
      generate('tso', input, 3.5 * READ_CHUNK_SIZE);
      const pipeline = new Pipeline(gsoConfig(), { recycleBuffers: true });
      const reader = await openCapture(input, { name: input, recycleChunks, packetPool: pipeline.readerPackets, ioMemory: recycleChunks });
      const read = new Set<Uint8Array>();
      const written = new Set<Uint8Array>();
      const out: Packet[] = [];
      let segments = 0;
      for await (const batch of reader.batches()) {
        for (const p of batch) {
          read.add(p.buf);
          out.length = 0;
          pipeline.process(p, out);
          for (const q of out) {
            written.add(q.buf);
            if (q.buf !== p.buf) segments++;
          }
        }
        pipeline.recycleBuffers();
      }
      await reader.close();
      expect(read.size).toBeGreaterThanOrEqual(4);
      expect(segments).toBeGreaterThan(1000);
      expect(kinds(read)).toEqual(['Uint8Array']);
      expect(kinds(written)).toEqual(['Uint8Array']);
    });
  });

  it('packets read from a stream of Buffers (stdin, any Readable) and from a gzip file', async () => {
    await withTempDir(async (dir) => {
      const input = join(dir, 'plain.pcap');
      generate('plain', input, 1.5 * READ_CHUNK_SIZE);
      const bytes = readFileSync(input);
      writeFileSync(join(dir, 'plain.pcap.gz'), gzipSync(bytes));
      async function* buffers() {
        for (let at = 0; at < bytes.length; at += 65536) yield Buffer.from(bytes.subarray(at, at + 65536));
      }
      for (const reader of [await readCaptureFromStream(buffers(), { name: '<stdin>' }), await openCapture(join(dir, 'plain.pcap.gz'), { name: 'plain.pcap.gz' })]) {
        const bufs = new Set<Uint8Array>();
        let packets = 0;
        for await (const batch of reader.batches()) {
          for (const p of batch) {
            bufs.add(p.buf);
            packets++;
          }
        }
        expect(packets).toBeGreaterThan(1000);
        expect(bufs.size).toBeGreaterThan(2);
        expect(kinds(bufs)).toEqual(['Uint8Array']);
      }
    });
  });

  it('the I/O slots, the bytes made when there is none, and the writer buffers', () => {
    const slot = takeSlot();
    expect(slot).toBeDefined();
    expect(kinds([slot!, uninitializedBytes(100)])).toEqual(['Uint8Array']);
    giveSlot(slot!);

    // A writer's buffers: its first, and those it takes once it handed the first over.
    const chunks: Uint8Array[] = [];
    const out: ByteOutput = { name: 'test', write: (c) => (chunks.push(c), true), drain: async () => {}, end: async () => {}, abort: async () => {} };
    const w = new WriteBuffer(out);
    const buffers = new Set<Uint8Array>([w.buf]);
    for (let i = 0; i < 3000; i++) {
      w.reserve(1500);
      w.pos += 1500;
      buffers.add(w.buf);
    }
    w.handOff();
    expect(buffers.size).toBeGreaterThan(2);
    expect(kinds(buffers)).toEqual(['Uint8Array']);
    expect(kinds(chunks)).toEqual(['Uint8Array']);
  });
});
