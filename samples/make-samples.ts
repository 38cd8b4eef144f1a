/**
 * Regenerates the bundled sample captures (npm run samples). Every frame is crafted here with
 * valid lengths and checksums; nothing is copied from elsewhere. Deterministic: same bytes on
 * every run.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packet } from '../pipeline/packet.js';
import { createFileWriter } from '../pipeline/pcap/writer.js';
import { craftFrame, craftVxlan, type CraftSpec } from '../pipeline/craft.js';
import { LINKTYPE } from '../pipeline/pcap/link-type.js';
import { fold, pseudoV4 } from '../pipeline/wire/checksum.js';

const here = dirname(fileURLToPath(import.meta.url));
const T0 = 1_763_700_000; // 2025-11-21T04:40:00Z

interface Rec {
  frame: Uint8Array;
  sec: number;
  nsec: number;
  comment?: string;
}

async function write(name: string, recs: Rec[], format: 'pcap' | 'pcapng', nanosecond = true): Promise<void> {
  const w = await createFileWriter(join(here, name), { format, nanosecond });
  const iface = w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 262144, tsUnits: nanosecond ? 1e9 : 1e6, name: 'eth0' });
  for (const r of recs) {
    const p = Packet.fromBytes(r.frame);
    p.tsSec = r.sec;
    p.tsUnits = nanosecond ? 1e9 : 1e6;
    p.tsFrac = nanosecond ? r.nsec : Math.floor(r.nsec / 1000);
    w.write(p, iface, r.comment ? [r.comment] : null);
  }
  await w.close();
}

/** Inner flows between two tenants' hosts (10.0.x.x would be private; use documentation space). */
function inner(i: number, opts: Partial<CraftSpec> = {}): Uint8Array {
  return craftFrame({
    ethSrc: '02:00:00:00:10:01',
    ethDst: '02:00:00:00:10:02',
    ip: { src: '198.51.100.10', dst: '198.51.100.20', id: 100 + i, ttl: 64 },
    l4: { kind: 'tcp', srcPort: 40000 + i, dstPort: 80, seq: 1000 + i * 100, ack: 1, flags: 0x18 },
    payload: 64 + i * 10,
    ...opts,
  });
}

async function vxlanMixed(): Promise<void> {
  const recs: Rec[] = [];
  let t = 0;
  const push = (frame: Uint8Array, comment?: string) => {
    const r: Rec = { frame, sec: T0, nsec: 1000 + t * 250_000 };
    if (comment) r.comment = comment;
    recs.push(r);
    t++;
  };
  const underlay4 = { ethSrc: '02:00:00:00:00:0a', ethDst: '02:00:00:00:00:0b' };
  // VNI 42 over IPv4 from two remote VTEPs, UDP checksum off (the common Linux default).
  for (let i = 0; i < 4; i++) {
    push(craftVxlan(inner(i), { ...underlay4, ip: { src: '192.0.2.10', dst: '192.0.2.1', ttl: 64, id: 7000 + i, df: false }, srcPort: 49152 + i, vni: 42 }));
  }
  push(craftVxlan(inner(4), { ...underlay4, ip: { src: '192.0.2.11', dst: '192.0.2.1', ttl: 63, tos: 0x28, id: 1 }, srcPort: 50000, vni: 42, udpChecksum: true }));
  // VNI 100 with an IPv6 inner packet (UDP) and an ICMP echo.
  push(craftVxlan(craftFrame({ ip: { src: '2001:db8:100::1', dst: '2001:db8:100::2' }, l4: { kind: 'udp', srcPort: 40500, dstPort: 9000 }, payload: 48 }), { ...underlay4, ip: { src: '192.0.2.12', dst: '192.0.2.1', id: 2 }, srcPort: 51000, vni: 100 }));
  push(craftVxlan(craftFrame({ ip: { src: '198.51.100.30', dst: '198.51.100.31' }, l4: { kind: 'icmp' }, payload: 56 }), { ...underlay4, ip: { src: '192.0.2.12', dst: '192.0.2.1', id: 3 }, srcPort: 51001, vni: 100 }));
  // IPv6 underlay (UDP checksum required over IPv6), VNI 7, outer VLAN 10.
  push(craftVxlan(inner(5), { ...underlay4, vlans: [10], ip: { src: '2001:db8::10', dst: '2001:db8::1', ttl: 64, flowLabel: 0x12345 }, srcPort: 52000, vni: 7, udpChecksum: true }));
  // ECN: outer CE over inner ECT(0) (inner becomes CE), and outer CE over Not-ECT (dropped).
  push(craftVxlan(inner(6, { ip: { src: '198.51.100.10', dst: '198.51.100.20', tos: 0x02, id: 300 } }), { ...underlay4, ip: { src: '192.0.2.10', dst: '192.0.2.1', tos: 0x03, id: 8 }, srcPort: 49152, vni: 42 }));
  push(craftVxlan(inner(7), { ...underlay4, ip: { src: '192.0.2.10', dst: '192.0.2.1', tos: 0x03, id: 9 }, srcPort: 49153, vni: 42 }));
  // A VXLAN header without the I flag (dropped by the kernel) and a non-VXLAN packet (passes).
  const bad = craftVxlan(inner(8), { ...underlay4, ip: { src: '192.0.2.10', dst: '192.0.2.1', id: 10 }, srcPort: 49154, vni: 42 });
  bad[14 + 20 + 8] = 0x00;
  push(bad);
  push(craftFrame({ ...underlay4, ip: { src: '192.0.2.1', dst: '192.0.2.53' }, l4: { kind: 'udp', srcPort: 33000, dstPort: 9001 }, payload: 30 }));
  await write('vxlan-mixed.pcapng', recs, 'pcapng');
}

