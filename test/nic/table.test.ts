import { describe, expect, it } from 'vitest';
import { formatSoftwareGsoTable, GSO_TABLE_CASES, softwareGsoTable } from '../../pipeline/nic/table.js';

describe('softwareGsoTable', () => {
  it('matches the per-driver table', () => {
    expect(softwareGsoTable()).toEqual([
      { profile: 'none', tcp: 'software', tcpVxlan: 'software', tcpVxlanCsum: 'software', udpGso: 'software', mplsTcp: 'software' },
      { profile: 'veth', tcp: 'hardware', tcpVxlan: 'hardware', tcpVxlanCsum: 'hardware', udpGso: 'hardware', mplsTcp: 'hardware' },
      { profile: 'virtio-net', tcp: 'hardware', tcpVxlan: 'software', tcpVxlanCsum: 'software', udpGso: 'software', mplsTcp: 'software' },
      { profile: 'mlx5', tcp: 'hardware', tcpVxlan: 'hardware', tcpVxlanCsum: 'partial', udpGso: 'partial', mplsTcp: 'hardware' },
      { profile: 'ixgbe', tcp: 'hardware', tcpVxlan: 'software', tcpVxlanCsum: 'software', udpGso: 'hardware', mplsTcp: 'hardware' },
      { profile: 'i40e', tcp: 'hardware', tcpVxlan: 'partial', tcpVxlanCsum: 'partial', udpGso: 'hardware', mplsTcp: 'hardware' },
      { profile: 'ice', tcp: 'hardware', tcpVxlan: 'hardware', tcpVxlanCsum: 'partial', udpGso: 'hardware', mplsTcp: 'software' },
      { profile: 'bnxt', tcp: 'hardware', tcpVxlan: 'hardware', tcpVxlanCsum: 'partial', udpGso: 'software', mplsTcp: 'software' },
    ]);
  });

  it('formats as a Markdown table with one column per case', () => {
    const md = formatSoftwareGsoTable();
    const lines = md.trimEnd().split('\n');
    expect(lines).toHaveLength(2 + 8);
    expect(lines[0]).toBe(`| profile | ${GSO_TABLE_CASES.map((c) => c.label).join(' | ')} |`);
    expect(lines[5]).toBe('| mlx5 | hardware | hardware | partial | partial | hardware |');
  });
});
