/**
 * Partial checksums on packets that are not segmented, against the kernel. A virtio-net-hdr GSO
 * request whose payload fits one segment is not made a GSO skb (virtio_net_hdr_to_skb), so it
 * reaches validate_xmit_skb as a plain CHECKSUM_PARTIAL skb: on a veth with tx-checksumming off
 * skb_checksum_help completes it (what the peer captures = capflow's wire view, and its driver
 * view for a profile without checksum offload); with tx-checksumming on it leaves partial (the
 * peer sees the pseudo-header sum = capflow's driver view of the veth profile).
 *
 * capflow's input is what the sending host shows: the frame with the pseudo-header sum in its
 * L4 checksum (the injector's input pcap). It runs through the built CLI, as users run it.
 */
import { describe, expect, it } from 'vitest';
import { kernelGate } from '../helpers/kernel-gate.js';
import { capflowOk, haveBuild, kernelCliSuite } from './cli-suite.js';
import { readPcap } from './frames.js';
import { tsharkCheck } from './tshark.js';
import { gsoReference, type GsoKind } from './scenarios.js';
import { frame, pattern, TS_OPTS, type FrameSpec } from '../gso/build.js';

const gate = kernelGate();
const CSUM_PREFS = ['tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'ip.check_checksum:TRUE'];
const GSO_SIZE = 1448;
const FILTER = 'tcp or udp or vlan';

const hexAll = (file: string) => readPcap(file).records.map((r) => r.data.toString('hex'));

const cases: Array<{ name: string; kind: GsoKind; spec: FrameSpec }> = [
  { name: 'TCPv4', kind: 'tcpv4', spec: { ip: { v: 4, src: '192.0.2.1', dst: '192.0.2.2' }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(1000) } },
  { name: 'TCPv4 one full segment', kind: 'tcpv4', spec: { ip: { v: 4, src: '192.0.2.1', dst: '192.0.2.2' }, l4: { kind: 'tcp' }, payload: pattern(GSO_SIZE) } },
  { name: 'TCPv6', kind: 'tcpv6', spec: { ip: { v: 6, src: '2001:db8::1', dst: '2001:db8::2' }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(900) } },
  {
    name: 'TCPv4 with IPv4 options',
    kind: 'tcpv4',
    spec: { ip: { v: 4, src: '192.0.2.1', dst: '192.0.2.2', options: [0x94, 4, 0, 0] }, l4: { kind: 'tcp' }, payload: pattern(700) },
  },
  { name: 'TCPv4 VLAN-tagged', kind: 'tcpv4', spec: { vlan: [100], ip: { v: 4, src: '192.0.2.1', dst: '192.0.2.2' }, l4: { kind: 'tcp' }, payload: pattern(500) } },
  { name: 'TCPv6 QinQ', kind: 'tcpv6', spec: { vlan: [100, 200], ip: { v: 6, src: '2001:db8::1', dst: '2001:db8::2' }, l4: { kind: 'tcp' }, payload: pattern(400) } },
];

describe.skipIf(gate.skip || !haveBuild)(`partial checksums of one-segment GSO requests against the kernel${gate.label}`, () => {
  const suite = kernelCliSuite(gate, 'capflow-csum-');

  for (const c of cases) {
    it(`${c.name}: wire view and driver view (none, veth) equal the kernel`, async () => {
      // What the sending host shows: the pseudo-header sum in the checksum field.
      const f = Buffer.from(frame({ ...c.spec, csum: 'partial' }));
      // tx-checksumming off: the kernel completes the checksum in software.
      const off = await gsoReference(suite.at('off'), [f], c.kind, { name: `${c.name}-off`, gsoSize: GSO_SIZE, filter: FILTER });
      const kernelOff = hexAll(off.rxPcap);
      expect(kernelOff.length).toBe(1);
      const input = off.inputPcap;
      expect(hexAll(input)[0]).not.toBe(kernelOff[0]);

      const wire = suite.at(`${c.name}.wire.pcap`);
      capflowOk(['run', input, '-o', wire, '--view', 'wire']);
      expect(hexAll(wire)).toEqual(kernelOff);
      const none = suite.at(`${c.name}.none.pcap`);
      capflowOk(['run', input, '-o', none, '--nic', 'none']);
      expect(hexAll(none)).toEqual(kernelOff);
      const rep = tsharkCheck(wire, CSUM_PREFS);
      expect(rep.malformed).toEqual([]);
      for (const e of rep.experts) expect(e).not.toMatch(/bad|incorrect/i);

      // tx-checksumming on: the partial checksum is left for the device.
      const on = await gsoReference(suite.at('on'), [f], c.kind, { name: `${c.name}-on`, gsoSize: GSO_SIZE, txCsum: true, filter: FILTER });
      const driver = suite.at(`${c.name}.veth.pcap`);
      capflowOk(['run', input, '-o', driver, '--nic', 'veth']);
      expect(hexAll(driver)).toEqual(hexAll(on.rxPcap));
    }, 240_000);
  }
});
