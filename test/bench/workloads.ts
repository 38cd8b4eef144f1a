/**
 * The capflow runs that `npm run bench` times and `npm run bench:instructions` counts: which
 * generated input, which output format, and the arguments after `run IN -o OUT`. One list, so
 * the two instruments measure the same work.
 */
import type { InputKind } from './generate.js';

export interface Workload {
  readonly id: string;
  readonly label: string;
  readonly input: InputKind;
  readonly outExt: 'pcap' | 'pcapng';
  readonly args: readonly string[];
  /** The case it is compared with (the bench's ratio; a capflow workload or `editcap`). */
  readonly ref?: string;
}

const TUNNEL_KEY = ['--stage', 'tunnel-key:rules=[{match: {ipDst: 203.0.113.0/24}, set: {vni: 42, dst: 192.0.2.2}}]'];
const VXLAN_ENCAP = ['--stage', 'vxlan-encap:src=192.0.2.1,outerEth.src=02:00:00:00:00:01,outerEth.dst=02:00:00:00:00:02'];
/** An egress that passes every frame of the inputs (1514 and 1564 bytes, a label or a tunnel added). */
const MTU_9000 = ['--stage', 'gso:mtu=9000'];

/** Tunnel re-origination: the encap case and the batch's packet-work workload. */
export const ENCAP_STAGES: readonly string[] = [...TUNNEL_KEY, ...VXLAN_ENCAP, ...MTU_9000];

export const WORKLOADS: readonly Workload[] = [
  { id: 'copy', label: 'plain copy (run IN -o OUT)', input: 'plain', outExt: 'pcap', args: [], ref: 'editcap' },
  { id: 'copy-ng', label: 'plain copy to pcapng', input: 'plain', outExt: 'pcapng', args: [], ref: 'copy' },
  { id: 'encap', label: 'tunnel-key + vxlan-encap', input: 'plain', outExt: 'pcap', args: ENCAP_STAGES, ref: 'copy' },
  // MTU 9000 as for encap: at 1500 the 1518-byte labelled frames are TCP packets a stage grew past
  // the MTU, each cut in two segments (README), and the case would measure segmentation.
  { id: 'mpls', label: 'mpls-push (one label)', input: 'plain', outExt: 'pcap', args: ['--stage', 'mpls-push:labels=[{label: 100, ttl: 64}]', ...MTU_9000], ref: 'copy' },
  // The general path with nothing to change: no stage, an egress that passes every frame, each
  // record written in place from its read chunk (no frame copy). What it takes above the copy is
  // what every packet costs there (the reader's packet, the decode, the checksum state, the
  // egress's checks, the counts); no stage's case comes nearer the copy than it.
  { id: 'general', label: 'general path, no stage (gso:mtu=9000)', input: 'plain', outExt: 'pcap', args: MTU_9000, ref: 'copy' },
  { id: 'copy-vxlan', label: 'plain copy, VXLAN input', input: 'vxlan', outExt: 'pcap', args: [] },
  { id: 'copy-vxlan-ng', label: 'plain copy, VXLAN input, to pcapng', input: 'vxlan', outExt: 'pcapng', args: [], ref: 'copy-vxlan' },
  // Decap's floor, as `general` is the other stages': the frame inside VXLAN is decoded too (the
  // pipeline follows its VXLAN ports) and its checksums classified, which the copy, making no
  // packet at all, does not do.
  { id: 'general-vxlan', label: 'general path, VXLAN input, to pcapng (gso:mtu=9000)', input: 'vxlan', outExt: 'pcapng', args: MTU_9000, ref: 'copy-vxlan-ng' },
  { id: 'decap', label: 'vxlan-decap to pcapng (metadata)', input: 'vxlan', outExt: 'pcapng', args: ['--stage', 'vxlan-decap'], ref: 'copy-vxlan-ng' },
  // ip_fragment: captured frames at their size are never fragmented (README), frames a stage grew
  // are: tunnel-key + vxlan-encap at the default MTU 1500 makes 1564-byte frames without DF, each
  // cut in two fragments (beside the same encap at MTU 9000, the fragmentation's own cost).
  { id: 'fragment', label: 'ip_fragment: tunnel-key + vxlan-encap at MTU 1500', input: 'plain', outExt: 'pcap', args: [...TUNNEL_KEY, ...VXLAN_ENCAP], ref: 'copy' },
  { id: 'checksum', label: 'gso: checksum.fix (outer + inner)', input: 'vxlan', outExt: 'pcap', args: ['--stage', 'gso:mtu=9000,checksum.fix=true'], ref: 'copy-vxlan' },
  { id: 'copy-tso', label: 'plain copy, TSO input', input: 'tso', outExt: 'pcap', args: [] },
  { id: 'gso', label: 'gso wire view, NIC none, mss auto', input: 'tso', outExt: 'pcap', args: ['--nic', 'none', '--view', 'wire', '--stage', 'gso'], ref: 'copy-tso' },
];

export function workload(id: string): Workload {
  const w = WORKLOADS.find((x) => x.id === id);
  if (!w) throw new Error(`no workload ${id}`);
  return w;
}
