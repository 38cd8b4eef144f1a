/**
 * VXLAN + GSO against the kernel with a real TCP transfer (test/kernel/vxlan-gso-scenario.ts):
 * a TCP connection over an `encap ip`/`encap ip6` route to a collect-metadata vx0, underlay veth
 * with tx-udp_tnl-segmentation (and TSO, GSO, tx checksumming) off. The TCP super-packets the
 * TX tap of vx0 recorded go through capflow:
 *
 *   tunnel-key  (set: vni 42, dst, csum exactly as A's encap route; no ttl/tos on the route)
 *   vxlan-encap (src = A's underlay address, outer MACs of the veth pair, dstPort 4789)
 *   gso         (nic none, wire view, mss auto: learnt from the SYN-ACK in the vx0 capture,
 *                checksum.fix: the vx0 tap sees partial TCP checksums (vx0 has checksum
 *                offload), so every checksum is recomputed first, as the kernel completes them
 *                in software before vethA's tap with tx checksumming off)
 *
 * and capflow's output must equal the kernel's underlay frames, packet for packet in order, on
 * every decoded field except what the contract lets vary: the outer UDP source port (the kernel
 * hashes the socket's random sk_txhash) and the outer IPv4 ID (per-boot secret + jiffies-based
 * random increments), plus the capture timestamps. diffCaptures' checksum rule then also drops
 * the outer UDP checksum (it covers the port), even a zero one against a non-zero one, so a second
 * comparison copies the kernel's port and ID into capflow's frames (checksums updated
 * incrementally) and masks nothing but the timestamps. Besides: the kernel's segment size is the
 * connection's MSS (TCP_MAXSEG), the outer IPv4 IDs of the segments of one super-packet are
 * consecutive in both, and tshark gives capflow's frames the kernel's checksum verdicts.
 *
 * Only the data direction is compared: the vx0 capture holds both directions (capflow needs the
 * SYN-ACK's MSS option); packets from the receiver carry no tunnel metadata and are left out.
 *
 * Cases: IPv4 underlay; IPv4 underlay with `csum` on the route; IPv6 underlay (zero UDP
 * checksum, receivers with udp6zerocsumrx). On the reference kernel (6.18) the first passes; the
 * other two failed because of checksum.fix (pipeline/gso/checksum-fix.ts), not segmentation:
 *   - csum: when vxlan-encap left the outer UDP checksum CHECKSUM_PARTIAL (non-GSO inner frame),
 *     the fixer skips the whole VXLAN frame, so the inner TCP checksum of SYN / ACK / FIN keeps
 *     the captured pseudo-header sum and the outer checksum is completed over it;
 *   - IPv6: the fixer computes the zero outer UDP checksum vxlan-encap wrote (the kernel sends 0),
 *     and for a super-packet computes it over the whole super-packet, a value then copied into
 *     every segment (wrong for all of them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelGate } from '../helpers/kernel-gate.js';
import { destroyAllNetns } from './netns.js';
import { writePcap } from './frames.js';
import { tsharkCheck } from './tshark.js';
import { VXG, vxlanTcpReference, type VxlanTcpOptions, type VxlanTcpResult } from './vxlan-gso-scenario.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { resolvePipeline } from '../../pipeline/config.js';
import { readPackets } from '../../pipeline/pcap/reader.js';
import { Packet } from '../../pipeline/packet.js';
import { update16 } from '../../pipeline/wire/checksum.js';
import { diffCaptures, formatDiff } from '../../pipeline/diff/index.js';
import type { Egress } from '../../pipeline/egress.js';

const gate = kernelGate();
const IGNORE = ['outer.udp.srcport', 'outer.ipv4.id', 'timestamp'];
const CSUM_PREFS = ['tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'ip.check_checksum:TRUE'];

/** Byte offsets in an underlay frame: outer IP, outer UDP, inner IPv4, inner TCP. */
function offsets(f: Uint8Array): { ip: number; udp: number; innerIp: number; tcp: number } {
  const v6 = ((f[12]! << 8) | f[13]!) === 0x86dd;
  const ip = 14;
  const udp = ip + (v6 ? 40 : 20);
  const innerIp = udp + 8 + 8 + 14;
  const tcp = innerIp + (f[innerIp]! & 0x0f) * 4;
  return { ip, udp, innerIp, tcp };
}

/** Inner TCP payload length of an underlay frame. */
function innerTcpPayload(f: Uint8Array): number {
  const o = offsets(f);
  const ipLen = (f[o.innerIp + 2]! << 8) | f[o.innerIp + 3]!;
  return ipLen - (o.tcp - o.innerIp) - (f[o.tcp + 12]! >> 4) * 4;
}

