/**
 * The I/O memory (io-slots.ts) is made only by runs that copy frames in earnest (a stage): a plain
 * copy of several inputs, whose records pass through after each input's first read chunk, never
 * makes it (it did: the first chunks of a few inputs added up to two buffers' worth of copies, and
 * a run of ten inputs peaked 12 MB above a run of one). Alone in its file: the memory is per process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCapture } from '../../pipeline/run.js';
import { parseStageSpec, resolvePipeline } from '../../pipeline/config.js';
import { READ_CHUNK_SIZE } from '../../pipeline/pcap/reader.js';
import { takeSlot, giveSlot } from '../../pipeline/pcap/io-slots.js';
import { generate } from '../bench/generate.js';
import { withTempDir } from '../helpers/pcap-collect.js';

/** Whether the I/O memory exists (takeSlot(false) makes none; a slot taken is given back). */
function slotMemoryMade(): boolean {
  const slot = takeSlot(false);
  if (slot === undefined) return false;
  giveSlot(slot);
  return true;
}

describe('the I/O memory', () => {
  it('a plain copy of many inputs passes records through without making it; a stage run makes it', async () => {
    await withTempDir(async (dir) => {
      const input = join(dir, 'in.pcap');
      generate('plain', input, 1.6 * READ_CHUNK_SIZE);
      const inputs = Array<string>(8).fill(input);
      const copy = join(dir, 'copy.pcap');
      const summary = await runCapture({ inputs, output: copy, config: resolvePipeline({}, '<test>', {}) });
      expect(summary.inputs).toHaveLength(8);
      const one = readFileSync(input);
      expect(readFileSync(copy).length).toBe(24 + 8 * (one.length - 24));
      expect(slotMemoryMade()).toBe(false);

      const spec = 'mpls-push:labels=[{label: 100, ttl: 64}]';
      const config = resolvePipeline({}, '--stage', { extraStages: [parseStageSpec(spec)], extraSpecs: [spec] });
      await runCapture({ inputs, output: join(dir, 'mpls.pcap'), config });
      expect(slotMemoryMade()).toBe(true);
    });
  });
});
