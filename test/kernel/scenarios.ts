/**
 * Kernel reference scenarios. Each function builds its namespaces, drives traffic, captures,
 * tears everything down (try/finally) and returns the pcaps it wrote into `dir` plus the exact
 * parameters it used, so a capflow test can replay the same input through its stages and compare.
 *
 * Fixed documentation addresses and locally administered MACs make the inputs deterministic;
 * what the kernel randomises (outer UDP source port, outer IPv4 ID) is reported, not fixed.
 */
import { dirname, join } from 'node:path';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  LINKTYPE_RAW,
  eth,
  icmp6Echo,
  icmpEcho,
  ipv4,
  ipv6,
  l4CsumState,
  parseL3,
  parseVxlanFrame,
  readPcap,
  tcp,
  udp,
  vxlanFrame,
  writePcap,
  TCP_ACK,
  TCP_CWR,
  TCP_FIN,
  TCP_PSH,
  TCP_SYN,
  type CsumState,
} from './frames.js';
import { Netns, capture, ethtoolK, quietNetns, vethPair } from './netns.js';

/** Addresses and MACs shared by all scenarios (documentation ranges only). */
export const REF = {
  underlayA4: '192.0.2.1',
  underlayB4: '192.0.2.2',
  underlayA6: '2001:db8::1',
  underlayB6: '2001:db8::2',
  macA: '02:00:00:00:0a:01',
  macB: '02:00:00:00:0b:01',
  /** MAC of the VXLAN device in the encap namespace (source MAC of encapsulated inner frames). */
  vxMacEncap: '02:00:00:00:0a:42',
  /** MAC of the VXLAN device in the decap namespace. */
  vxMacDecap: '02:00:00:00:0b:42',
  /** Static neighbour MAC of every inner destination behind vx0 (inner destination MAC). */
  innerNeighMac: '02:00:00:00:00:42',
  innerSrc4: '203.0.113.1',
  innerSrc6: '2001:db8:200::1',
  /** Inner destinations: 198.51.100.0/24 and 2001:db8:100::/64. */
  innerDst4: (n: number) => `198.51.100.${n}`,
  innerDst6: (n: number) => `2001:db8:100::${n.toString(16)}`,
  dstPort: 4789,
} as const;

// =============================================================================================
// 1. VXLAN encap through an `encap ip` lwtunnel route on a collect-metadata device

export interface EncapCase {
  name: string;
  underlay: 'ipv4' | 'ipv6';
  vni: number;
  /** `ttl N` on the route (0 is written as `ttl 0`); undefined → no ttl keyword. */
  ttl?: number;
  /** `tos T` on the route. */
  tos?: number;
  /** `csum` flag on the route (TUNNEL_CSUM). */
  csum?: boolean;
  /** `key` flag on the route (TUNNEL_KEY). */
  key?: boolean;
  /** Inner raw IP packets (IPv4 or IPv6) sent from the encap namespace; a route is added for each destination. */
  inner: Buffer[];
}

export interface OuterObservation {
  /** Outer IPv4 ID (undefined for IPv6). */
  ipId?: number;
  df?: boolean;
  ttl: number;
  tos: number;
  flowLabel?: number;
  sport: number;
  dport: number;
  vni: number;
  vxlanWord0: number;
  udpCsum: CsumState;
  udpCsumField: number;
  outerIpCsumOk?: boolean;
  /** Inner frame of the outer packet equals the frame captured on vx0 at the same index. */
  innerMatchesVx0: boolean;
}

export interface EncapResult {
  name: string;
  /** The `ip route add` argument vectors used (inside the encap namespace). */
  routes: string[][];
  params: {
    vni: number;
    underlay: 'ipv4' | 'ipv6';
    src: string;
    dst: string;
    dstPort: number;
    ttl?: number;
    tos?: number;
    csum: boolean;
    key: boolean;
  };
  /** Raw-IP pcap (LINKTYPE_RAW) of what was handed to the raw socket. */
  sentPcap: string;
  /** (a) Ethernet frames captured on vx0 (inner frames as the kernel hands them to the VXLAN device). */
  innerPcap: string;
  /** (b) Encapsulated frames captured on the underlay veth (TX tap in the encap namespace). */
  outerPcap: string;
  innerSrcMac: string;
  innerDstMac: string;
  /** Whether tx-checksumming was left on on the underlay veth (then partial checksums may appear). */
  underlayTxCsum: boolean;
  observed: OuterObservation[];
}

export interface EncapOptions {
  /** Leave tx-checksumming on the underlay veth (default false: checksums completed in software before the tap). */
  underlayTxCsum?: boolean;
}

