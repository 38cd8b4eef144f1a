/**
 * capflow's VXLAN stages against the real kernel (test/kernel/scenarios.ts):
 *
 * - encap: the inner frames the kernel handed its collect-metadata vx0 go through tunnel-key
 *   (the route's vni/dst/ttl/tos/csum) + vxlan-encap (src, outer MACs of the reference); the result
 *   must equal the kernel's underlay frames byte for byte, except the outer UDP source port and
 *   IPv4 ID, which the kernel draws from per-boot secrets. Those two are copied from the kernel's
 *   frame into capflow's (fixing the checksums they are covered by) before comparing, so every
 *   other byte, checksums included, is compared. The reference runs with tx-checksumming off on
 *   the underlay, so its checksums are final; capflow's partial checksum is completed the same way.
 * - decap: capflow delivers exactly the frames vx0 delivered (bytes) and drops exactly the
 *   inputs the kernel dropped, each with the reason the kernel's counters point at.
 * - tshark: capflow's encap output dissects as VXLAN without malformed packets or bad checksums;
 *   decapsulated pcapng output shows the metadata comment in frame.comment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { kernelGate } from '../helpers/kernel-gate.js';
import { destroyAllNetns } from './netns.js';
import { readPcap, writePcap } from './frames.js';
import { tsharkCheck } from './tshark.js';
import { REF, defaultDecapCases, defaultEncapCases, vxlanDecapReference, vxlanEncapReference, type EncapResult } from './scenarios.js';
import { Packet } from '../../pipeline/packet.js';
import { update16 } from '../../pipeline/wire/checksum.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { outputComments } from '../../pipeline/comments.js';
import { tunnelKey } from '../../stages/tunnel-key.js';
import { vxlanEncap } from '../../stages/vxlan-encap.js';
import { vxlanDecap } from '../../stages/vxlan-decap.js';
import { chain, completeChecksum, make } from '../stages/vxlan-frames.js';

const gate = kernelGate();

/** The drop reason capflow gives each default decap case the kernel drops. */
const DECAP_REASONS: Record<string, string> = {
  'i-flag-clear': 'vxlan-bad-flags',
  'reserved-word0-bit': 'vxlan-reserved-bits',
  'reserved-flag-bit': 'vxlan-reserved-bits',
  'reserved-word1-low': 'vxlan-reserved-bits',
  'ce-over-notect': 'ecn-ce-on-not-ect',
  'udp-csum-bad': 'udp-bad-checksum',
  'v6-udp-csum-zero': 'udp6-zero-checksum',
  'inner-src-is-vx0-mac': 'vxlan-local-mac',
  'inner-eth-truncated': 'vxlan-inner-too-short',
  'inner-ipv4-truncated': 'vxlan-inner-ip-too-short',
};

/** Copy the kernel's outer UDP source port and IPv4 ID into capflow's frame, fixing the checksums. */
function adoptRandomFields(ours: Buffer, kernel: Buffer): void {
  const v4 = ours.readUInt16BE(12) === 0x0800;
  const u = v4 ? 34 : 54;
  const oldPort = ours.readUInt16BE(u);
  const newPort = kernel.readUInt16BE(u);
  ours.writeUInt16BE(newPort, u);
  const c = ours.readUInt16BE(u + 6);
  if (c !== 0) {
    let n = update16(c, oldPort, newPort);
    if (n === 0) n = 0xffff;
    ours.writeUInt16BE(n, u + 6);
  }
  if (v4) {
    const oldId = ours.readUInt16BE(18);
    const newId = kernel.readUInt16BE(18);
    ours.writeUInt16BE(newId, 18);
    ours.writeUInt16BE(update16(ours.readUInt16BE(24), oldId, newId), 24);
  }
}

function encapThroughCapflow(r: EncapResult): Buffer[] {
  const set: Record<string, unknown> = { vni: r.params.vni, dst: r.params.dst, csum: r.params.csum };
  if (r.params.ttl !== undefined) set.ttl = r.params.ttl;
  if (r.params.tos !== undefined) set.tos = r.params.tos;
  const stages = [
    make(tunnelKey, { rules: [{ set }] }),
    make(vxlanEncap, { src: r.params.src, dstPort: r.params.dstPort, outerEth: { src: REF.macA, dst: REF.macB } }),
  ];
  const inner = readPcap(r.innerPcap).records.map((rec) => Packet.fromBytes(rec.data));
  const res = chain(stages, inner);
  expect(res.drops).toEqual([]);
  return res.out.map((p) => Buffer.from(completeChecksum(p)));
}

