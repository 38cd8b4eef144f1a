/**
 * GSO requests and partial checksums under an MPLS label stack, against the kernel.
 *
 * The kernel here has no MPLS routing (nor MPLS GSO), so it cannot label a packet itself. What it
 * would send is still known: `mpls_gso_segment` (net/mpls/mpls_gso.c) pulls the label stack, lets
 * the inner protocol segment the packet with the device's `mpls_features`, and puts the original
 * L2 header and the identical label stack in front of every segment; the IP header under the stack
 * is the inner protocol's business (TTL untouched, IPv4 ID, lengths and checksums as without
 * labels). A non-GSO CHECKSUM_PARTIAL packet under labels is completed by `skb_checksum_help`
 * when `mpls_features` has no checksum offload, or left partial when it has (veth: HW_CSUM). So
 * the reference is the kernel's own output for the unlabelled request (virtio-net-hdr injection
 * into a veth, scenarios.ts `gsoReference`) with the label stack inserted into each frame.
 *
 * capflow's input is the labelled request as the sending host shows it (pseudo-header sum in the
 * L4 checksum), through the built CLI.
 */
import { describe, expect, it } from 'vitest';
import { kernelGate } from '../helpers/kernel-gate.js';
import { capflowOk, haveBuild, kernelCliSuite } from './cli-suite.js';
import { ETH_P_MPLS, readPcap, writePcap } from './frames.js';
import { tsharkCheck } from './tshark.js';
import { gsoReference, type GsoKind } from './scenarios.js';
import { frame, pattern, TS_OPTS, type FrameSpec } from '../gso/build.js';