/** A representative set of encap cases. */
export function defaultEncapCases(): EncapCase[] {
  const s4 = REF.innerSrc4;
  const s6 = REF.innerSrc6;
  const pay = (n: number, tag: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i + tag) & 0xff));
  const udp4 = (dstN: number, tos: number, id: number) =>
    ipv4({ src: s4, dst: REF.innerDst4(dstN), proto: 17, tos, id, ttl: 64 }, udp({ src: s4, dst: REF.innerDst4(dstN), sport: 40000 + id, dport: 5000 }, pay(64, id)));
  const icmp4 = (dstN: number, id: number) =>
    ipv4({ src: s4, dst: REF.innerDst4(dstN), proto: 1, id, ttl: 64 }, icmpEcho(0x4242, id, pay(56, id)));
  const syn4 = (dstN: number, id: number) =>
    ipv4(
      { src: s4, dst: REF.innerDst4(dstN), proto: 6, id, ttl: 64 },
      tcp({ src: s4, dst: REF.innerDst4(dstN), sport: 41000, dport: 80, seq: 0x11223344, flags: TCP_SYN, window: 64240 }, Buffer.alloc(0)),
    );
  const udp6 = (dstN: number, tc: number, tag: number) =>
    ipv6({ src: s6, dst: REF.innerDst6(dstN), next: 17, tclass: tc, hopLimit: 64 }, udp({ src: s6, dst: REF.innerDst6(dstN), sport: 42000 + tag, dport: 5000 }, pay(48, tag)));
  const ping6 = (dstN: number, tag: number) =>
    ipv6({ src: s6, dst: REF.innerDst6(dstN), next: 58, hopLimit: 64 }, icmp6Echo(s6, REF.innerDst6(dstN), 0x4343, tag, pay(32, tag)));
  return [
    {
      name: 'v4-basic',
      underlay: 'ipv4',
      vni: 42,
      inner: [udp4(10, 0, 1), icmp4(10, 2), syn4(10, 3), udp4(11, 0, 4), udp6(1, 0, 5), ping6(1, 6)],
    },
    { name: 'v4-ttl-tos', underlay: 'ipv4', vni: 42, ttl: 7, tos: 0x28, inner: [udp4(12, 0, 11), udp4(12, 0x02, 12), udp4(12, 0x03, 13), udp4(12, 0x01, 14)] },
    { name: 'v4-tos-ecn-bits', underlay: 'ipv4', vni: 42, tos: 0x2b, inner: [udp4(13, 0, 21), udp4(13, 0x02, 22)] },
    { name: 'v4-ttl0', underlay: 'ipv4', vni: 42, ttl: 0, inner: [udp4(14, 0, 31), icmp4(14, 32)] },
    { name: 'v4-csum', underlay: 'ipv4', vni: 0xabcdef, csum: true, inner: [udp4(15, 0, 41), syn4(15, 42), icmp4(15, 43)] },
    { name: 'v4-key', underlay: 'ipv4', vni: 7, key: true, inner: [udp4(16, 0, 51)] },
    { name: 'v6-basic', underlay: 'ipv6', vni: 42, ttl: 9, tos: 0x28, inner: [udp4(17, 0x02, 61), icmp4(17, 62), udp6(2, 0x03, 63)] },
    { name: 'v6-csum', underlay: 'ipv6', vni: 4242, csum: true, inner: [udp4(18, 0, 71), syn4(18, 72)] },
  ];
}

function innerDestinations(pkts: Buffer[]): { v4: string[]; v6: string[] } {
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  for (const p of pkts) {
    const l3 = parseL3(p, 0, p[0]! >> 4 === 4 ? ETH_P_IP : ETH_P_IPV6);
    if (!l3) throw new Error('inner packet is not IPv4/IPv6');
    (l3.family === 4 ? v4 : v6).add(l3.dst);
  }
  return { v4: [...v4], v6: [...v6] };
}

/**
 * Namespace A: vx0 (`vxlan external dstport 4789 nolearning`, arp off, static neighbours) and
 * underlay vethA (192.0.2.1/24, 2001:db8::1/64) to namespace B (vethB 192.0.2.2, 2001:db8::2).
 * For each case: add `encap ip`/`encap ip6` routes to vx0, send the inner packets with a raw
 * socket, capture vx0 and vethA, remove the routes.
 */
