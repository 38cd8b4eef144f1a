/**
 * Shared helpers for the VXLAN / tunnel-key stage tests: a stage runner that records what is
 * emitted and dropped, a test StageEnv, and small frame builders on top of test/kernel/frames.ts.
 */
import { Packet, CSUM } from '../../pipeline/packet.js';
import type { Stage, StageContext, StageDefinition, StageEnv } from '../../stages/stage.js';
import { loadProfile } from '../../pipeline/nic/profile.js';
import { createSuperPacketMarker } from '../../pipeline/gso/classify.js';
import { TunnelInfo, TUNNEL } from '../../pipeline/metadata.js';
import { finish, sum16, udpFinal, fold, pseudoV4, pseudoV6 } from '../../pipeline/wire/checksum.js';
import { ETH_P_IP, ETH_P_IPV6, eth, icmpEcho, icmp6Echo, ipv4, ipv6, mac, tcp, udp, TCP_ACK } from '../kernel/frames.js';

export function testEnv(mtu = 1500): StageEnv {
  return { nic: loadProfile('none'), view: 'driver', egress: createSuperPacketMarker({ mss: 'auto', mtu }), vxlanPorts: [4789, 8472] };
}

export function make<O>(def: StageDefinition<O>, options: unknown, env: StageEnv = testEnv()): Stage {
  return def.create(def.options.parse(options), env);
}

export interface RunResult {
  out: Packet[];
  drops: string[];
  warnings: string[];
}

export function run(stage: Stage, pkts: Packet | Packet[]): RunResult {
  const r: RunResult = { out: [], drops: [], warnings: [] };
  const ctx: StageContext = {
    emit: (p) => void r.out.push(p),
    drop: (_p, reason) => void r.drops.push(reason),
    warnOnce: (_k, m) => void r.warnings.push(m),
  };
  for (const p of Array.isArray(pkts) ? pkts : [pkts]) stage.process(p, ctx);
  return r;
}

/** Run a chain of stages (each emit feeds the next). */
export function chain(stages: Stage[], pkts: Packet | Packet[]): RunResult {
  let cur = Array.isArray(pkts) ? pkts : [pkts];
  const drops: string[] = [];
  const warnings: string[] = [];
  for (const s of stages) {
    const r = run(s, cur);
    drops.push(...r.drops);
    warnings.push(...r.warnings);
    cur = r.out;
  }
  return { out: cur, drops, warnings };
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const pkt = (b: Uint8Array, origLen?: number): Packet => Packet.fromBytes(b, origLen);

export const MAC_IN_SRC = '02:00:00:00:00:11';
export const MAC_IN_DST = '02:00:00:00:00:99';

/** Inner frames of each kind (valid checksums). */
export function innerUdp4(o: { tos?: number; sport?: number; dport?: number; len?: number; src?: string; dst?: string } = {}): Buffer {
  const s = o.src ?? '10.0.0.1';
  const d = o.dst ?? '10.0.0.2';
  const pay = Buffer.from(Array.from({ length: o.len ?? 40 }, (_, i) => (i * 3 + 1) & 0xff));
  return eth(MAC_IN_DST, MAC_IN_SRC, ETH_P_IP, ipv4({ src: s, dst: d, proto: 17, tos: o.tos ?? 0, id: 7 }, udp({ src: s, dst: d, sport: o.sport ?? 1111, dport: o.dport ?? 2222 }, pay)));
}

export function innerTcp4(o: { tos?: number; len?: number; src?: string; dst?: string; sport?: number; dport?: number } = {}): Buffer {
  const s = o.src ?? '10.0.0.1';
  const d = o.dst ?? '10.0.0.2';
  const pay = Buffer.from(Array.from({ length: o.len ?? 20 }, (_, i) => (i * 5 + 2) & 0xff));
  return eth(MAC_IN_DST, MAC_IN_SRC, ETH_P_IP, ipv4({ src: s, dst: d, proto: 6, tos: o.tos ?? 0, id: 9 }, tcp({ src: s, dst: d, sport: o.sport ?? 33000, dport: o.dport ?? 80, seq: 1000, ack: 5, flags: TCP_ACK, window: 512 }, pay)));
}

export function innerIcmp4(o: { tos?: number } = {}): Buffer {
  return eth(MAC_IN_DST, MAC_IN_SRC, ETH_P_IP, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 1, tos: o.tos ?? 0, id: 3 }, icmpEcho(1, 2, Buffer.alloc(16, 0x61))));
}