const gate = kernelGate();
const CSUM_PREFS = ['tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'ip.check_checksum:TRUE'];
/** Small enough that a segment with its labels fits a 1500-byte MTU. */
const GSO_SIZE = 1400;
const FILTER = 'tcp or udp or vlan';

interface Lse {
  label: number;
  tc: number;
  ttl: number;
}
const STACKS: Lse[][] = [
  [{ label: 100, tc: 0, ttl: 64 }],
  [
    { label: 1000, tc: 5, ttl: 255 },
    { label: 16, tc: 0, ttl: 63 },
  ],
];

/** The frame with `stack` after its Ethernet header and VLAN tags (EtherType 0x8847, S on the last entry). */
function withLabels(f: Buffer, stack: Lse[]): Buffer {
  let off = 12;
  while (f.readUInt16BE(off) === 0x8100 || f.readUInt16BE(off) === 0x88a8) off += 4;
  const lses = Buffer.alloc(4 * stack.length);
  stack.forEach((e, i) => lses.writeUInt32BE(((e.label << 12) | (e.tc << 9) | (i === stack.length - 1 ? 0x100 : 0) | e.ttl) >>> 0, 4 * i));
  const type = Buffer.alloc(2);
  type.writeUInt16BE(ETH_P_MPLS);
  return Buffer.concat([f.subarray(0, off), type, lses, f.subarray(off + 2)]);
}

const v4 = { v: 4 as const, src: '192.0.2.1', dst: '192.0.2.2' };
const v6 = { v: 6 as const, src: '2001:db8::1', dst: '2001:db8::2' };

interface Group {
  name: string;
  kind: GsoKind;
  /** Requests whose payload fits one segment (no GSO skb: only the checksum is completed). */
  oneSegment: FrameSpec[];
  /** Requests the kernel segments. */
  multiSegment: FrameSpec[];
}

const groups: Group[] = [
  {
    name: 'TCPv4',
    kind: 'tcpv4',
    oneSegment: [
      { ip: v4, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(1000) },
      { ip: v4, l4: { kind: 'tcp' }, payload: pattern(GSO_SIZE) },
      { ip: { ...v4, options: [0x94, 4, 0, 0] }, l4: { kind: 'tcp' }, payload: pattern(700) },
      { vlan: [100], ip: v4, l4: { kind: 'tcp' }, payload: pattern(500) },
    ],
    multiSegment: [
      { ip: { ...v4, id: 0x1000 }, l4: { kind: 'tcp', options: TS_OPTS, flags: 0x18 }, payload: pattern(10_000) },
      { ip: { ...v4, id: 0x2000 }, l4: { kind: 'tcp', flags: 0x19 }, payload: pattern(4000, 3) },
      { ip: { ...v4, id: 0x3000, options: [0x94, 4, 0, 0] }, l4: { kind: 'tcp', flags: 0x18 }, payload: pattern(5000, 5) },
      { vlan: [100], ip: { ...v4, id: 0x4000 }, l4: { kind: 'tcp', flags: 0x18 }, payload: pattern(3000, 9) },
    ],
  },
  {
    name: 'TCPv6',
    kind: 'tcpv6',
    oneSegment: [
      { ip: v6, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(900) },
      { vlan: [100, 200], ip: v6, l4: { kind: 'tcp' }, payload: pattern(400) },
    ],
    multiSegment: [
      { ip: v6, l4: { kind: 'tcp', options: TS_OPTS, flags: 0x19 }, payload: pattern(10_000, 11) },
      { vlan: [100, 200], ip: v6, l4: { kind: 'tcp', flags: 0x18 }, payload: pattern(3500, 13) },
    ],
  },
  {
    name: 'UDP',
    kind: 'udp_l4',
    oneSegment: [{ ip: v4, l4: { kind: 'udp' }, payload: pattern(600) }],
    multiSegment: [
      { ip: { ...v4, id: 0x7000 }, l4: { kind: 'udp' }, payload: pattern(5000, 17) },
      { ip: v6, l4: { kind: 'udp' }, payload: pattern(5000, 19) },
    ],
  },
];

const records = (file: string) => readPcap(file).records.map((r) => r.data);
const hexes = (bufs: Buffer[]) => bufs.map((b) => b.toString('hex'));

describe.skipIf(gate.skip || !haveBuild)(`GSO and partial checksums under MPLS labels against the kernel's output plus the labels${gate.label}`, () => {
  const suite = kernelCliSuite(gate, 'capflow-mpls-');

  for (const g of groups) {
    it(`${g.name}: one-segment and multi-segment requests under one and two labels, wire view and driver views (none, veth)`, async () => {
      const one = g.oneSegment.map((s) => Buffer.from(frame({ ...s, csum: 'partial' })));
      const multi = g.multiSegment.map((s) => Buffer.from(frame({ ...s, csum: 'partial' })));
      // The kernel without checksum offload: segments (or the one packet) with complete checksums.
      const off = await gsoReference(suite.at('off'), [...one, ...multi], g.kind, { name: `${g.name}-off`, gsoSize: GSO_SIZE, filter: FILTER });
      const kernelOff = records(off.rxPcap);
      expect(kernelOff.length).toBeGreaterThan(one.length + multi.length);

      const input = records(off.inputPcap);
      const inFile = suite.at(`${g.name}.mpls.pcap`);
      writePcap(inFile, STACKS.flatMap((st) => input.map((f) => withLabels(f, st))));
      const expected = hexes(STACKS.flatMap((st) => kernelOff.map((f) => withLabels(f, st))));

      const wire = suite.at(`${g.name}.wire.pcap`);
      capflowOk(['run', inFile, '-o', wire, '--view', 'wire', '--stage', `gso:mss=${GSO_SIZE}`]);
      expect(hexes(records(wire))).toEqual(expected);
      // No checksum offload under MPLS on a device without offloads: the driver gets the same bytes.
      const none = suite.at(`${g.name}.none.pcap`);
      capflowOk(['run', inFile, '-o', none, '--nic', 'none', '--stage', `gso:mss=${GSO_SIZE}`]);
      expect(hexes(records(none))).toEqual(expected);

      // The payload pattern fools tshark's RTCP heuristic on UDP; the test is about the checksums.
      const rep = tsharkCheck(wire, CSUM_PREFS, ['rtcp']);
      expect(rep.count).toBe(expected.length);
      expect(rep.malformed).toEqual([]);
      for (const e of rep.experts) expect(e).not.toMatch(/bad|incorrect/i);

      // veth's mpls_features include HW_CSUM: a one-segment request stays partial, as the kernel
      // leaves it on a veth with tx-checksumming on.
      const on = await gsoReference(suite.at('on'), one, g.kind, { name: `${g.name}-on`, gsoSize: GSO_SIZE, txCsum: true, filter: FILTER });
      const kernelOn = records(on.rxPcap);
      expect(kernelOn.length).toBe(one.length);
      const oneFile = suite.at(`${g.name}.one.mpls.pcap`);
      writePcap(oneFile, STACKS.flatMap((st) => records(on.inputPcap).map((f) => withLabels(f, st))));
      const veth = suite.at(`${g.name}.veth.pcap`);
      capflowOk(['run', oneFile, '-o', veth, '--nic', 'veth']);
      expect(hexes(records(veth))).toEqual(hexes(STACKS.flatMap((st) => kernelOn.map((f) => withLabels(f, st)))));
      console.log(`MPLS ${g.name}: ${2 * (one.length + multi.length)} labelled requests → ${expected.length} frames byte-equal in the wire and none views, ${2 * one.length} in the veth driver view`);
    }, 120_000);
  }
});
