/**
 * Runs every kernel reference scenario once and checks only that the captures exist, hold the
 * expected number of packets and dissect cleanly with tshark. Comparisons against capflow's
 * stages live in the stage tests, which reuse the scenario functions.
 *
 * Set CAPFLOW_KERNEL_REF_DIR to keep the pcaps in that directory instead of a temp dir.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelGate } from '../helpers/kernel-gate.js';
import { destroyAllNetns } from './netns.js';
import { ETH_P_IP, parseL3, readPcap } from './frames.js';
import { tsharkCheck } from './tshark.js';
import {
  REF,
  defaultDecapCases,
  defaultEncapCases,
  defaultGsoCases,
  gsoReference,
  mplsReference,
  vxlanDecapReference,
  vxlanEncapReference,
} from './scenarios.js';

const gate = kernelGate();

function expectCleanCapture(file: string, count: number, opts: { inputWithBrokenFrames?: boolean } = {}): void {
  const rep = tsharkCheck(file);
  expect(rep.count, `${file}: frames seen by tshark`).toBe(count);
  expect(readPcap(file).records.length, `${file}: records`).toBe(count);
  if (opts.inputWithBrokenFrames) return; // deliberately truncated/invalid inputs
  expect(rep.malformed, `${file}: malformed frames (experts: ${rep.experts.join(' / ')})`).toEqual([]);
}

/** Segments software GSO must produce for a super-frame: ceil(L4 payload / gso_size). */
function expectedSegments(frame: Buffer, gsoSize: number): number {
  const l3 = parseL3(frame, 14, frame.readUInt16BE(12))!;
  const l4hdr = l3.proto === 6 ? (frame[l3.l4off + 12]! >> 4) * 4 : 8;
  const payload = frame.length - l3.l4off - l4hdr;
  return Math.ceil(payload / gsoSize);
}

describe.skipIf(gate.skip)(`kernel reference harness${gate.label}`, () => {
  let dir = '';
  const keep = !!process.env.CAPFLOW_KERNEL_REF_DIR;

  beforeAll(() => {
    gate.assertReady();
    dir = keep ? process.env.CAPFLOW_KERNEL_REF_DIR! : mkdtempSync(join(tmpdir(), 'capflow-kref-'));
  });

  afterAll(() => {
    destroyAllNetns();
    if (dir && !keep) rmSync(dir, { recursive: true, force: true });
  });

  it('VXLAN encap via encap-ip routes on a collect-metadata device', async () => {
    const cases = defaultEncapCases();
    const res = await vxlanEncapReference(join(dir, 'encap'), cases);
    expect(res.map((r) => r.name)).toEqual(cases.map((c) => c.name));
    for (const [i, r] of res.entries()) {
      const n = cases[i]!.inner.length;
      expectCleanCapture(r.innerPcap, n);
      expectCleanCapture(r.outerPcap, n);
      for (const o of r.observed) {
        expect(o.innerMatchesVx0, `${r.name}: underlay inner frame equals vx0 frame`).toBe(true);
        expect(o.vni).toBe(r.params.vni);
        expect(o.dport).toBe(REF.dstPort);
        expect(o.sport).toBeGreaterThanOrEqual(32768);
        expect(o.sport).toBeLessThan(61000);
      }
      const vx0 = readPcap(r.innerPcap).records;
      for (const rec of vx0) {
        expect(rec.data.subarray(6, 12).equals(Buffer.from(REF.vxMacEncap.split(':').map((x) => parseInt(x, 16))))).toBe(true);
      }
    }
  });

  it('VXLAN decap on a collect-metadata device', async () => {
    const cases = defaultDecapCases();
    const res = await vxlanDecapReference(join(dir, 'decap'), cases);
    const delivered = res.cases.filter((c) => c.delivered).length;
    expect(delivered).toBeGreaterThan(0);
    expect(delivered, JSON.stringify(res.cases.map((c) => [c.name, c.delivered]))).toBe(cases.filter((c) => c.expect === 'deliver').length);
    expectCleanCapture(res.inputPcap, cases.length, { inputWithBrokenFrames: true });
    expectCleanCapture(res.deliveredPcap, delivered);
    // The ECN rewrite of the inner IPv4 header keeps its header checksum valid.
    for (const rec of readPcap(res.deliveredPcap).records) {
      if (rec.data.readUInt16BE(12) === ETH_P_IP) expect(parseL3(rec.data, 14, ETH_P_IP)!.hdrCsumOk).toBe(true);
    }
  });

  it('VXLAN decap over IPv6 with a zero UDP checksum and udp6zerocsumrx', async () => {
    const cases = defaultDecapCases().filter((c) => c.name === 'v6-udp-csum-zero');
    const res = await vxlanDecapReference(join(dir, 'decap'), cases, { udp6zerocsumrx: true }, 'zerocsum6');
    expect(res.cases[0]!.delivered).toBe(true);
    expectCleanCapture(res.deliveredPcap, 1);
  });

  for (const c of defaultGsoCases()) {
    it(`software GSO of a virtio_net_hdr super-frame: ${c.name}`, async () => {
      const res = await gsoReference(join(dir, 'gso'), c.frames, c.kind, { name: c.name, gsoSize: c.gsoSize, ecn: c.ecn });
      const n = c.frames.reduce((s, f) => s + expectedSegments(f, c.gsoSize), 0);
      expectCleanCapture(res.inputPcap, c.frames.length);
      expectCleanCapture(res.rxPcap, n);
      expectCleanCapture(res.txPcap, n);
      expect(res.observed.every((o) => o.l4Csum === 'valid')).toBe(true);
    });
  }

  it('MPLS lwtunnel push (skipped when the kernel lacks MPLS routing)', async (ctx) => {
    const res = await mplsReference(join(dir, 'mpls'));
    if (res.skipped !== undefined) {
      console.warn(`[mpls reference skipped] ${res.skipped}`);
      ctx.skip();
      return;
    }
    const n = readPcap(res.sentPcap).records.length;
    expectCleanCapture(res.inputPcap, n);
    expectCleanCapture(res.outputPcap, n);
    for (const o of res.observed) expect(o.lses.map((l) => l.label)).toEqual(res.labels);
  });
});
