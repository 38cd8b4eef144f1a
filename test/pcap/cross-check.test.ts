import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Packet } from '../../pipeline/packet.js';
import { openCapture } from '../../pipeline/pcap/reader.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { buildPcap, frame } from '../helpers/pcap-build.js';
import { frameOf, withTempDir } from '../helpers/pcap-collect.js';
import { parseWithPcapParser } from '../helpers/pcap-parser-shim.js';

async function readAll(path: string): Promise<Packet[]> {
  const r = await openCapture(path, { name: path });
  const out: Packet[] = [];
  for await (const b of r.batches()) out.push(...b);
  return out;
}

describe('cross-check with the pcap-parser package', () => {
  for (const le of [true, false]) {
    it(`a ${le ? 'little' : 'big'}-endian µs pcap: same headers and bytes`, async () => {
      await withTempDir(async (dir) => {
        const records = Array.from({ length: 200 }, (_, i) => ({ sec: 1_600_000_000 + i, frac: (i * 4999) % 1_000_000, data: frame((i * 53) % 1600, i), origLen: ((i * 53) % 1600) + (i % 3) }));
        const path = join(dir, 'x.pcap');
        await writeFile(path, buildPcap({ le, snapLen: 65535, linkType: 1, records }));
        const theirs = await parseWithPcapParser(path);
        const ours = await readAll(path);
        expect(theirs.linkType).toBe(1);
        expect(ours).toHaveLength(theirs.packets.length);
        ours.forEach((p, i) => {
          const t = theirs.packets[i]!;
          expect([p.tsSec, p.tsFrac, p.length, p.origLen]).toEqual([
            t.header.timestampSeconds,
            t.header.timestampMicroseconds,
            t.header.capturedLength,
            t.header.originalLength,
          ]);
          expect(Buffer.from(frameOf(p)).equals(t.data)).toBe(true);
        });
      });
    });
  }

  it('what capflow writes, pcap-parser reads identically', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'w.pcap');
      const w = await createFileWriter(path, { format: 'pcap' });
      w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1e6 });
      for (let i = 0; i < 100; i++) {
        const p = Packet.fromBytes(frame(64 + i, i), 64 + i + 10);
        p.tsSec = 1_700_000_000 + i;
        p.tsFrac = i * 1000;
        w.write(p, 0, null);
      }
      await w.close();
      const theirs = await parseWithPcapParser(path);
      expect(theirs.packets).toHaveLength(100);
      theirs.packets.forEach((t, i) => {
        expect(t.header).toEqual({ timestampSeconds: 1_700_000_000 + i, timestampMicroseconds: i * 1000, capturedLength: 64 + i, originalLength: 74 + i });
        expect(t.data.equals(Buffer.from(frame(64 + i, i)))).toBe(true);
      });
    });
  });
});
