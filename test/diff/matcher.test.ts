import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import '../../pipeline/vitest-matcher.js';
import { goldenUpdateMode, writeGolden } from '../../pipeline/vitest-matcher.js';
import { diffCaptures } from '../../pipeline/diff/index.js';
import { readPackets } from '../../pipeline/pcap/reader.js';
import type { Packet } from '../../pipeline/packet.js';
import { tcpFrame, udpFrame, vxlanTcpFrame, withTempDir, writeCapture } from './captures.js';

async function packetsOf(path: string): Promise<Packet[]> {
  const out: Packet[] = [];
  for await (const p of readPackets(path, { name: path })) out.push(p);
  return out;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('toMatchPcap', () => {
  it('passes for an equal capture, path or packets, and fails with the diff report', async () => {
    vi.stubEnv('CAPFLOW_UPDATE_GOLDEN', '');
    await withTempDir(async (dir) => {
      const golden = join(dir, 'golden.pcapng');
      const same = join(dir, 'same.pcap');
      const other = join(dir, 'other.pcap');
      await writeCapture(golden, [{ frame: vxlanTcpFrame() }, { frame: udpFrame() }]);
      await writeCapture(same, [{ frame: vxlanTcpFrame() }, { frame: udpFrame() }]);
      await writeCapture(other, [{ frame: vxlanTcpFrame({ outerTtl: 63 }) }, { frame: udpFrame() }]);

      await expect(same).toMatchPcap(golden);
      await expect(await packetsOf(same)).toMatchPcap(golden);
      await expect(readPackets(same, { name: same })).toMatchPcap(golden);
      await expect(other).not.toMatchPcap(golden, { update: false });
      await expect(other).toMatchPcap(golden, { ignore: ['ipv4.ttl'] });

      const failure = expect(other).toMatchPcap(golden, { update: false });
      await expect(failure).rejects.toThrow(/#1 outer ipv4\.ttl: expected 64, got 63/);
      await expect(expect(other).toMatchPcap(golden, { update: false })).rejects.toThrow(/CAPFLOW_UPDATE_GOLDEN=1/);
      await expect(expect(same).not.toMatchPcap(golden)).rejects.toThrow(/but they are equal/);
    });
  });

  it('fails for a missing golden file unless updating, and then writes it', async () => {
    await withTempDir(async (dir) => {
      const actual = join(dir, 'a.pcapng');
      await writeCapture(actual, [{ frame: tcpFrame(), comments: ['kept'] }]);
      const golden = join(dir, 'sub', 'g.pcap');
      await expect(expect(actual).toMatchPcap(golden, { update: false })).rejects.toThrow(/does not exist; create it with CAPFLOW_UPDATE_GOLDEN=1/);
      await expect(actual).toMatchPcap(golden, { update: true });
      // The format follows the golden path's extension: classic pcap (LE µs magic).
      expect((await readFile(golden)).readUInt32LE(0)).toBe(0xa1b2c3d4);
      expect((await diffCaptures(golden, actual)).equal).toBe(true);
    });
  });

  it('CAPFLOW_UPDATE_GOLDEN=1 rewrites a golden file that differs, atomically, and leaves an equal one alone', async () => {
    await withTempDir(async (dir) => {
      const golden = join(dir, 'g.pcapng');
      await writeCapture(golden, [{ frame: tcpFrame() }]);
      const newer = [{ frame: tcpFrame({ seq: 5 }), comments: ['new'] }, { frame: udpFrame() }];
      const actual = join(dir, 'a.pcapng');
      await writeCapture(actual, newer);

      vi.stubEnv('CAPFLOW_UPDATE_GOLDEN', '1');
      const before = (await stat(golden)).mtimeMs;
      await expect(actual).toMatchPcap(golden);
      const r = await diffCaptures(golden, actual);
      expect(r.equal).toBe(true);
      expect((await readdirNames(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      expect((await stat(golden)).mtimeMs).not.toBe(before);

      const unchanged = (await stat(golden)).mtimeMs;
      await new Promise((res) => setTimeout(res, 20));
      await expect(actual).toMatchPcap(golden);
      expect((await stat(golden)).mtimeMs).toBe(unchanged);

      vi.stubEnv('CAPFLOW_UPDATE_GOLDEN', '0');
      await expect(expect(join(dir, 'a.pcapng')).toMatchPcap(join(dir, 'other.pcapng'), { update: false })).rejects.toThrow();
    });
  });

  it('writes packets with their metadata as pcapng comments', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 's.pcapng');
      await writeCapture(src, [{ frame: tcpFrame() }]);
      const packets = await packetsOf(src);
      packets[0]!.note('gso type=tcpv4 size=1448 segs=2');
      const golden = join(dir, 'g.pcapng');
      await writeGolden(golden, packets);
      const back = await packetsOf(golden);
      expect(back[0]!.comments).toEqual(['gso type=tcpv4 size=1448 segs=2']);
      await expect(packets).toMatchPcap(golden, { update: false });
    });
  });

  it('update mode: CAPFLOW_UPDATE_GOLDEN, then vitest -u (snapshotUpdateState "all"), "new" only creates', () => {
    expect(goldenUpdateMode(undefined, { CAPFLOW_UPDATE_GOLDEN: '1' })).toBe('all');
    expect(goldenUpdateMode({ snapshotUpdateState: 'none' }, { CAPFLOW_UPDATE_GOLDEN: 'true' })).toBe('all');
    expect(goldenUpdateMode({ snapshotUpdateState: 'all' }, {})).toBe('all');
    expect(goldenUpdateMode({ snapshotUpdateState: 'new' }, { CAPFLOW_UPDATE_GOLDEN: '0' })).toBe('new');
    expect(goldenUpdateMode({ _updateSnapshot: 'all' }, {})).toBe('all');
    expect(goldenUpdateMode({ snapshotUpdateState: 'none' }, {})).toBe('none');
    expect(goldenUpdateMode(undefined, {})).toBe('none');
    // Where this vitest keeps the mode the matcher reads.
    const state = expect.getState().snapshotState as unknown as { snapshotUpdateState: string };
    expect(['all', 'new', 'none']).toContain(state.snapshotUpdateState);
  });
});

async function readdirNames(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return readdir(dir);
}
