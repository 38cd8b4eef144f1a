/**
 * recycleChunks (the run loop's mode): a file reader reuses its read buffers once the caller asks
 * for the next batch, so reading a large file touches a few buffers only. Such chunks must never
 * be taken for zero-copy output (the pcap writer would reference bytes that are read over).
 */
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { runCapture } from '../../pipeline/run.js';
import { resolvePipeline } from '../../pipeline/config.js';
import { READ_AHEAD, READ_CHUNK_SIZE, openCapture } from '../../pipeline/pcap/reader.js';
import { NEVER_REUSED, isReadChunk, readChunkKeeper } from '../../pipeline/pcap/capture-interface.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { PcapWriter } from '../../pipeline/pcap/pcap-writer.js';
import { RecordPassthrough } from '../../pipeline/pcap/passthrough.js';
import type { ByteOutput } from '../../pipeline/pcap/output.js';
import { concat, frame, pcapHeader, pcapRecord } from '../helpers/pcap-build.js';
import { frameOf, withTempDir } from '../helpers/pcap-collect.js';

/**
 * What tells read buffers apart: pooled ones are slots of one ArrayBuffer (io-slots.ts), so the
 * ArrayBuffer and the offset in it.
 */
const bufferIds = new WeakMap<ArrayBufferLike, number>();
let nextBufferId = 0;
/** The read buffer `b` (a read chunk, or a view of one) lies in. */
function bufferId(b: Uint8Array): string {
  let id = bufferIds.get(b.buffer);
  if (id === undefined) bufferIds.set(b.buffer, (id = nextBufferId++));
  return `${id}@${b.byteOffset - (b.byteOffset % READ_CHUNK_SIZE)}`;
}

/** About `bytes` of odd-sized records (they straddle every chunk boundary); returns file and frames. */
function capture(bytes: number): { file: Uint8Array; frames: Uint8Array[] } {
  const recs: Uint8Array[] = [];
  const frames: Uint8Array[] = [];
  let size = 24;
  for (let i = 0; size < bytes; i++) {
    const data = frame(60 + ((i * 389) % 1455), i);
    frames.push(data);
    const r = pcapRecord(true, { sec: 1_700_000_000 + i, frac: i, data });
    recs.push(r);
    size += r.length;
  }
  return { file: concat(pcapHeader({ le: true, snapLen: 262144 }), ...recs), frames };
}

