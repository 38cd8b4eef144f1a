/**
 * The pieces of a batch that need no capture: the shard rule (reproducible from a shell, as the
 * README shows), the summary merge (every counter adds, per-stage counters stage by stage), and
 * the progress line.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { selectShard, shardKey, shardOf } from '../../pipeline/batch/shard.js';
import { mergeSummaries } from '../../pipeline/batch/merge.js';
import { batchProgressLine } from '../../cli/batch-progress.js';
import { have } from '../cli/cli-helpers.js';

describe('shard rule', () => {
  const paths = ['cap-00.pcap', 'night-2/cap-07.pcap', 'a b/ü.pcapng.gz', 'x/../y.pcap'];

  it.skipIf(!have('sha1sum'))('is the README shell line: first 8 hex digits of sha1sum, mod N', () => {
    for (const p of paths) {
      const key = shardKey(`/srv/captures/in/${p}`, '/srv/captures/in');
      for (const n of [1, 3, 7, 64]) {
        const sh = execFileSync('sh', ['-c', 'h=$(printf %s "$1" | sha1sum | cut -c1-8); echo $(( 0x$h % $2 ))', 'sh', key, String(n)], { encoding: 'utf8' });
        expect(Number(sh.trim()), `${key} mod ${n}`).toBe(shardOf(`/srv/captures/in/${p}`, '/srv/captures/in', n));
      }
    }
  });

  it('depends on the path relative to the root only, not on the order of the list', () => {
    expect(shardKey('/mnt/a/in/night-2/cap-07.pcap', '/mnt/a/in')).toBe('night-2/cap-07.pcap');
    expect(shardOf('/mnt/a/in/night-2/cap-07.pcap', '/mnt/a/in', 7)).toBe(shardOf('/data/night-2/cap-07.pcap', '/data', 7));
    const list = Array.from({ length: 200 }, (_, i) => `/d/f${i}.pcap`);
    const reversed = [...list].reverse();
    for (let k = 0; k < 5; k++) {
      const a = selectShard(list, { index: k, count: 5 }, '/d').map((x) => x.input).sort();
      const b = selectShard(reversed, { index: k, count: 5 }, '/d').map((x) => x.input).sort();
      expect(a).toEqual(b);
      // 200 files over 5 shards: none empty, none holding most of them.
      expect(a.length).toBeGreaterThan(20);
      expect(a.length).toBeLessThan(80);
    }
  });
});

describe('mergeSummaries', () => {
  const counters = (n: number) => ({ packetsIn: n, packetsOut: n, forwarded: n - 1, dropped: 1, drops: { 'vxlan-bad-flags': 1 } });
  const shard = (k: number, entries: [number, string, number][], stages?: unknown[]) => ({
    ...counters(entries.reduce((a, [, , n]) => a + n, 0)),
    drops: { 'vxlan-bad-flags': entries.length },
    dropped: entries.length,
    forwarded: entries.reduce((a, [, , n]) => a + n - 1, 0),
    ...(stages ? { stages } : {}),
    outputs: entries.map(([, f]) => ({ output: `out/${f}`, format: 'pcap' })),
    inputs: entries.map(([index, f, n]) => ({ file: `in/${f}`, ...counters(n), output: `out/${f}`, index, seconds: 0.1 })),
    skipped: [],
    failed: [],
    shard: { index: k, count: 2 },
  });

  it('adds counters, drops and per-stage counters, and restores input order', () => {
    const st = (n: number) => [
      { name: 'vxlan-decap', in: n, out: n - 1, drops: { 'vxlan-bad-flags': 1 } },
      { name: 'gso', in: n - 1, out: n - 1, drops: {} },
    ];
    const m = mergeSummaries([
      { name: 'a', summary: shard(0, [[1, 'b.pcap', 5], [3, 'd.pcap', 7]], st(12)) },
      { name: 'b', summary: shard(1, [[0, 'a.pcap', 2], [2, 'c.pcap', 4]], st(6)) },
    ]);
    expect(m.packetsIn).toBe(18);
    expect(m.dropped).toBe(4);
    expect(m.drops).toEqual({ 'vxlan-bad-flags': 4 });
    expect(m.stages).toEqual([
      { name: 'vxlan-decap', in: 18, out: 16, drops: { 'vxlan-bad-flags': 2 } },
      { name: 'gso', in: 16, out: 16, drops: {} },
    ]);
    expect((m.inputs as { file: string }[]).map((i) => i.file)).toEqual(['in/a.pcap', 'in/b.pcap', 'in/c.pcap', 'in/d.pcap']);
    expect((m.outputs as { output: string }[]).map((o) => o.output)).toEqual(['out/a.pcap', 'out/b.pcap', 'out/c.pcap', 'out/d.pcap']);
    expect(m).not.toHaveProperty('shard');
  });

  it('refuses summaries of different pipelines', () => {
    const a = shard(0, [[0, 'a.pcap', 2]], [{ name: 'vxlan-decap', in: 2, out: 2, drops: {} }]);
    const b = shard(1, [[1, 'b.pcap', 2]], [{ name: 'mpls-push', in: 2, out: 2, drops: {} }]);
    expect(() => mergeSummaries([{ name: 'a', summary: a }, { name: 'b', summary: b }])).toThrow(/stage "vxlan-decap" against "mpls-push"/);
    expect(() => mergeSummaries([{ name: 'x', summary: { packetsIn: 1 } }])).toThrow(/x: not a capflow run --json summary/);
  });
});

describe('batch progress line', () => {
  it('shows files, bytes, rate and ETA', () => {
    expect(batchProgressLine({ filesDone: 7, filesTotal: 20, bytesDone: 350e6, bytesTotal: 1000e6, failed: 0 }, 2)).toBe(
      '7/20 files, 350.0/1000.0 MB, 175 MB/s, ETA 4 s',
    );
    expect(batchProgressLine({ filesDone: 1, filesTotal: 3, bytesDone: 1e6, bytesTotal: 400e6, failed: 1 }, 1)).toBe(
      '1/3 files, 1.0/400.0 MB, 1 MB/s, ETA 6 min 39 s, 1 failed',
    );
    expect(batchProgressLine({ filesDone: 0, filesTotal: 3, bytesDone: 0, bytesTotal: 4e6, failed: 0 }, 0)).toBe('0/3 files, 0.0/4.0 MB');
  });
});
