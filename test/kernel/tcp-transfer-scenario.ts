/**
 * A real TCP transfer between two namespaces, captured on both ends.
 *
 *   A (vethA) ── vethMA ┐ M: bridge br0 ┌ vethMB ── (vethB) B
 *
 * vethA and vethB keep the veth defaults (tx-checksumming and TSO on), so each end's stack hands
 * its veth CHECKSUM_PARTIAL skbs (every TCP packet: SYN, ACKs, FIN, data) and TSO super-packets,
 * and tcpdump on that end shows them with the pseudo-header sum: the capture a host with offloads
 * on gives. The bridge ports in M have every offload off: a bridge forwards the skb as it came
 * (same bytes, still partial, still GSO), and `validate_xmit_skb` on the egress port segments it
 * (`skb_gso_segment`) and completes its checksums (`skb_checksum_help`) because the port can do
 * neither. So the capture on the other end holds, for exactly the packets the first end sent,
 * what the kernel puts on a wire: the reference for capflow's wire view. Both directions carry
 * data, so both ends' captures are inputs and references.
 *
 * With `vxlan`, the transfer runs between overlay addresses on a classic VXLAN device (`vxlan id
 * 42 remote <peer> local <self>`) at each end, over the same underlay: the ends' captures then
 * hold VXLAN frames whose inner TCP checksum is partial and whose super-packets are UDP-tunnel
 * GSO packets (veth's hw_enc_features pass them whole), and the bridge port segments them with
 * `__skb_udp_tunnel_segment`. The outer UDP checksum is off over IPv4 (`noudpcsum`: zero on every
 * frame) and on over IPv6 (`udpcsum`: computed per segment).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns, capture, ethtoolFeatures, ethtoolK, quietNetns, vethPair } from './netns.js';
import { REF } from './scenarios.js';

/** Path of the transfer program shipped next to this file. */
export const TCP_TRANSFER_PY = join(dirname(fileURLToPath(import.meta.url)), 'tcp_transfer.py');

export interface TransferOptions {
  family: 4 | 6;
  /** Bytes A sends to B (then A's FIN). */
  bytesAtoB: number;
  /** Bytes B sends back after A's FIN (then B's FIN). */
  bytesBtoA: number;
  name?: string;
  /** Run TCP over a classic VXLAN device at each end (underlay and overlay both of `family`). */
  vxlan?: boolean;
}

export interface TransferResult {
  family: 4 | 6;
  /** tcpdump on vethA (A's own packets as its stack hands them to the veth; B's as delivered). */
  capA: string;
  /** tcpdump on vethB. */
  capB: string;
  macA: string;
  macB: string;
  /** What each end's program reported (bytes received and sent). */
  a: { received: number; sent: number };
  b: { received: number; sent: number };
  /** tcpdump's "dropped by kernel" on either end (the comparison is only meaningful at 0). */
  droppedByKernel: number;
  /** Offloads in force on vethA during the transfer. */
  featuresA: Record<string, boolean>;
  /** With `vxlan`: the VXLAN UDP port. */
  vxlanPort?: number;
}

/** Overlay of the `vxlan` variant: VNI, device MACs, addresses (documentation ranges). */
export const XFER_VXLAN = {
  vni: 42,
  port: 4789,
  vxMacA: '02:00:00:00:0a:42',
  vxMacB: '02:00:00:00:0b:42',
  overlay4: ['203.0.113.1', '203.0.113.2'],
  overlay6: ['2001:db8:200::1', '2001:db8:200::2'],
} as const;

const PORT = 5201;

