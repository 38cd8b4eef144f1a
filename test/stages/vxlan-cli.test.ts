import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main.js';
import { io } from '../../cli/command.js';
import { readPcap, vxlanFrame, writePcap, type VxlanFrameOpts } from '../kernel/frames.js';
import { arpFrame, innerTcp4, innerUdp4, innerUdp6 } from './vxlan-frames.js';

const V4: VxlanFrameOpts = { underlay: 'ipv4', srcMac: '02:00:00:00:0a:01', dstMac: '02:00:00:00:0b:01', src: '192.0.2.1', dst: '192.0.2.2', vni: 42, sport: 50000, ttl: 64 };

describe('capflow run with the VXLAN stages (in-process CLI)', () => {
  let dir = '';
  let out = '';
  let err = '';
  const saved = { ...io };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'capflow-vxcli-'));
    out = '';
    err = '';
    io.out = (s) => void (out += s);
    io.err = (s) => void (err += s);
  });
  afterEach(() => {
    Object.assign(io, saved);
    rmSync(dir, { recursive: true, force: true });
  });

  it('vxlan-decap: JSON summary counts delivered and dropped packets by reason', async () => {
    const input = join(dir, 'in.pcap');
    writePcap(input, [
      vxlanFrame(V4, innerUdp4()),
      vxlanFrame({ ...V4, vni: 7 }, innerTcp4()),
      vxlanFrame({ ...V4, word0: 0 }, innerUdp4()),
      vxlanFrame({ ...V4, tos: 3 }, innerUdp4({ tos: 0 })),
      vxlanFrame({ ...V4, reservedLow: 1 }, innerUdp4()),
      arpFrame(),
    ]);
    const output = join(dir, 'out.pcapng');
    const status = await main(['run', input, '-o', output, '--stage', 'vxlan-decap:ports=[4789]', '--json']);
    expect(status, err).toBe(0);
    const s = JSON.parse(out) as { packetsIn: number; packetsOut: number; drops: Record<string, number> };
    expect(s.packetsIn).toBe(6);
    expect(s.packetsOut).toBe(3);
    expect(s.drops).toEqual({ 'vxlan-bad-flags': 1, 'ecn-ce-on-not-ect': 1, 'vxlan-reserved-bits': 1 });
  });

  it('decap → pcapng → tunnel-key + vxlan-encap: metadata read back from comments; bad options exit 2', async () => {
    const input = join(dir, 'in.pcap');
    writePcap(input, [vxlanFrame(V4, innerUdp4()), vxlanFrame(V4, innerUdp6())]);
    const mid = join(dir, 'mid.pcapng');
    expect(await main(['run', input, '-o', mid, '--stage', 'vxlan-decap'])).toBe(0);
    const back = join(dir, 'back.pcap');
    // The decapsulated packets carry RX metadata from their comments; vxlan-encap re-encapsulates them.
    const status = await main(['run', mid, '-o', back, '--stage', 'tunnel-key:rules=[{match: {ipProto: udp}, modify: {ttl: 9}}]', '--stage', 'vxlan-encap:src=192.0.2.1', '--json']);
    expect(status, err).toBe(0);
    const recs = readPcap(back).records;
    expect(recs.length).toBe(2);
    for (const r of recs) {
      expect(r.data.readUInt16BE(12)).toBe(0x0800);
      expect(r.data[22]).toBe(9);
      expect(r.data.readUInt16BE(34)).not.toBe(50000); // a received source port is not reused
      expect(r.data.readUInt16BE(34)).toBeGreaterThanOrEqual(32768);
      expect(r.data.readUInt32BE(46) >>> 8).toBe(42);
    }
    out = '';
    expect(await main(['run', input, '-o', join(dir, 'x.pcap'), '--stage', 'vxlan-encap:srcPortRange=[5,5]'])).toBe(2);
    expect(err).toMatch(/srcPortRange/);
  });
});