/**
 * A TCP/IPv4 frame (no IP options) as a capture on its sender shows it with checksum offload on:
 * the TCP checksum field holds the folded pseudo-header sum (CHECKSUM_PARTIAL, __tcp_v4_send_check).
 */
function sentWithOffload(f: Uint8Array): Uint8Array {
  const ip = 14;
  const t = ip + 20;
  const l4Len = ((f[ip + 2]! << 8) | f[ip + 3]!) - 20;
  const ps = fold(pseudoV4(f, ip + 12, ip + 16, 6, l4Len));
  f[t + 16] = ps >>> 8;
  f[t + 17] = ps & 0xff;
  return f;
}

async function tsoHost(): Promise<void> {
  // A host capture taken with TSO and checksum offload on: the handshake (MSS 1460 / 1400), then
  // super-packets of 20 000 and 7 240 bytes of payload with timestamps, as tcpdump on the sender
  // shows them: what the host sends carries the partial checksum, what it receives a complete one.
  const a = { src: '203.0.113.1', dst: '203.0.113.2' };
  const b = { src: '203.0.113.2', dst: '203.0.113.1' };
  const m = { ethSrc: '02:00:00:00:20:01', ethDst: '02:00:00:00:20:02' };
  const r = { ethSrc: '02:00:00:00:20:02', ethDst: '02:00:00:00:20:01' };
  const recs: Rec[] = [];
  const add = (frame: Uint8Array, us: number) => recs.push({ frame, sec: T0, nsec: us * 1000 });
  add(sentWithOffload(craftFrame({ ...m, ip: { ...a, id: 1 }, l4: { kind: 'tcp', srcPort: 43210, dstPort: 5001, seq: 100, flags: 0x02, mss: 1460, tsval: 1 } })), 0);
  add(craftFrame({ ...r, ip: { ...b, id: 0 }, l4: { kind: 'tcp', srcPort: 5001, dstPort: 43210, seq: 9000, ack: 101, flags: 0x12, mss: 1400, tsval: 2 } }), 80);
  add(sentWithOffload(craftFrame({ ...m, ip: { ...a, id: 2 }, l4: { kind: 'tcp', srcPort: 43210, dstPort: 5001, seq: 101, ack: 9001, flags: 0x10, tsval: 3 } })), 120);
  add(sentWithOffload(craftFrame({ ...m, ip: { ...a, id: 3 }, l4: { kind: 'tcp', srcPort: 43210, dstPort: 5001, seq: 101, ack: 9001, flags: 0x10, tsval: 4 }, payload: 20000 })), 200);
  add(sentWithOffload(craftFrame({ ...m, ip: { ...a, id: 17 }, l4: { kind: 'tcp', srcPort: 43210, dstPort: 5001, seq: 20101, ack: 9001, flags: 0x19, tsval: 5 }, payload: 7240 })), 400);
  add(craftFrame({ ...r, ip: { ...b, id: 1 }, l4: { kind: 'tcp', srcPort: 5001, dstPort: 43210, seq: 9001, ack: 27342, flags: 0x11, tsval: 6 } }), 600);
  await write('tso-host.pcap', recs, 'pcap', false);
}

await vxlanMixed();
await tsoHost();
console.log('samples written');