export async function tcpTransferReference(dir: string, o: TransferOptions): Promise<TransferResult> {
  mkdirSync(dir, { recursive: true });
  const name = o.name ?? `${o.vxlan ? 'vxlan' : 'tcp'}${o.family}`;
  const A = Netns.create('xfra');
  const M = Netns.create('xfrm');
  const B = Netns.create('xfrb');
  try {
    for (const ns of [A, M, B]) quietNetns(ns, { ipv6: o.family === 6 });
    vethPair(A, 'vethA', M, 'vethMA', { macA: REF.macA });
    vethPair(B, 'vethB', M, 'vethMB', { macA: REF.macB });
    // No netfilter on bridged traffic, no multicast snooping: the bridge only switches frames.
    M.ip('link', 'add', 'br0', 'type', 'bridge', 'nf_call_iptables', '0', 'nf_call_ip6tables', '0', 'nf_call_arptables', '0', 'mcast_snooping', '0');
    for (const port of ['vethMA', 'vethMB']) {
      M.ip('link', 'set', port, 'master', 'br0');
      ethtoolK(M, port, { tx: false, sg: false, tso: false, gso: false, gro: false });
    }
    M.ip('link', 'set', 'br0', 'up');
    for (const [ns, dev] of [[A, 'vethA'], [B, 'vethB']] as const) ethtoolK(ns, dev, { gro: false });

    const [addrA, addrB] = o.family === 4 ? [REF.underlayA4, REF.underlayB4] : [REF.underlayA6, REF.underlayB6];
    const plen = o.family === 4 ? 24 : 64;
    const six = o.family === 6 ? ['-6'] : [];
    A.ip(...six, 'addr', 'add', `${addrA}/${plen}`, 'dev', 'vethA', ...(o.family === 6 ? ['nodad'] : []));
    B.ip(...six, 'addr', 'add', `${addrB}/${plen}`, 'dev', 'vethB', ...(o.family === 6 ? ['nodad'] : []));
    // Static neighbours: no ARP/ND exchange delays the SYN.
    A.ip(...six, 'neigh', 'replace', addrB, 'lladdr', REF.macB, 'dev', 'vethA', 'nud', 'permanent');
    B.ip(...six, 'neigh', 'replace', addrA, 'lladdr', REF.macA, 'dev', 'vethB', 'nud', 'permanent');
    const featuresA = ethtoolFeatures(A, 'vethA');
    let dstB: string = addrB;
    if (o.vxlan) {
      const X = XFER_VXLAN;
      const [ovA, ovB] = o.family === 4 ? X.overlay4 : X.overlay6;
      // The device's MTU leaves room for the outer headers on the 1500-byte underlay.
      const mtu = String(1500 - (o.family === 4 ? 50 : 70));
      for (const [ns, self, peer, mac, peerMac, ov, peerOv] of [
        [A, addrA, addrB, X.vxMacA, X.vxMacB, ovA, ovB],
        [B, addrB, addrA, X.vxMacB, X.vxMacA, ovB, ovA],
      ] as const) {
        // Over IPv4 without the outer UDP checksum (UDP_TUNNEL GSO), over IPv6 with it (UDP_TUNNEL_CSUM).
        const csum = o.family === 4 ? 'noudpcsum' : 'udpcsum';
        ns.ip('link', 'add', 'vx0', 'address', mac, 'mtu', mtu, 'type', 'vxlan', 'id', String(X.vni), 'remote', peer, 'local', self, 'dstport', String(X.port), csum, 'nolearning');
        ns.ip('link', 'set', 'vx0', 'up');
        ns.ip(...six, 'addr', 'add', `${ov}/${plen}`, 'dev', 'vx0', ...(o.family === 6 ? ['nodad'] : []));
        ns.ip(...six, 'neigh', 'replace', peerOv, 'lladdr', peerMac, 'dev', 'vx0', 'nud', 'permanent');
      }
      dstB = ovB;
    }

    const capA = join(dir, `${name}.vethA.pcap`);
    const capB = join(dir, `${name}.vethB.pcap`);
    const filter = o.vxlan ? `udp port ${XFER_VXLAN.port}` : `tcp port ${PORT}`;
    const ca = await capture(A, 'vethA', capA, filter, { bufferKiB: 65536 });
    const cb = await capture(B, 'vethB', capB, filter, { bufferKiB: 65536 });
    let a: TransferResult['a'];
    let b: TransferResult['b'];
    let dropped = 0;
    try {
      const server = spawn('ip', ['netns', 'exec', B.name, 'python3', TCP_TRANSFER_PY, 'serve', dstB, String(PORT), String(o.bytesBtoA)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      server.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`transfer server did not start: ${err}`)), 10_000);
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('listening')) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`transfer server exited early (${code}): ${err}`));
        });
      });
      try {
        a = JSON.parse(A.exec(['python3', TCP_TRANSFER_PY, 'send', dstB, String(PORT), String(o.bytesAtoB)], { timeoutMs: 30_000 }).trim()) as TransferResult['a'];
      } finally {
        const kill = setTimeout(() => server.kill('SIGKILL'), 30_000);
        const code = await exited;
        clearTimeout(kill);
        if (code !== 0) throw new Error(`transfer server failed (${code}): ${err}`);
      }
      b = JSON.parse(out.trim().split('\n').pop()!) as TransferResult['b'];
    } finally {
      const sa = await ca.stop(250);
      const sb = await cb.stop(0);
      dropped = sa.droppedByKernel + sb.droppedByKernel;
    }
    return { family: o.family, capA, capB, macA: REF.macA, macB: REF.macB, a, b, droppedByKernel: dropped, featuresA, vxlanPort: o.vxlan ? XFER_VXLAN.port : undefined };
  } finally {
    A.destroy();
    M.destroy();
    B.destroy();
  }
}