const u16 = (f: Uint8Array, off: number) => (f[off]! << 8) | f[off + 1]!;

/** A copy of capflow's underlay frame with the kernel's outer UDP source port and IPv4 ID, checksums updated incrementally. */
function adoptRandomFields(ours: Uint8Array, kernel: Uint8Array): Buffer {
  const f = Buffer.from(ours);
  const o = offsets(f);
  const oldPort = f.readUInt16BE(o.udp);
  const newPort = u16(kernel, o.udp);
  f.writeUInt16BE(newPort, o.udp);
  const c = f.readUInt16BE(o.udp + 6);
  if (c !== 0) {
    const n = update16(c, oldPort, newPort);
    f.writeUInt16BE(n === 0 ? 0xffff : n, o.udp + 6);
  }
  if (o.udp - o.ip === 20) {
    const oldId = f.readUInt16BE(o.ip + 4);
    const newId = u16(kernel, o.ip + 4);
    f.writeUInt16BE(newId, o.ip + 4);
    f.writeUInt16BE(update16(f.readUInt16BE(o.ip + 10), oldId, newId), o.ip + 10);
  }
  return f;
}

/** Inner IPv4 source of a vx0 frame (Ethernet / IPv4), or '' for anything else. */
function innerSrc(f: Uint8Array): string {
  if (f.length < 34 || u16(f, 12) !== 0x0800) return '';
  return `${f[26]}.${f[27]}.${f[28]}.${f[29]}`;
}

interface CapflowRun {
  /** Output frames for the data direction, and how many came from each input frame. */
  out: Packet[];
  perInput: number[];
  /** Input frames (data direction) longer than vx0's MTU: the super-packets. */
  superIn: number;
  gso: Egress['stats'];
  drops: Record<string, number>;
  warnings: string[];
}

async function throughCapflow(r: VxlanTcpResult): Promise<CapflowRun> {
  const set: Record<string, unknown> = { vni: r.params.vni, dst: r.params.dst, csum: r.params.csum };
  const warnings: string[] = [];
  const pipeline = new Pipeline(
    resolvePipeline(
      {
        nic: 'none',
        view: 'wire',
        stages: [
          { stage: 'tunnel-key', rules: [{ match: { ipDst: `${VXG.overlayB}/32` }, set }] },
          { stage: 'vxlan-encap', src: r.params.src, dstPort: r.params.dstPort, outerEth: { src: VXG.macA, dst: VXG.macB } },
          { stage: 'gso', mss: 'auto', mtu: VXG.mtu, checksum: { fix: true } },
        ],
      },
      'vxlan-gso-conformance',
    ),
    { onWarning: (m) => warnings.push(m) },
  );
  const run: CapflowRun = { out: [], perInput: [], superIn: 0, gso: pipeline.egress!.stats, drops: {}, warnings };
  const sink: Packet[] = [];
  // Every packet goes in (the SYN-ACK teaches mss auto the peer's MSS); only the sender's leave.
  for await (const p of readPackets(r.vx0Pcap, { name: r.vx0Pcap, strict: true })) {
    const data = innerSrc(p.data) === VXG.overlayA;
    if (data && p.data.length - 14 > r.vxMtu) run.superIn++;
    sink.length = 0;
    pipeline.process(p, sink);
    if (data) {
      run.out.push(...sink);
      run.perInput.push(sink.length);
    }
  }
  sink.length = 0;
  pipeline.flush(sink);
  expect(sink, 'nothing held back').toEqual([]);
  run.drops = pipeline.counters.drops;
  return run;
}

const CASES: VxlanTcpOptions[] = [
  { name: 'v4', underlay: 'ipv4' },
  { name: 'v4-csum', underlay: 'ipv4', csum: true },
  { name: 'v6', underlay: 'ipv6' },
];