describe.skipIf(gate.skip)(`VXLAN stages vs the kernel${gate.label}`, () => {
  let dir = '';
  const keep = !!process.env.CAPFLOW_KERNEL_REF_DIR;

  beforeAll(() => {
    gate.assertReady();
    dir = keep ? process.env.CAPFLOW_KERNEL_REF_DIR! : mkdtempSync(join(tmpdir(), 'capflow-vxconf-'));
  });

  afterAll(() => {
    destroyAllNetns();
    if (dir && !keep) rmSync(dir, { recursive: true, force: true });
  });

  it('encap: tunnel-key + vxlan-encap reproduce the kernel outer frames (IPv4/IPv6 underlay, csum, ttl, tos)', async () => {
    const results = await vxlanEncapReference(join(dir, 'encap'));
    expect(results.length).toBe(defaultEncapCases().length);
    for (const r of results) {
      const kernel = readPcap(r.outerPcap).records.map((x) => x.data);
      const ours = encapThroughCapflow(r);
      expect(ours.length, r.name).toBe(kernel.length);
      const outFile = join(dir, `capflow-encap-${r.name}.pcap`);
      writePcap(outFile, ours);
      ours.forEach((f, i) => {
        const k = kernel[i]!;
        // Source port: in the kernel's default range (ip_local_port_range, max exclusive) and ours in ours.
        const u = f.readUInt16BE(12) === 0x0800 ? 34 : 54;
        expect(k.readUInt16BE(u)).toBeGreaterThanOrEqual(32768);
        expect(k.readUInt16BE(u)).toBeLessThanOrEqual(60998);
        expect(f.readUInt16BE(u)).toBeGreaterThanOrEqual(32768);
        expect(f.readUInt16BE(u)).toBeLessThan(61000);
        adoptRandomFields(f, k);
        expect(f.toString('hex'), `${r.name} frame ${i}`).toBe(k.toString('hex'));
      });
      // tshark: VXLAN everywhere, nothing malformed, no bad checksums.
      const rep = tsharkCheck(outFile, ['udp.check_checksum:TRUE', 'ip.check_checksum:TRUE']);
      expect(rep.count).toBe(ours.length);
      expect(rep.malformed, r.name).toEqual([]);
      for (const e of rep.experts) expect(e, r.name).not.toMatch(/bad checksum|incorrect/i);
      const vx = spawnSync('tshark', ['-n', '-r', outFile, '-T', 'fields', '-e', 'vxlan.vni'], { encoding: 'utf8' });
      expect(vx.stdout.trim().split('\n').map(Number)).toEqual(ours.map(() => r.params.vni));
    }
  }, 120_000);

  it('decap: same delivered frames, same drops (with reasons)', async () => {
    const cases = defaultDecapCases();
    const res = await vxlanDecapReference(join(dir, 'decap'), cases);
    const delivered = readPcap(res.deliveredPcap).records.map((r) => r.data);
    const inputs = readPcap(res.inputPcap).records.map((r) => r.data);
    const stage = make(vxlanDecap, { localMac: res.vxMac });
    const out: Buffer[] = [];
    const pcapngPackets: Packet[] = [];
    for (const c of res.cases) {
      const p = Packet.fromBytes(inputs[c.index]!);
      const r = chain([stage], p);
      if (c.delivered) {
        expect(r.drops, c.name).toEqual([]);
        expect(Buffer.from(r.out[0]!.data).toString('hex'), c.name).toBe(delivered[c.deliveredIndex!]!.toString('hex'));
        out.push(Buffer.from(r.out[0]!.data));
        pcapngPackets.push(r.out[0]!);
      } else {
        expect(r.drops, c.name).toEqual([DECAP_REASONS[c.name] ?? '(no reason mapped)']);
      }
    }
    expect(out.length).toBe(delivered.length);

    // pcapng output with the metadata comment, as the runner writes it.
    const file = join(dir, 'capflow-decap.pcapng');
    const w = await createFileWriter(file, { format: 'pcapng' });
    const id = w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1_000_000 });
    for (const p of pcapngPackets) w.write(p, id, outputComments(p));
    await w.close();
    const t = spawnSync('tshark', ['-n', '-r', file, '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
    const comments = t.stdout.trim().split('\n');
    expect(comments.length).toBe(pcapngPackets.length);
    comments.forEach((c, i) => expect(c).toBe(pcapngPackets[i]!.tunnel!.toComment()));
    expect(comments[0]).toMatch(/^tunnel vni=1 src=192\.0\.2\.1 dst=192\.0\.2\.2 tos=0x00 ttl=64 tpSrc=50000 tpDst=4789 flags=key,df$/);
    expect(tsharkCheck(file).malformed).toEqual([]);
  }, 120_000);

  it('decap: IPv6 zero UDP checksum is delivered with udp6ZeroCsumRx (as udp6zerocsumrx)', async () => {
    const cases = defaultDecapCases().filter((c) => c.name === 'v6-udp-csum-zero');
    const res = await vxlanDecapReference(join(dir, 'decap'), cases, { udp6zerocsumrx: true }, 'zerocsum6');
    expect(res.cases[0]!.delivered).toBe(true);
    const delivered = readPcap(res.deliveredPcap).records.map((r) => r.data);
    const input = readPcap(res.inputPcap).records[0]!.data;
    const r = chain([make(vxlanDecap, { localMac: res.vxMac, udp6ZeroCsumRx: true })], Packet.fromBytes(input));
    expect(r.drops).toEqual([]);
    expect(Buffer.from(r.out[0]!.data).toString('hex')).toBe(delivered[0]!.toString('hex'));
  }, 60_000);
});
