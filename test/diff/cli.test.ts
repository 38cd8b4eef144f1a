import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIFF_FIELD_NAMES } from '../../pipeline/diff/index.js';
import { runCli } from '../cli/cli-helpers.js';
import { tcpFrame, udpFrame, vxlanTcpFrame, withTempDir, writeCapture } from './captures.js';

describe('capflow diff', () => {
  it('exit 0 when equal, 1 when different, with the report on stdout', async () => {
    await withTempDir(async (dir) => {
      const e = join(dir, 'golden.pcapng');
      const same = join(dir, 'same.pcap');
      const other = join(dir, 'other.pcap');
      await writeCapture(e, [{ frame: vxlanTcpFrame() }, { frame: tcpFrame() }]);
      await writeCapture(same, [{ frame: vxlanTcpFrame() }, { frame: tcpFrame() }]);
      await writeCapture(other, [{ frame: vxlanTcpFrame({ outerTtl: 63, inner: { seq: 2448 } }) }]);
      const eq = await runCli(['diff', e, same]);
      expect(eq.status).toBe(0);
      expect(eq.stdout).toMatch(/^equal: EXPECTED 2 packets, ACTUAL 2 packets$/m);
      const ne = await runCli(['diff', e, other]);
      expect(ne.status).toBe(1);
      expect(ne.stdout).toContain('#1 outer ipv4.ttl: expected 64, got 63\n');
      expect(ne.stdout).toContain('#1 inner tcp.seq: expected 1000, got 2448\n');
      expect(ne.stdout).toContain('#2 missing in ACTUAL: 10.0.0.1 → 10.0.0.2 tcp 40000 → 80, 66 bytes\n');
      expect(ne.stdout).toContain('differ: 5 differences in 2 packets');
      const quiet = await runCli(['diff', '-q', e, other]);
      expect(quiet).toMatchObject({ status: 1, stdout: '' });
    });
  });

  it('exit 2 for usage errors and unreadable inputs', async () => {
    await withTempDir(async (dir) => {
      const good = join(dir, 'g.pcap');
      const junk = join(dir, 'junk.pcap');
      await writeCapture(good, [{ frame: tcpFrame() }]);
      await writeFile(junk, 'not a capture at all');
      const missing = await runCli(['diff', good, join(dir, 'nope.pcap')]);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/capflow: diff: .*nope\.pcap/);
      const bad = await runCli(['diff', junk, good]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/not a pcap or pcapng capture/);
      const field = await runCli(['diff', good, good, '--ignore', 'ipv4.nope']);
      expect(field.status).toBe(2);
      expect(field.stderr).toMatch(/--ignore ipv4\.nope: unknown field/);
      expect((await runCli(['diff', good])).status).toBe(2);
      expect((await runCli(['diff', good, good, '--max', '-1'])).status).toBe(2);
    });
  });

  it('--ignore takes comma lists and repeats', async () => {
    await withTempDir(async (dir) => {
      const e = join(dir, 'e.pcapng');
      const a = join(dir, 'a.pcapng');
      await writeCapture(e, [{ frame: vxlanTcpFrame() }]);
      await writeCapture(a, [{ frame: vxlanTcpFrame({ outerSport: 50000, outerTtl: 1 }) }]);
      expect((await runCli(['diff', e, a, '--ignore', 'outer.udp.srcport'])).status).toBe(1);
      expect((await runCli(['diff', e, a, '--ignore', 'outer.udp.srcport,ipv4.ttl'])).status).toBe(0);
      expect((await runCli(['diff', e, a, '--ignore', 'outer.udp.srcport', '--ignore', 'ipv4.ttl'])).status).toBe(0);
    });
  });

  it('--json, --max and --unordered', async () => {
    await withTempDir(async (dir) => {
      const e = join(dir, 'e.pcapng');
      const a = join(dir, 'a.pcapng');
      await writeCapture(e, [{ frame: tcpFrame({ seq: 1 }) }, { frame: tcpFrame({ seq: 2 }) }, { frame: udpFrame() }]);
      await writeCapture(a, [{ frame: tcpFrame({ seq: 2 }) }, { frame: tcpFrame({ seq: 1 }) }, { frame: udpFrame() }]);
      // Aligned, two swapped packets are one that moved: missing at #1, extra at ACTUAL #2.
      const r = await runCli(['diff', e, a, '--json', '--max', '1', '--ignore', 'timestamp']);
      expect(r.status).toBe(1);
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({ equal: false, packets: { expected: 3, actual: 3 }, truncated: true, omitted: 1, total: 2 });
      expect(doc.differences).toEqual([
        { packet: 1, kind: 'missing', field: 'packet', expected: '10.0.0.1 → 10.0.0.2 tcp 40000 → 80, 66 bytes', actual: '(missing)' },
      ]);
      const changed = join(dir, 'c.pcapng');
      await writeCapture(changed, [{ frame: tcpFrame({ seq: 3 }) }, { frame: tcpFrame({ seq: 2 }) }, { frame: udpFrame() }]);
      const f = JSON.parse((await runCli(['diff', e, changed, '--json', '--max', '2', '--ignore', 'timestamp'])).stdout);
      expect(f).toMatchObject({ truncated: false, total: 2 });
      expect(f.differences).toEqual([
        { packet: 1, kind: 'field', field: 'tcp.seq', expected: '1', actual: '3', offset: 38 },
        expect.objectContaining({ packet: 1, field: 'tcp.checksum' }),
      ]);
      const u = await runCli(['diff', e, a, '--unordered', '--ignore', 'timestamp', '--json']);
      expect(u.status).toBe(0);
      expect(JSON.parse(u.stdout)).toMatchObject({ equal: true, differences: [], truncated: false });
    });
  });

  it('--help lists every field and the exit statuses', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'diff', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const name of DIFF_FIELD_NAMES) expect(r.stdout).toContain(`  ${name} `);
    expect(r.stdout).toContain('Exit status: 0 equal, 1 the captures differ, 2 bad usage or an input that could not be read.');
  });
});
