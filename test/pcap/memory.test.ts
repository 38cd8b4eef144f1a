import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCapture } from '../../pipeline/pcap/reader.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { concat, frame, pcapHeader, pcapRecord } from '../helpers/pcap-build.js';
import { withTempDir } from '../helpers/pcap-collect.js';

const MiB = 1024 * 1024;

/** Stream a ~`mib` MiB µs pcap to `path` without holding it in memory; returns the packet count. */
async function generate(path: string, mib: number): Promise<number> {
  // One ~1 MiB slab of records (odd sizes, so records straddle the reader's chunks), written repeatedly.
  const records: Uint8Array[] = [];
  let size = 0;
  for (let i = 0; size < MiB; i++) {
    const r = pcapRecord(true, { sec: 1_700_000_000 + i, frac: i, data: frame(1000 + ((i * 37) % 517), i) });
    records.push(r);
    size += r.length;
  }
  const slab = concat(...records);
  const out = createWriteStream(path);
  out.write(pcapHeader({ le: true, snapLen: 65535 }));
  for (let i = 0; i < mib; i++) if (!out.write(slab)) await once(out, 'drain');
  out.end();
  await once(out, 'close');
  return records.length * mib;
}

describe('constant memory', () => {
  it('streams a 50 MB capture through the reader and a writer with bounded RSS', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 'big.pcap');
      const expected = await generate(src, 50);
      expect((await stat(src)).size).toBeGreaterThan(50 * MiB);

      const base = process.memoryUsage().rss;
      let peak = base;
      const reader = await openCapture(src, { name: src });
      const writer = await createFileWriter(join(dir, 'out.pcapng'), { format: 'pcapng' });
      writer.addInterface(reader.interfaces[0]!);
      let n = 0;
      let bytes = 0;
      for await (const batch of reader.batches()) {
        let ok = true;
        for (const p of batch) {
          bytes += p.length;
          ok = writer.write(p, 0, null) && ok;
        }
        n += batch.length;
        if (!ok) await writer.flush();
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      await writer.close();
      expect(n).toBe(expected);
      expect(bytes).toBeGreaterThan(48 * MiB);
      expect(writer.packetsWritten).toBe(expected);
      const growth = (peak - base) / MiB;
      expect(growth, `RSS grew by ${growth.toFixed(1)} MiB`).toBeLessThan(100);
    });
  }, 60_000);
});