export async function vxlanEncapReference(dir: string, cases: EncapCase[] = defaultEncapCases(), opts: EncapOptions = {}): Promise<EncapResult[]> {
  mkdirSync(dir, { recursive: true });
  const A = Netns.create('enca');
  const B = Netns.create('encb');
  const results: EncapResult[] = [];
  try {
    quietNetns(A, { ipv6: true });
    quietNetns(B, { ipv6: true });
    vethPair(A, 'vethA', B, 'vethB', { macA: REF.macA, macB: REF.macB });
    A.ip('addr', 'add', `${REF.underlayA4}/24`, 'dev', 'vethA');
    A.ip('-6', 'addr', 'add', `${REF.underlayA6}/64`, 'dev', 'vethA', 'nodad');
    B.ip('addr', 'add', `${REF.underlayB4}/24`, 'dev', 'vethB');
    B.ip('-6', 'addr', 'add', `${REF.underlayB6}/64`, 'dev', 'vethB', 'nodad');
    A.ip('neigh', 'replace', REF.underlayB4, 'lladdr', REF.macB, 'dev', 'vethA', 'nud', 'permanent');
    A.ip('-6', 'neigh', 'replace', REF.underlayB6, 'lladdr', REF.macB, 'dev', 'vethA', 'nud', 'permanent');
    if (!opts.underlayTxCsum) ethtoolK(A, 'vethA', { tx: false });
    A.ip('link', 'add', 'vx0', 'address', REF.vxMacEncap, 'type', 'vxlan', 'external', 'dstport', String(REF.dstPort), 'nolearning');
    A.ip('link', 'set', 'vx0', 'arp', 'off', 'up');

    for (const c of cases) {
      const dsts = innerDestinations(c.inner);
      const tunDst = c.underlay === 'ipv4' ? REF.underlayB4 : REF.underlayB6;
      const tunSrc = c.underlay === 'ipv4' ? REF.underlayA4 : REF.underlayA6;
      const encap = ['encap', c.underlay === 'ipv4' ? 'ip' : 'ip6', 'id', String(c.vni), 'dst', tunDst];
      if (c.ttl !== undefined) encap.push(c.underlay === 'ipv4' ? 'ttl' : 'hoplimit', String(c.ttl));
      if (c.tos !== undefined) encap.push(c.underlay === 'ipv4' ? 'tos' : 'tc', `0x${c.tos.toString(16)}`);
      if (c.key) encap.push('key');
      if (c.csum) encap.push('csum');
      const routes: string[][] = [];
      for (const d of dsts.v4) routes.push(['route', 'add', `${d}/32`, ...encap, 'dev', 'vx0']);
      for (const d of dsts.v6) routes.push(['-6', 'route', 'add', `${d}/128`, ...encap, 'dev', 'vx0']);
      for (const d of dsts.v4) A.ip('neigh', 'replace', d, 'lladdr', REF.innerNeighMac, 'dev', 'vx0', 'nud', 'permanent');
      for (const d of dsts.v6) A.ip('-6', 'neigh', 'replace', d, 'lladdr', REF.innerNeighMac, 'dev', 'vx0', 'nud', 'permanent');
      for (const r of routes) A.ip(...r);

      const sentPcap = join(dir, `encap-${c.name}.sent.pcap`);
      const innerPcap = join(dir, `encap-${c.name}.vx0.pcap`);
      const outerPcap = join(dir, `encap-${c.name}.underlay.pcap`);
      writePcap(sentPcap, c.inner, LINKTYPE_RAW);
      const innerFilter = [...dsts.v4.map((d) => `ip dst host ${d}`), ...dsts.v6.map((d) => `ip6 dst host ${d}`)].join(' or ');
      const capIn = await capture(A, 'vx0', innerPcap, innerFilter);
      const capOut = await capture(A, 'vethA', outerPcap, `udp dst port ${REF.dstPort}`);
      try {
        const rep = A.inject(['send-ip', sentPcap, '--gap-ms', '5']);
        const errs = rep.sent.filter((s) => s.error);
        if (errs.length) throw new Error(`send-ip failed for case ${c.name}: ${JSON.stringify(errs)}`);
      } finally {
        await capIn.stop(250);
        await capOut.stop(0);
      }
      for (const r of routes) A.ip(...r.map((x) => (x === 'add' ? 'del' : x)));

      const innerRecs = readPcap(innerPcap).records;
      const observed = readPcap(outerPcap).records.map((r, i): OuterObservation => {
        const o = parseVxlanFrame(r.data);
        if (!o) throw new Error(`case ${c.name}: underlay frame ${i} is not VXLAN`);
        return {
          ipId: o.l3.id,
          df: o.l3.df,
          ttl: o.l3.ttl,
          tos: o.l3.tos,
          flowLabel: o.l3.flowLabel,
          sport: o.sport,
          dport: o.dport,
          vni: o.vni,
          vxlanWord0: o.vxlanWord0,
          udpCsum: o.udpCsum,
          udpCsumField: o.udpCsumField,
          outerIpCsumOk: o.l3.hdrCsumOk,
          innerMatchesVx0: innerRecs[i] !== undefined && innerRecs[i]!.data.equals(o.inner),
        };
      });
      results.push({
        name: c.name,
        routes,
        params: {
          vni: c.vni,
          underlay: c.underlay,
          src: tunSrc,
          dst: tunDst,
          dstPort: REF.dstPort,
          ttl: c.ttl,
          tos: c.tos,
          csum: !!c.csum,
          key: !!c.key,
        },
        sentPcap,
        innerPcap,
        outerPcap,
        innerSrcMac: REF.vxMacEncap,
        innerDstMac: REF.innerNeighMac,
        underlayTxCsum: !!opts.underlayTxCsum,
        observed,
      });
    }
    return results;
  } finally {
    A.destroy();
    B.destroy();
  }
}

// =============================================================================================
// 2. VXLAN decap on a collect-metadata device

export interface DecapCase {
  name: string;
  /** Complete outer Ethernet frame, addressed to REF.macB / REF.underlayB4|6. */
  frame: Buffer;
  /** What a reading of vxlan_rcv predicts (informational; the reference records what really happens). */
  expect?: 'deliver' | 'drop';
}

export interface DecapOptions {
  /** Create vx0 with `udp6zerocsumrx`. */
  udp6zerocsumrx?: boolean;
  /** Leave GRO at the driver default on the underlay receive side (default: off). */
  gro?: boolean;
  /**
   * Stand in for VLAN subinterfaces with these VIDs on vethB (the kernel has no 802.1Q devices
   * here): a tc BPF program on vethB ingress pops exactly the tags such devices would take
   * (tc_bpf.py vlan-pop); other tags stay and the kernel drops the frame as PACKET_OTHERHOST.
   */
  vlans?: number[];
  /** Record each delivered packet's tunnel metadata with bpf_skb_get_tunnel_key on vx0 ingress. */
  tunnelKey?: boolean;
}

/** The tunnel metadata the kernel attached, as bpf_skb_get_tunnel_key(BPF_F_TUNINFO_FLAGS) reports it. */
export interface KernelTunnelKey {
  rc: number;
  vni: number;
  /** Outer source / destination address. */
  remote: string;
  local: string;
  tos: number;
  ttl: number;
  /** TUNNEL_* bits (be16 values: CSUM 0x1, KEY 0x4, DONT_FRAGMENT 0x100). */
  flags: number;
  label: number;
  ipv6: boolean;
}

/** Path of the tc/BPF program loader shipped next to this file. */
export const TC_BPF_PY = join(dirname(fileURLToPath(import.meta.url)), 'tc_bpf.py');