// Both ways of reading a file: synchronous reads on demand (the default) and reads ahead in the
// thread pool (syncReads: false, the CLI's --async-io).
describe.each([true, false])('reader with recycleChunks (syncReads: %s)', (syncReads) => {
  it('reuses a few read buffers over a file of many chunks, every frame intact', async () => {
    await withTempDir(async (dir) => {
      const { file, frames } = capture(12 * READ_CHUNK_SIZE);
      const src = join(dir, 'in.pcap');
      await writeFile(src, file);
      const reader = await openCapture(src, { name: src, recycleChunks: true, syncReads });
      const buffers = new Set<string>();
      let i = 0;
      let marked = 0;
      for await (const batch of reader.batches()) {
        for (const p of batch) {
          // Read chunks (records straddling two chunks are copied into buffers of their own).
          if (p.buf.length === READ_CHUNK_SIZE) buffers.add(bufferId(p.buf));
          // Marked with the reader's keeper: a writer holds a chunk with it while it outputs the chunk's bytes.
          if (isReadChunk(p.buf)) {
            expect(readChunkKeeper(p.buf)).toBe(reader.chunkKeeper);
            marked++;
          }
          // Valid until the next batch is asked for: check each frame now.
          expect(Buffer.compare(frameOf(p), frames[i]!)).toBe(0);
          i++;
        }
      }
      expect(i).toBe(frames.length);
      // Every packet but the few of records straddling two chunks (copied) references its chunk.
      expect(reader.chunkKeeper).not.toBe(NEVER_REUSED);
      expect(marked).toBeGreaterThanOrEqual(frames.length - 12);
      // Read ahead: at most READ_AHEAD in flight, the current one and the one just given back.
      // Synchronous reads: each chunk is read when asked for, into the one just given back.
      expect(buffers.size).toBeGreaterThanOrEqual(1);
      expect(buffers.size).toBeLessThanOrEqual(syncReads ? 2 : READ_AHEAD + 2);
      if (!syncReads) expect(buffers.size).toBeGreaterThan(1);
    });
  });

  it('without it every chunk is a fresh buffer the writers may reference', async () => {
    await withTempDir(async (dir) => {
      const { file } = capture(4 * READ_CHUNK_SIZE);
      const src = join(dir, 'in.pcap');
      await writeFile(src, file);
      const reader = await openCapture(src, { name: src, syncReads });
      const chunks = new Set<ArrayBufferLike>();
      for await (const batch of reader.batches()) for (const p of batch) if (isReadChunk(p.buf)) chunks.add(p.buf.buffer);
      expect(chunks.size).toBeGreaterThanOrEqual(4);
    });
  });

  it('gzip input and a writer in the loop: the output is the input', async () => {
    await withTempDir(async (dir) => {
      const { file } = capture(3 * READ_CHUNK_SIZE);
      for (const [name, bytes] of [['in.pcap', file], ['in.pcap.gz', gzipSync(file)]] as const) {
        const src = join(dir, name);
        await writeFile(src, bytes);
        const reader = await openCapture(src, { name: src, recycleChunks: true, syncReads });
        const dst = join(dir, `out-${name.replace('.gz', '')}`);
        const w = await createFileWriter(dst, { format: 'pcap' });
        w.addInterface(reader.interfaces[0]!);
        for await (const batch of reader.batches()) {
          let ok = true;
          for (const p of batch) ok = w.write(p, 0, null) && ok;
          if (!ok) await w.flush();
        }
        await w.close();
        expect(Buffer.compare(await readFile(dst), file)).toBe(0);
      }
    });
  });

  it('passthrough writes from the read chunks: a chunk an output still writes from is not read into again', async () => {
    await withTempDir(async (dir) => {
      const { file } = capture(14 * READ_CHUNK_SIZE);
      const src = join(dir, 'in.pcap');
      await writeFile(src, file);
      // An output that takes its time: it reads each chunk only when the write "completes", a few
      // milliseconds after it was handed over, as the thread pool would.
      const written: Buffer[] = [];
      const views = new Set<string>();
      let inFlight = 0;
      let waiters: (() => void)[] = [];
      const out: ByteOutput = {
        name: 'slow',
        write(chunk, _reusable, done) {
          if (chunk.byteLength > 65536) views.add(bufferId(chunk));
          inFlight++;
          const slot = written.length;
          written.push(Buffer.alloc(0));
          setTimeout(() => {
            written[slot] = Buffer.from(chunk);
            inFlight--;
            done?.();
            const w = waiters;
            waiters = [];
            for (const f of w) f();
          }, 3);
          return inFlight < 8;
        },
        drain: () => (inFlight < 8 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
        async end() {
          while (inFlight > 0) await new Promise<void>((r) => waiters.push(r));
        },
        async abort() {},
      };
      const reader = await openCapture(src, { name: src, recycleChunks: true, syncReads });
      const w = new PcapWriter(out, { format: 'pcap' });
      w.addInterface(reader.interfaces[0]!);
      let pass: RecordPassthrough | null = null;
      for await (const batch of reader.batches()) {
        let ok = pass === null || pass.flush();
        for (const p of batch) ok = w.write(p, 0, null) && ok;
        if (!ok) await w.flush();
        if (pass === null) {
          pass = new RecordPassthrough(w, reader.chunkKeeper);
          expect(reader.passthrough(pass)).toBe(true);
        }
      }
      expect(pass!.flush()).toBeTypeOf('boolean');
      await w.close();
      expect(Buffer.compare(Buffer.concat(written), file)).toBe(0);
      // Records went out as views of the read chunks, and those were reused: a pool, not a buffer per read.
      expect(views.size).toBeGreaterThan(1);
      expect(views.size).toBeLessThan(14);
    });
  });

  it('a run of many inputs reads into the same few buffers (the reads past each end give theirs back)', async () => {
    await withTempDir(async (dir) => {
      const { file } = capture(3 * READ_CHUNK_SIZE);
      const src = join(dir, 'in.pcap');
      await writeFile(src, file);
      const config = resolvePipeline({}, '<test>', {});
      const alloc = vi.spyOn(Buffer, 'allocUnsafeSlow');
      try {
        const output = join(dir, 'out.pcap');
        const summary = await runCapture({ inputs: Array<string>(8).fill(src), output, config });
        expect(summary.inputs).toHaveLength(8);
        const readBuffers = alloc.mock.calls.filter(([n]) => n === READ_CHUNK_SIZE).length;
        // The pool (shared by every file source, maybe filled by an earlier test) is filled once;
        // the inputs after the first take their buffers from it (each used to allocate its own).
        expect(readBuffers).toBeLessThanOrEqual(2 * READ_AHEAD + 4);
        const out = await readFile(output);
        expect(out.length).toBe(24 + 8 * (file.length - 24));
      } finally {
        alloc.mockRestore();
      }
    });
  });
});
