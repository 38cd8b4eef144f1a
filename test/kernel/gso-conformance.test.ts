/**
 * capflow's software GSO against the kernel's: the same super-frames go through `gsoReference`
 * (virtio-net-hdr injection into a veth with segmentation and checksum offloads off, segments
 * captured on the peer) and through capflow's gso stage in the wire view. The segments must be
 * equal byte for byte. Also: tshark finds no bad checksum and no malformed frame in capflow's output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelGate } from '../helpers/kernel-gate.js';
import { destroyAllNetns } from './netns.js';
import { readPcap, writePcap } from './frames.js';
import { tsharkCheck } from './tshark.js';
import { defaultGsoCases, gsoReference } from './scenarios.js';
import { Packet } from '../../pipeline/packet.js';
import { runGso } from '../gso/run.js';

const gate = kernelGate();
const CSUM_PREFS = ['tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'ip.check_checksum:TRUE'];

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe.skipIf(gate.skip)(`gso conformance with the kernel${gate.label}`, () => {
  let dir = '';
  beforeAll(() => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'capflow-gso-'));
  });
  afterAll(() => {
    destroyAllNetns();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const c of defaultGsoCases()) {
    it(`${c.name}: wire-view segments equal the kernel's`, async () => {
      const ref = await gsoReference(join(dir, 'ref'), c.frames, c.kind, { name: c.name, gsoSize: c.gsoSize, ecn: c.ecn });
      const kernel = readPcap(ref.rxPcap).records.map((r) => r.data);
      // The injector wrote the pseudo-header sum into the L4 checksum field: use its input pcap.
      const input = readPcap(ref.inputPcap).records.map((r) => r.data);
      const res = runGso(input.map((f) => Packet.fromBytes(f)), { mss: c.gsoSize }, 'none', 'wire');
      expect(res.drops).toEqual([]);
      const ours = res.out.map((p) => p.data);
      expect(kernel.length).toBeGreaterThan(1);
      expect(ours.length).toBe(kernel.length);
      for (let i = 0; i < ours.length; i++) expect(hex(ours[i]!), `segment ${i}`).toBe(hex(kernel[i]!));

      const outFile = join(dir, `${c.name}.capflow.pcap`);
      writePcap(outFile, ours.map((o) => Buffer.from(o)));
      const rep = tsharkCheck(outFile, CSUM_PREFS);
      expect(rep.count).toBe(ours.length);
      expect(rep.malformed).toEqual([]);
      for (const e of rep.experts) expect(e).not.toMatch(/bad|incorrect/i);
    });
  }

  it('segments of a driver-view none-profile run equal the wire view (no offloads: checksums complete)', () => {
    const c = defaultGsoCases()[0]!;
    const a = runGso(c.frames.map((f) => Packet.fromBytes(f)), { mss: c.gsoSize }, 'none', 'driver').out.map((p) => hex(p.data));
    const b = runGso(c.frames.map((f) => Packet.fromBytes(f)), { mss: c.gsoSize }, 'none', 'wire').out.map((p) => hex(p.data));
    expect(a).toEqual(b);
  });
});