/**
 * Load and attach the BPF stand-ins inside B. bpffs is mounted for the pin only: `ip netns exec`
 * runs the shell in a mount namespace of its own, so the mount goes away with it while the
 * attached filters stay. Returns the id of the tunnel-key map.
 */
function attachBpf(B: Netns, dir: string, opts: DecapOptions): number | undefined {
  const fs = mkdtempSync(join(dir, 'bpffs-'));
  const cmds = [`mount -t bpf bpf ${fs}`];
  if (opts.vlans) {
    cmds.push(`python3 ${TC_BPF_PY} vlan-pop ${fs}/vlan ${opts.vlans.join(' ')}`, 'tc qdisc add dev vethB clsact', `tc filter add dev vethB ingress bpf da pinned ${fs}/vlan`);
  }
  if (opts.tunnelKey) {
    cmds.push(`python3 ${TC_BPF_PY} tunnel-key ${fs}/key`, 'tc qdisc add dev vx0 clsact', `tc filter add dev vx0 ingress bpf da pinned ${fs}/key`);
  }
  const out = B.exec(cmds.join(' && '));
  rmSync(fs, { recursive: true, force: true });
  const m = /"map_id": (\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

export interface DecapCaseResult {
  name: string;
  index: number;
  delivered: boolean;
  /** Index of the delivered frame in deliveredPcap, if delivered. */
  deliveredIndex?: number;
  expect?: 'deliver' | 'drop';
  /** Non-zero deltas of vx0 rx counters, vethB rx counters and UDP MIBs while this frame was processed. */
  counters: Record<string, number>;
  /** With `tunnelKey`: the metadata the kernel attached to the delivered packet. */
  tunnelKey?: KernelTunnelKey;
}

export interface DecapResult {
  /** Input outer frames (Ethernet pcap), in case order. */
  inputPcap: string;
  /** Inner frames delivered by vx0 (RX tap on vx0), in case order of the delivered cases. */
  deliveredPcap: string;
  vxMac: string;
  options: DecapOptions;
  cases: DecapCaseResult[];
}

/** Inner Ethernet frame used by the default decap cases. */
export function decapInner(o: { family?: 4 | 6; ecn?: number; srcMac?: string; tag: number }): Buffer {
  const pay = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 7 + o.tag) & 0xff));
  const srcMac = o.srcMac ?? '02:00:00:00:00:11';
  const dstMac = '02:00:00:00:00:99';
  if ((o.family ?? 4) === 4) {
    const s = REF.innerDst4(1);
    const d = REF.innerSrc4;
    return eth(dstMac, srcMac, ETH_P_IP, ipv4({ src: s, dst: d, proto: 17, tos: 0x20 | (o.ecn ?? 0), id: 0x100 + o.tag, ttl: 61 }, udp({ src: s, dst: d, sport: 5000, dport: 6000 + o.tag }, pay)));
  }
  const s = REF.innerDst6(1);
  const d = REF.innerSrc6;
  return eth(dstMac, srcMac, ETH_P_IPV6, ipv6({ src: s, dst: d, next: 17, tclass: 0x20 | (o.ecn ?? 0), hopLimit: 61 }, udp({ src: s, dst: d, sport: 5000, dport: 6000 + o.tag }, pay)));
}

/** The decap cases listed in the harness brief, with the outcome a reading of vxlan_rcv predicts. */
export function defaultDecapCases(): DecapCase[] {
  const v4 = (o: Partial<Parameters<typeof vxlanFrame>[0]>, inner: Buffer) =>
    vxlanFrame({ underlay: 'ipv4', srcMac: REF.macA, dstMac: REF.macB, src: REF.underlayA4, dst: REF.underlayB4, vni: 1, sport: 50000, ttl: 64, id: 0x4d00, ...o }, inner);
  const v6 = (o: Partial<Parameters<typeof vxlanFrame>[0]>, inner: Buffer) =>
    vxlanFrame({ underlay: 'ipv6', srcMac: REF.macA, dstMac: REF.macB, src: REF.underlayA6, dst: REF.underlayB6, vni: 1, sport: 50001, ttl: 64, ...o }, inner);
  let t = 0;
  const inner = (o: { family?: 4 | 6; ecn?: number; srcMac?: string } = {}) => decapInner({ ...o, tag: ++t });
  return [
    { name: 'vni-1', frame: v4({ vni: 1 }, inner()), expect: 'deliver' },
    { name: 'vni-0', frame: v4({ vni: 0 }, inner()), expect: 'deliver' },
    { name: 'vni-123456', frame: v4({ vni: 0x123456 }, inner()), expect: 'deliver' },
    { name: 'vni-max', frame: v4({ vni: 0xffffff }, inner()), expect: 'deliver' },
    { name: 'i-flag-clear', frame: v4({ word0: 0x00000000 }, inner()), expect: 'drop' },
    { name: 'reserved-word0-bit', frame: v4({ word0: 0x08000001 }, inner()), expect: 'drop' },
    { name: 'reserved-flag-bit', frame: v4({ word0: 0x88000000 }, inner()), expect: 'drop' },
    { name: 'reserved-word1-low', frame: v4({ reservedLow: 0x01 }, inner()), expect: 'drop' },
    { name: 'ce-over-notect', frame: v4({ tos: 0x03 }, inner({ ecn: 0 })), expect: 'drop' },
    { name: 'ce-over-ect0', frame: v4({ tos: 0x03 }, inner({ ecn: 2 })), expect: 'deliver' },
    { name: 'ce-over-ect1', frame: v4({ tos: 0x03 }, inner({ ecn: 1 })), expect: 'deliver' },
    { name: 'ect1-over-ect0', frame: v4({ tos: 0x01 }, inner({ ecn: 2 })), expect: 'deliver' },
    { name: 'ect0-over-notect', frame: v4({ tos: 0x02 }, inner({ ecn: 0 })), expect: 'deliver' },
    { name: 'ce-over-ect0-v6inner', frame: v4({ tos: 0x03 }, inner({ family: 6, ecn: 2 })), expect: 'deliver' },
    { name: 'udp-csum-valid', frame: v4({ udpCsum: 'valid' }, inner()), expect: 'deliver' },
    { name: 'udp-csum-bad', frame: v4({ udpCsum: 'bad' }, inner()), expect: 'drop' },
    { name: 'v6-udp-csum-valid', frame: v6({ udpCsum: 'valid' }, inner()), expect: 'deliver' },
    { name: 'v6-udp-csum-zero', frame: v6({ udpCsum: 'zero' }, inner()), expect: 'drop' },
    { name: 'v6-ce-over-ect0', frame: v6({ udpCsum: 'valid', tos: 0x03 }, inner({ ecn: 2 })), expect: 'deliver' },
    { name: 'inner-src-is-vx0-mac', frame: v4({}, inner({ srcMac: REF.vxMacDecap })), expect: 'drop' },
    { name: 'inner-eth-truncated', frame: v4({}, inner().subarray(0, 10)), expect: 'drop' },
    { name: 'inner-ipv4-truncated', frame: v4({}, inner().subarray(0, 14 + 12)), expect: 'drop' },
  ];
}