describe.skipIf(gate.skip)(`VXLAN + GSO of a real TCP transfer vs the kernel${gate.label}`, () => {
  let dir = '';
  const keep = !!process.env.CAPFLOW_KERNEL_REF_DIR;
  beforeAll(() => {
    gate.assertReady();
    dir = keep ? process.env.CAPFLOW_KERNEL_REF_DIR! : mkdtempSync(join(tmpdir(), 'capflow-vxgso-'));
  });
  afterAll(() => {
    destroyAllNetns();
    if (dir && !keep) rmSync(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.name}: capflow's segments of the vx0 super-packets equal the kernel's underlay frames`, async () => {
      const ref = await vxlanTcpReference(join(dir, 'ref'), c);
      expect(ref.received, 'bytes the server received').toBe(200_000);
      expect(ref.vethAFeatures['tx-udp_tnl-segmentation']).toBe(false);
      expect(ref.vethAFeatures['tx-checksumming']).toBe(false);

      const kernel: Uint8Array[] = [];
      for await (const p of readPackets(ref.underlayPcap, { name: ref.underlayPcap, strict: true })) kernel.push(p.data.slice());
      const ours = await throughCapflow(ref);

      // The transfer really produced super-packets on vx0, and capflow segmented them.
      expect(ours.superIn, 'super-packets captured on vx0').toBeGreaterThan(0);
      expect(ours.gso.superPackets, 'capflow super-packets').toBe(ours.superIn);
      expect(ours.drops).toEqual({});

      // The kernel's gso_size is the connection's MSS.
      const sizes = kernel.map(innerTcpPayload);
      const gsoSize = Math.max(...sizes);
      expect(gsoSize, 'largest kernel segment = TCP_MAXSEG').toBe(ref.clientMss);

      // 1. The comparison the contract states: every decoded field but the masked ones.
      const ourBytes = ours.out.map((p) => Buffer.from(p.data));
      const outFile = join(dir, `${c.name}.capflow.pcap`);
      writePcap(outFile, ourBytes);
      const masked = await diffCaptures(ref.underlayPcap, ours.out, { ignore: IGNORE, max: 40 });
      if (!masked.equal) console.error(`[${c.name}] masked diff, kernel (EXPECTED) vs capflow (ACTUAL):\n${formatDiff(masked)}`);
      expect.soft(masked.equal, `masked diff:\n${formatDiff(masked)}`).toBe(true);
      expect(masked.packets.expected).toBe(kernel.length);

      // 2. The checksum rule drops a checksum whose covered bytes differ only in masked fields, so
      //    the outer UDP checksum (it covers the source port) goes unchecked above, zero or not.
      //    Copy the kernel's source port and IPv4 ID into capflow's frames with incremental checksum
      //    updates (RFC 1624) and compare again with nothing masked but the timestamps.
      const adopted = ourBytes.map((f, i) => (kernel[i] ? adoptRandomFields(f, kernel[i]!) : f));
      const strict = await diffCaptures(ref.underlayPcap, adopted.map((f) => Packet.fromBytes(f)), { ignore: ['timestamp'], max: 40 });
      if (!strict.equal) console.error(`[${c.name}] after adopting the kernel's sport/ID, kernel (EXPECTED) vs capflow (ACTUAL):\n${formatDiff(strict)}`);
      expect.soft(strict.equal, `diff after adopting sport/ID:\n${formatDiff(strict)}`).toBe(true);

      // 3. Outer IPv4 IDs: the segments of one super-packet carry consecutive IDs, in both.
      if (c.underlay === 'ipv4' && ourBytes.length === kernel.length) {
        let at = 0;
        for (const n of ours.perInput) {
          for (let k = 1; k < n; k++) {
            expect.soft((u16(kernel[at + k]!, 18) - u16(kernel[at]!, 18)) & 0xffff, `kernel outer ID, segment ${at + k}`).toBe(k);
            expect.soft((u16(ourBytes[at + k]!, 18) - u16(ourBytes[at]!, 18)) & 0xffff, `capflow outer ID, segment ${at + k}`).toBe(k);
          }
          at += n;
        }
      }

      // 4. tshark: no malformed frame, and the same checksum verdicts as on the kernel's frames
      //    (an IPv6 zero UDP checksum is "Illegal checksum value (0)" in both when the route has no csum).
      const rep = tsharkCheck(outFile, CSUM_PREFS);
      const kRep = tsharkCheck(ref.underlayPcap, CSUM_PREFS);
      expect(rep.count).toBe(ourBytes.length);
      expect(rep.malformed).toEqual([]);
      const verdicts = (r: typeof rep) =>
        r.experts
          .map((e, i) => `frame ${i + 1}: ${e.split(',').filter((x) => /Checksum/.test(x)).join(', ')}`)
          .filter((l) => !l.endsWith(': '))
          .join('\n');
      expect.soft(verdicts(rep), 'tshark checksum verdicts: capflow (received) vs kernel (expected)').toBe(verdicts(kRep));

      const o0 = offsets(kernel[kernel.length - 1]!);
      console.log(
        `[${c.name}] route: ip ${ref.route.join(' ')}; vx0 mtu ${ref.vxMtu}; TCP_MAXSEG ${ref.clientMss}; ` +
          `vx0 data frames ${ours.perInput.length} (${ours.superIn} super-packets) → kernel ${kernel.length} / capflow ${ourBytes.length} underlay frames; ` +
          `gso_size ${gsoSize}; kernel outer UDP sport ${u16(kernel[0]!, o0.udp)}, csum ${u16(kernel[kernel.length - 1]!, o0.udp + 6) === 0 ? 'zero' : 'set'}`,
      );
    }, 60_000);
  }
});