export function innerUdp6(o: { tc?: number; len?: number } = {}): Buffer {
  const s = 'fd00::1';
  const d = 'fd00::2';
  const pay = Buffer.alloc(o.len ?? 30, 0x42);
  return eth(MAC_IN_DST, MAC_IN_SRC, ETH_P_IPV6, ipv6({ src: s, dst: d, next: 17, tclass: o.tc ?? 0, hopLimit: 64 }, udp({ src: s, dst: d, sport: 5000, dport: 6000 }, pay)));
}

export function innerIcmp6(): Buffer {
  return eth(MAC_IN_DST, MAC_IN_SRC, ETH_P_IPV6, ipv6({ src: 'fd00::1', dst: 'fd00::2', next: 58, hopLimit: 64 }, icmp6Echo('fd00::1', 'fd00::2', 7, 1, Buffer.alloc(8, 1))));
}

/** Insert a VLAN tag (TPID tpid, VID vid) after the MAC addresses. */
export function withVlan(frame: Buffer, vid: number, tpid = 0x8100): Buffer {
  const tag = Buffer.alloc(4);
  tag.writeUInt16BE(tpid, 0);
  tag.writeUInt16BE(vid, 2);
  return Buffer.concat([frame.subarray(0, 12), tag, frame.subarray(12)]);
}

export function arpFrame(): Buffer {
  const body = Buffer.alloc(28);
  body.writeUInt16BE(1, 0);
  body.writeUInt16BE(0x0800, 2);
  body[4] = 6;
  body[5] = 4;
  body.writeUInt16BE(1, 6);
  mac(MAC_IN_SRC).copy(body, 8);
  return eth('ff:ff:ff:ff:ff:ff', MAC_IN_SRC, 0x0806, body);
}

/** TX metadata for tests. */
export function txInfo(o: { vni?: number; src?: string; dst?: string; tos?: number; ttl?: number; csum?: boolean; df?: boolean; label?: number; tpSrc?: number; tpDst?: number } = {}): TunnelInfo {
  const t = new TunnelInfo();
  t.vni = o.vni ?? 42;
  if (o.src) t.setAddress('src', o.src);
  t.setAddress('dst', o.dst ?? '192.0.2.2');
  t.tos = o.tos ?? 0;
  t.ttl = o.ttl ?? 0;
  t.label = o.label ?? 0;
  t.tpSrc = o.tpSrc ?? 0;
  t.tpDst = o.tpDst ?? 0;
  t.flags = TUNNEL.KEY | (o.csum ? TUNNEL.CSUM : 0) | (o.df ? TUNNEL.DONT_FRAGMENT : 0);
  t.tx = true;
  return t;
}

/**
 * Complete the packet's partial checksum in software (what the gso stage / a NIC does), then
 * return the frame bytes.
 */
export function completeChecksum(p: Packet): Uint8Array {
  if (p.csumMode === CSUM.PARTIAL) {
    const f = p.csumStart + p.csumOffset;
    const seed = (p.buf[f]! << 8) | p.buf[f + 1]!;
    p.buf[f] = 0;
    p.buf[f + 1] = 0;
    let c = finish(sum16(p.buf, p.csumStart, p.tail, seed));
    // UDP: 0 is sent as 0xffff.
    if (p.csumOffset === 6) c = udpFinal(c);
    p.buf[f] = c >> 8;
    p.buf[f + 1] = c & 0xff;
    p.csumMode = CSUM.NONE;
  }
  return p.data;
}

/** True when the UDP checksum of the frame's outer UDP header (at `u`, IP header at `net`) verifies. */
export function udpChecksumOk(b: Uint8Array, net: number, u: number, v6: boolean): boolean {
  const len = (b[u + 4]! << 8) | b[u + 5]!;
  const ps = v6 ? pseudoV6(b, net + 8, net + 24, 17, len) : pseudoV4(b, net + 12, net + 16, 17, len);
  return fold(sum16(b, u, u + len, ps)) === 0xffff;
}