function diffCounters(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const delta = v - (before[k] ?? 0);
    if (delta !== 0) d[k] = delta;
  }
  return d;
}

/**
 * Namespace B: vx0 (`vxlan external dstport 4789 nolearning`, MAC REF.vxMacDecap) + vethB
 * (192.0.2.2/24, 2001:db8::2/64). Namespace A injects each outer frame with `send-frames` out of
 * vethA, one at a time, recording counter deltas; vx0's RX tap gives the delivered inner frames.
 */
export async function vxlanDecapReference(dir: string, cases: DecapCase[] = defaultDecapCases(), opts: DecapOptions = {}, tag = 'default'): Promise<DecapResult> {
  mkdirSync(dir, { recursive: true });
  const A = Netns.create('deca');
  const B = Netns.create('decb');
  try {
    quietNetns(A, { ipv6: false });
    quietNetns(B, { ipv6: true });
    vethPair(A, 'vethA', B, 'vethB', { macA: REF.macA, macB: REF.macB });
    if (!opts.gro) B.tryExec(['ethtool', '-K', 'vethB', 'gro', 'off']);
    B.ip('addr', 'add', `${REF.underlayB4}/24`, 'dev', 'vethB');
    B.ip('-6', 'addr', 'add', `${REF.underlayB6}/64`, 'dev', 'vethB', 'nodad');
    for (const k of ['all', 'default', 'vethB']) B.sysctl(`net.ipv4.conf.${k}.rp_filter`, 0);
    const vx = ['link', 'add', 'vx0', 'address', REF.vxMacDecap, 'type', 'vxlan', 'external', 'dstport', String(REF.dstPort), 'nolearning'];
    if (opts.udp6zerocsumrx) vx.push('udp6zerocsumrx');
    B.ip(...vx);
    B.ip('link', 'set', 'vx0', 'arp', 'off', 'up');
    const keyMap = opts.vlans || opts.tunnelKey ? attachBpf(B, dir, opts) : undefined;

    const inputPcap = join(dir, `decap-${tag}.input.pcap`);
    const deliveredPcap = join(dir, `decap-${tag}.delivered.pcap`);
    writePcap(inputPcap, cases.map((c) => c.frame));
    const cap = await capture(B, 'vx0', deliveredPcap, 'not ip6 or ip6 dst net 2001:db8::/32');
    const results: DecapCaseResult[] = [];
    try {
      // One process per snapshot (counters of vx0 and vethB, UDP/IP MIBs, and the recorded tunnel
      // key, taken and re-armed): spawning is what makes these runs slow on a busy machine.
      const SEP = '@@capflow@@';
      const script = [
        'ip -s -s -j link show dev vx0',
        'ip -s -s -j link show dev vethB',
        'cat /proc/net/snmp',
        'cat /proc/net/snmp6 2>/dev/null || true',
        ...(keyMap !== undefined ? [`python3 ${TC_BPF_PY} tunnel-key-take ${keyMap}`] : []),
      ].join(`; echo ${SEP}; `);
      const snap = () => {
        const parts = B.exec(script).split(`${SEP}\n`);
        const out: Record<string, number> = {};
        for (const [i, dev] of ['vx0', 'vethB'].entries()) {
          const rx = (JSON.parse(parts[i]!) as Array<{ stats64: { rx: Record<string, number> } }>)[0]!.stats64.rx;
          for (const [k, v] of Object.entries(rx)) if (typeof v === 'number') out[`${dev}.rx.${k}`] = v;
        }
        const m: Record<string, number> = {};
        const s4 = parts[2]!.trim().split('\n');
        for (let i = 0; i + 1 < s4.length; i += 2) {
          const h = s4[i]!.split(/\s+/);
          const v = s4[i + 1]!.split(/\s+/);
          const proto = h[0]!.replace(':', '');
          for (let k = 1; k < h.length; k++) m[`${proto}.${h[k]}`] = Number(v[k]);
        }
        for (const line of parts[3]!.trim().split('\n')) {
          const [k, v] = line.trim().split(/\s+/);
          if (k && v !== undefined) m[k] = Number(v);
        }
        for (const k of ['Udp.InDatagrams', 'Udp.InErrors', 'Udp.InCsumErrors', 'Udp.NoPorts', 'Udp6InDatagrams', 'Udp6InErrors', 'Udp6InCsumErrors', 'Udp6NoPorts', 'Ip.InDiscards', 'Ip6InDiscards']) {
          if (m[k] !== undefined) out[k] = m[k]!;
        }
        let key: KernelTunnelKey | undefined;
        if (keyMap !== undefined) {
          const k = JSON.parse(parts[4]!.trim()) as { ran: boolean } & KernelTunnelKey;
          if (k.ran) key = k;
        }
        return { counters: out, key };
      };
      let deliveredSoFar = 0;
      let before = snap();
      for (let i = 0; i < cases.length; i++) {
        A.inject(['send-frames', 'vethA', inputPcap, '--only', String(i)]);
        await new Promise((r) => setTimeout(r, 20));
        const after = snap();
        const counters = diffCounters(before.counters, after.counters);
        before = after;
        const delivered = (counters['vx0.rx.packets'] ?? 0) > 0;
        results.push({
          name: cases[i]!.name,
          index: i,
          delivered,
          deliveredIndex: delivered ? deliveredSoFar++ : undefined,
          expect: cases[i]!.expect,
          counters,
          tunnelKey: after.key,
        });
      }
    } finally {
      await cap.stop(250);
    }
    return { inputPcap, deliveredPcap, vxMac: REF.vxMacDecap, options: opts, cases: results };
  } finally {
    A.destroy();
    B.destroy();
  }
}

