/**
 * The batch's file-copy reference deals the inputs between the copy processes: every file copied
 * exactly once, alternating, into the output directory under its own name.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dealCopyPairs } from './deal.js';

const files = (n: number): string[] => Array.from({ length: n }, (_, i) => join('in', `batch-${String(i).padStart(2, '0')}.pcap`));

describe('dealCopyPairs', () => {
  it('gives one process every file, in order, as IN OUT pairs', () => {
    expect(dealCopyPairs(files(3), 'out', 1)).toEqual([
      ['in/batch-00.pcap', 'out/batch-00.pcap', 'in/batch-01.pcap', 'out/batch-01.pcap', 'in/batch-02.pcap', 'out/batch-02.pcap'],
    ]);
  });

  it('alternates files between two processes, an odd count leaving the first one more', () => {
    expect(dealCopyPairs(files(5), 'out', 2)).toEqual([
      ['in/batch-00.pcap', 'out/batch-00.pcap', 'in/batch-02.pcap', 'out/batch-02.pcap', 'in/batch-04.pcap', 'out/batch-04.pcap'],
      ['in/batch-01.pcap', 'out/batch-01.pcap', 'in/batch-03.pcap', 'out/batch-03.pcap'],
    ]);
  });

  it('copies every file exactly once whatever the number of processes', () => {
    for (const n of [1, 2, 3, 7]) {
      const shares = dealCopyPairs(files(20), 'out', n);
      expect(shares).toHaveLength(n);
      const inputs = shares.flatMap((s) => s.filter((_, i) => i % 2 === 0));
      expect(inputs.sort()).toEqual(files(20));
      const sizes = shares.map((s) => s.length / 2);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('starts no process without a file', () => {
    expect(dealCopyPairs(files(1), 'out', 2)).toEqual([['in/batch-00.pcap', 'out/batch-00.pcap']]);
  });

  it('refuses inputs whose outputs would collide, and a process count below one', () => {
    expect(() => dealCopyPairs([join('a', 'x.pcap'), join('b', 'x.pcap')], 'out', 2)).toThrow(/share a file name/);
    expect(() => dealCopyPairs(files(2), 'out', 0)).toThrow(/0 copy processes/);
  });
});
