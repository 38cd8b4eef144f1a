/**
 * The live pipe keeps capflow's metadata: `replay --to -` writes pcapng whatever the input's
 * format (so `| wireshark -k -i -` shows the comments and the dissector's fields); `--format
 * pcap` opts out.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILT, REPO, buildGate } from './wireshark-helpers.js';

const build = buildGate();
const TSO = join(REPO, 'samples', 'tso-host.pcap');

function replayToStdout(extra: string[]) {
  const r = spawnSync(process.execPath, [BUILT, 'replay', TSO, '--nic', 'ixgbe', '--to', '-', '--topspeed', ...extra], { timeout: 120_000, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe.skipIf(build.skip)(`replay --to - (the live view)${build.label}`, () => {
  it('writes pcapng from a pcap input, with the GSO notes as comments', () => {
    const r = replayToStdout([]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.readUInt32BE(0)).toBe(0x0a0d0d0a); // pcapng Section Header Block
    expect(r.stdout.includes('gso type=tcpv4 size=')).toBe(true);
    expect(r.stderr).not.toMatch(/cannot carry per-packet metadata/);
  });

  it('--format pcap opts out (and says the metadata is lost)', () => {
    const r = replayToStdout(['--format', 'pcap']);
    expect(r.status, r.stderr).toBe(0);
    expect([0xa1b2c3d4, 0xa1b23c4d]).toContain(r.stdout.readUInt32LE(0));
    expect(r.stdout.includes('gso type=')).toBe(false);
    expect(r.stderr).toMatch(/pcap output cannot carry per-packet metadata/);
  });
});