// =============================================================================================
// 3. Software GSO of virtio_net_hdr super-frames on a veth without segmentation offloads

export type GsoKind = 'tcpv4' | 'tcpv6' | 'udp_l4';

export interface GsoCase {
  name: string;
  kind: GsoKind;
  gsoSize: number;
  /** Add VIRTIO_NET_HDR_GSO_ECN (→ SKB_GSO_TCP_ECN). */
  ecn?: boolean;
  /** Super-frames (Ethernet, addressed to REF.macB); their L4 checksum is rewritten to the pseudo-header sum by the injector. */
  frames: Buffer[];
}

export interface GsoOptions {
  /** Keep tx-checksumming on the sending veth (default false → checksums completed in software). */
  txCsum?: boolean;
  /** tcpdump filter of both captures (default `tcp or udp`; add `vlan` for QinQ frames). */
  filter?: string;
}

export interface SegmentObservation {
  len: number;
  ipId?: number;
  ipTotalLen: number;
  ipCsumOk?: boolean;
  tcpSeq?: number;
  tcpFlags?: number;
  udpLen?: number;
  l4Csum: CsumState;
}

export interface GsoResult {
  name: string;
  kind: GsoKind;
  gsoSize: number;
  ecn: boolean;
  txCsum: boolean;
  /** Super-frames as given (checksum field as given; the injector writes the pseudo-header sum). */
  inputPcap: string;
  /** Segments as received by the peer veth in namespace B (RX tap). */
  rxPcap: string;
  /** What the tap on the sending veth saw (after validate_xmit_skb). */
  txPcap: string;
  /** virtio_net_hdr values the injector used, per frame. */
  vnet: Array<Record<string, number | string>>;
  observed: SegmentObservation[];
}

const TS_OPT = (tsval: number, tsecr: number) => {
  const b = Buffer.alloc(12);
  b[0] = 1;
  b[1] = 1;
  b[2] = 8;
  b[3] = 10;
  b.writeUInt32BE(tsval, 4);
  b.writeUInt32BE(tsecr, 8);
  return b;
};

/** The GSO cases of the brief: TCPv4 (PSH|ACK, FIN, CWR with/without ECN gso flag), TCPv6, UDP_L4 v4/v6. */
export function defaultGsoCases(): GsoCase[] {
  const pay = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff));
  const s4 = REF.underlayA4;
  const d4 = REF.underlayB4;
  const s6 = REF.underlayA6;
  const d6 = REF.underlayB6;
  const t4 = (flags: number, id: number) =>
    eth(
      REF.macB,
      REF.macA,
      ETH_P_IP,
      ipv4(
        { src: s4, dst: d4, proto: 6, id, ttl: 64, tos: 0x02 },
        tcp({ src: s4, dst: d4, sport: 43000, dport: 8080, seq: 0xfffff000, ack: 0x01020304, flags, window: 1000, options: TS_OPT(0x01020304, 0x0a0b0c0d), csum: 'partial' }, pay(10000)),
      ),
    );
  const t6 = (flags: number) =>
    eth(
      REF.macB,
      REF.macA,
      ETH_P_IPV6,
      ipv6(
        { src: s6, dst: d6, next: 6, hopLimit: 64, flowLabel: 0x12345 },
        tcp({ src: s6, dst: d6, sport: 43001, dport: 8080, seq: 1000, ack: 2000, flags, window: 1000, options: TS_OPT(5, 6), csum: 'partial' }, pay(10000)),
      ),
    );
  const u4 = eth(REF.macB, REF.macA, ETH_P_IP, ipv4({ src: s4, dst: d4, proto: 17, id: 0x7000, ttl: 64 }, udp({ src: s4, dst: d4, sport: 44000, dport: 9000, csum: 'partial' }, pay(5000))));
  const u6 = eth(REF.macB, REF.macA, ETH_P_IPV6, ipv6({ src: s6, dst: d6, next: 17, hopLimit: 64 }, udp({ src: s6, dst: d6, sport: 44001, dport: 9000, csum: 'partial' }, pay(5000))));
  return [
    { name: 'tcpv4-psh-ack', kind: 'tcpv4', gsoSize: 1448, frames: [t4(TCP_PSH | TCP_ACK, 0x1000)] },
    { name: 'tcpv4-fin', kind: 'tcpv4', gsoSize: 1448, frames: [t4(TCP_FIN | TCP_PSH | TCP_ACK, 0x2000)] },
    { name: 'tcpv4-cwr', kind: 'tcpv4', gsoSize: 1448, frames: [t4(TCP_CWR | TCP_PSH | TCP_ACK, 0x3000)] },
    { name: 'tcpv4-cwr-ecn', kind: 'tcpv4', gsoSize: 1448, ecn: true, frames: [t4(TCP_CWR | TCP_PSH | TCP_ACK, 0x4000)] },
    { name: 'tcpv6-psh-ack', kind: 'tcpv6', gsoSize: 1428, frames: [t6(TCP_PSH | TCP_ACK | TCP_FIN)] },
    { name: 'udp-l4-v4', kind: 'udp_l4', gsoSize: 1400, frames: [u4] },
    { name: 'udp-l4-v6', kind: 'udp_l4', gsoSize: 1400, frames: [u6] },
  ];
}

