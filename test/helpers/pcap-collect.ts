/** Test helpers: read a capture fully, split bytes into chunks, temp dirs. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Packet } from '../../pipeline/packet.js';
import { type CaptureReader, type ReadOptions, readCaptureFromStream } from '../../pipeline/pcap/reader.js';

/** A chunk source over `bytes`, cut at the given sizes (cycled), default one chunk. */
export function chunked(bytes: Uint8Array, sizes: readonly number[] = [bytes.length || 1]): AsyncIterable<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    chunks.push(bytes.slice(off, off + n));
    off += n;
  }
  return Readable.from(chunks);
}

export interface Collected {
  /** null when opening failed (`error` says why). */
  reader: CaptureReader | null;
  packets: Packet[];
  warnings: string[];
  error: unknown;
}

/** Read all packets; an error (at open or later) is returned, not thrown. */
export async function collect(bytes: Uint8Array, opts: Partial<ReadOptions> = {}, sizes?: readonly number[]): Promise<Collected> {
  const warnings: string[] = [];
  const packets: Packet[] = [];
  let reader: CaptureReader;
  try {
    reader = await readCaptureFromStream(chunked(bytes, sizes), {
      name: 'test.cap',
      onWarning: (m) => warnings.push(m),
      ...opts,
    });
  } catch (e) {
    return { reader: null, packets, warnings, error: e };
  }
  let error: unknown = null;
  try {
    for await (const batch of reader.batches()) packets.push(...batch);
  } catch (e) {
    error = e;
  }
  return { reader, packets, warnings, error };
}

/** Bytes of a packet's frame (a copy). */
export function frameOf(p: Packet): Uint8Array {
  return p.buf.slice(p.head, p.tail);
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'capflow-pcap-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