function observeSegment(b: Buffer): SegmentObservation {
  const l3 = parseL3(b, 14, b.readUInt16BE(12));
  if (!l3) return { len: b.length, ipTotalLen: 0, l4Csum: 'bad' };
  const o: SegmentObservation = { len: b.length, ipId: l3.id, ipTotalLen: l3.totalLen, ipCsumOk: l3.hdrCsumOk, l4Csum: l4CsumState(b, l3) };
  if (l3.proto === 6) {
    o.tcpSeq = b.readUInt32BE(l3.l4off + 4);
    o.tcpFlags = b[l3.l4off + 13];
  } else if (l3.proto === 17) {
    o.udpLen = b.readUInt16BE(l3.l4off + 4);
  }
  return o;
}

/**
 * Namespaces A (vethA: tso/gso/tx-udp-segmentation off, tx-checksumming off unless txCsum) and
 * B (vethB, GRO off). The super-frames are injected with `send-vnet` on vethA; captures: vethB
 * RX (the segments the peer receives) and vethA TX tap.
 */
export async function gsoReference(dir: string, superFrames: string | Buffer[], kind: GsoKind, o: { name?: string; gsoSize: number; ecn?: boolean } & GsoOptions): Promise<GsoResult> {
  mkdirSync(dir, { recursive: true });
  const name = o.name ?? kind;
  const A = Netns.create('gsoa');
  const B = Netns.create('gsob');
  try {
    quietNetns(A, { ipv6: true });
    quietNetns(B, { ipv6: true });
    vethPair(A, 'vethA', B, 'vethB', { macA: REF.macA, macB: REF.macB });
    ethtoolK(A, 'vethA', { tso: false, gso: false, 'tx-udp-segmentation': false, ...(o.txCsum ? {} : { tx: false }) });
    B.tryExec(['ethtool', '-K', 'vethB', 'gro', 'off']);
    const inputPcap = join(dir, `gso-${name}.input.pcap`);
    if (typeof superFrames === 'string') {
      const p = readPcap(superFrames);
      writePcap(inputPcap, p.records.map((r) => r.data));
    } else {
      writePcap(inputPcap, superFrames);
    }
    const rxPcap = join(dir, `gso-${name}.rx.pcap`);
    const txPcap = join(dir, `gso-${name}.tx.pcap`);
    const filter = o.filter ?? 'tcp or udp';
    const capRx = await capture(B, 'vethB', rxPcap, filter);
    const capTx = await capture(A, 'vethA', txPcap, filter);
    let vnet: Array<Record<string, number | string>> = [];
    try {
      const args = ['send-vnet', 'vethA', inputPcap, '--gso', kind, '--size', String(o.gsoSize)];
      if (o.ecn) args.push('--ecn');
      vnet = A.inject(args).sent;
      const errs = vnet.filter((s) => s.error);
      if (errs.length) throw new Error(`send-vnet failed: ${JSON.stringify(errs)}`);
    } finally {
      await capRx.stop(250);
      await capTx.stop(0);
    }
    return {
      name,
      kind,
      gsoSize: o.gsoSize,
      ecn: !!o.ecn,
      txCsum: !!o.txCsum,
      inputPcap,
      rxPcap,
      txPcap,
      vnet,
      observed: readPcap(rxPcap).records.map((r) => observeSegment(r.data)),
    };
  } finally {
    A.destroy();
    B.destroy();
  }
}

// =============================================================================================
// 4. MPLS lwtunnel push (`ip route … encap mpls L1/L2 via …`)

export interface MplsOptions {
  labels?: number[];
  /** Per-route `ttl N` (undefined → sysctl ip_ttl_propagate decides). */
  routeTtl?: number;
  /** net.mpls.ip_ttl_propagate (default: left at the kernel default 1). */
  ipTtlPropagate?: 0 | 1;
  /** Inner packets sent from namespace C (raw IPv4, destined to 198.51.100.0/24). */
  inner?: Buffer[];
}

export type MplsResult =
  | { skipped: string }
  | {
      skipped?: undefined;
      labels: number[];
      route: string[];
      /** Inner IPv4 packets as received by the router on its input veth (Ethernet). */
      inputPcap: string;
      /** MPLS frames on the router's output veth (Ethernet, ethertype 0x8847). */
      outputPcap: string;
      sentPcap: string;
      routerInMac: string;
      routerOutMac: string;
      nextHopMac: string;
      observed: Array<{ lses: Array<{ label: number; tc: number; s: number; ttl: number }>; ipTtl: number }>;
    };

export function defaultMplsInner(): Buffer[] {
  const s = REF.innerSrc4;
  const mk = (n: number, ttl: number, id: number) =>
    ipv4({ src: s, dst: REF.innerDst4(n), proto: 17, ttl, id }, udp({ src: s, dst: REF.innerDst4(n), sport: 45000, dport: 5000 }, Buffer.alloc(32, id & 0xff)));
  return [mk(20, 64, 1), mk(21, 10, 2), mk(22, 2, 3)];
}

/**
 * C (sender, 203.0.113.1) → A (router: 203.0.113.254 in, 192.0.2.1 out, route
 * 198.51.100.0/24 encap mpls L1/L2 via 192.0.2.2 dev vethA) → B (192.0.2.2).
 * Captures on A's input veth (inner packet) and output veth (labelled packet).
 * Returns { skipped } when the kernel has no MPLS lwtunnel support (CONFIG_MPLS_ROUTING /
 * CONFIG_MPLS_IPTUNNEL).
 */
export async function mplsReference(dir: string, o: MplsOptions = {}): Promise<MplsResult> {
  mkdirSync(dir, { recursive: true });
  const labels = o.labels ?? [100, 200];
  const C = Netns.create('mplsc');
  const A = Netns.create('mplsa');
  const B = Netns.create('mplsb');
  try {
    for (const ns of [A, B, C]) quietNetns(ns, { ipv6: false });
    if (!A.tryExec(['test', '-d', '/proc/sys/net/mpls']).ok) {
      const mp = A.tryExec(['modprobe', 'mpls_router', 'mpls_iptunnel']);
      if (!A.tryExec(['test', '-d', '/proc/sys/net/mpls']).ok) {
        return { skipped: `kernel has no MPLS routing (no /proc/sys/net/mpls; modprobe mpls_router mpls_iptunnel: ${mp.ok ? 'ok' : mp.err.trim() || 'failed'})` };
      }
    }
    const macCA = '02:00:00:00:0c:0a';
    const macAC = '02:00:00:00:0a:0c';
    vethPair(C, 'vethC', A, 'vethCA', { macA: macCA, macB: macAC });
    vethPair(A, 'vethA', B, 'vethB', { macA: REF.macA, macB: REF.macB });
    C.ip('addr', 'add', `${REF.innerSrc4}/24`, 'dev', 'vethC');
    C.ip('route', 'add', 'default', 'via', '203.0.113.254');
    C.ip('neigh', 'replace', '203.0.113.254', 'lladdr', macAC, 'dev', 'vethC', 'nud', 'permanent');
    A.ip('addr', 'add', '203.0.113.254/24', 'dev', 'vethCA');
    A.ip('addr', 'add', `${REF.underlayA4}/24`, 'dev', 'vethA');
    A.ip('neigh', 'replace', REF.underlayB4, 'lladdr', REF.macB, 'dev', 'vethA', 'nud', 'permanent');
    B.ip('addr', 'add', `${REF.underlayB4}/24`, 'dev', 'vethB');
    A.sysctl('net.ipv4.ip_forward', 1);
    for (const k of ['all', 'default', 'vethCA']) A.sysctl(`net.ipv4.conf.${k}.rp_filter`, 0);
    A.sysctl('net.mpls.platform_labels', 1000);
    if (o.ipTtlPropagate !== undefined) A.sysctl('net.mpls.ip_ttl_propagate', o.ipTtlPropagate);
    ethtoolK(A, 'vethA', { tx: false });
    const route = ['route', 'add', '198.51.100.0/24', 'encap', 'mpls', labels.join('/')];
    if (o.routeTtl !== undefined) route.push('ttl', String(o.routeTtl));
    route.push('via', REF.underlayB4, 'dev', 'vethA');
    const r = A.tryExec(['ip', ...route]);
    if (!r.ok) return { skipped: `cannot add an MPLS encap route: ${r.err.trim()}` };

    const sentPcap = join(dir, 'mpls.sent.pcap');
    const inputPcap = join(dir, 'mpls.input.pcap');
    const outputPcap = join(dir, 'mpls.output.pcap');
    writePcap(sentPcap, o.inner ?? defaultMplsInner(), LINKTYPE_RAW);
    const capIn = await capture(A, 'vethCA', inputPcap, 'ip dst net 198.51.100.0/24');
    const capOut = await capture(A, 'vethA', outputPcap, 'mpls');
    try {
      C.inject(['send-ip', sentPcap, '--gap-ms', '5']);
    } finally {
      await capIn.stop(250);
      await capOut.stop(0);
    }
    const observed = readPcap(outputPcap).records.map((rec) => {
      const b = rec.data;
      const lses: Array<{ label: number; tc: number; s: number; ttl: number }> = [];
      let off = 14;
      for (;;) {
        const w = b.readUInt32BE(off);
        lses.push({ label: w >>> 12, tc: (w >>> 9) & 7, s: (w >>> 8) & 1, ttl: w & 0xff });
        off += 4;
        if (w & 0x100 || off + 4 > b.length) break;
      }
      return { lses, ipTtl: b[off + 8] ?? -1 };
    });
    return { labels, route, inputPcap, outputPcap, sentPcap, routerInMac: macAC, routerOutMac: REF.macA, nextHopMac: REF.macB, observed };
  } finally {
    C.destroy();
    A.destroy();
    B.destroy();
  }
}
