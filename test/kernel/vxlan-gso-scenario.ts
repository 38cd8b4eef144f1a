/**
 * Kernel reference for VXLAN + TCP segmentation: a real TCP connection whose overlay route is an
 * `encap ip`/`encap ip6` lwtunnel route to a collect-metadata (`vxlan external`) device, over a
 * veth underlay with UDP-tunnel segmentation (and TSO/GSO and tx checksumming) off.
 *
 *   namespace A (sender)                            namespace B (receiver)
 *   vx0 198.51.100.1/32 (external, MAC vxMacA)      vx0 198.51.100.2/32 (external, MAC vxMacB)
 *     route 198.51.100.2/32 encap ip id 42            route 198.51.100.1/32 encap ip id 42
 *           dst <B underlay> [csum] dev vx0                 dst <A underlay> dev vx0
 *   vethA 192.0.2.1/24, 2001:db8::1/64  <—veth—>    vethB 192.0.2.2/24, 2001:db8::2/64
 *
 * vx0 keeps its default offloads (TSO, GSO, checksum), so the TCP stack hands it GSO super-packets
 * (up to ~64 KB) and the TX tap on vx0 records them whole, with partial (pseudo-header) TCP
 * checksums. vxlan_xmit encapsulates the skb as it is; vethA, without tx-udp_tnl-segmentation,
 * TSO, GSO or tx checksumming, makes validate_xmit_skb segment it in software and complete every
 * checksum, so the TX tap on vethA records the final underlay frames.
 *
 * Captures start before the connection, so the vx0 capture holds the SYN and SYN-ACK (both
 * directions: `tcp port P`); the underlay capture holds only A's VXLAN frames (A → B).
 * Everything is torn down before returning (try/finally).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Netns, capture, ethtoolK, quietNetns, vethPair } from './netns.js';

export const VXG = {
  underlayA4: '192.0.2.1',
  underlayB4: '192.0.2.2',
  underlayA6: '2001:db8::1',
  underlayB6: '2001:db8::2',
  macA: '02:00:00:00:0a:01',
  macB: '02:00:00:00:0b:01',
  vxMacA: '02:00:00:00:0a:42',
  vxMacB: '02:00:00:00:0b:42',
  overlayA: '198.51.100.1',
  overlayB: '198.51.100.2',
  vni: 42,
  dstPort: 4789,
  tcpPort: 5201,
  /** Underlay MTU (veth default). */
  mtu: 1500,
} as const;

export interface VxlanTcpOptions {
  underlay: 'ipv4' | 'ipv6';
  /** `csum` on A's encap route (outer UDP checksum). */
  csum?: boolean;
  /** Bytes the client sends. */
  bytes?: number;
  /** File name tag. */
  name: string;
}

export interface VxlanTcpResult {
  name: string;
  /** Inner frames on A's vx0 (TX and RX tap, `tcp port P`): super-packets, SYN, SYN-ACK, ACKs. */
  vx0Pcap: string;
  /** A's VXLAN frames on vethA (TX tap): the kernel's segmented, checksum-complete underlay frames. */
  underlayPcap: string;
  /** The encap route as added in A (`ip` argument vector). */
  route: string[];
  params: { vni: number; src: string; dst: string; dstPort: number; csum: boolean; underlay: 'ipv4' | 'ipv6' };
  /** MTU the kernel gave vx0 (underlay MTU − VXLAN overhead). */
  vxMtu: number;
  /** Client socket's TCP_MAXSEG once connected (the kernel's mss_cache = gso_size of its super-packets). */
  clientMss: number;
  /** Bytes the server counted. */
  received: number;
  /** ethtool -k vethA after the changes (the offloads that matter). */
  vethAFeatures: Record<string, boolean>;
  capturedVx0: number;
  capturedUnderlay: number;
}

const SERVER_PY = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print('ready', flush=True)
c, _ = s.accept()
n = 0
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    n += len(d)
c.sendall(b'k')
c.close()
print(n, flush=True)
`;

const CLIENT_PY = `
import socket, sys
total = int(sys.argv[3])
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=15)
mss = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
data = bytes((i * 7 + 3) & 0xff for i in range(total))
for i in range(0, total, 65536):
    s.sendall(data[i:i + 65536])
s.shutdown(socket.SHUT_WR)
s.recv(1)
s.close()
print(mss, flush=True)
`;

/** `ethtool -k dev` as a name → on/off map (feature names with underscores included). */
function offloads(ns: Netns, dev: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const line of ns.exec(['ethtool', '-k', dev]).split('\n')) {
    const m = /^\s*([A-Za-z0-9_-]+):\s+(on|off)/.exec(line);
    if (m) out[m[1]!] = m[2] === 'on';
  }
  return out;
}

function startServer(ns: Netns): Promise<{ child: ChildProcess; done: Promise<string> }> {
  const child = spawn('ip', ['netns', 'exec', ns.name, 'python3', '-c', SERVER_PY, VXG.overlayB, String(VXG.tcpPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const done = new Promise<string>((resolve) => child.on('exit', () => resolve(out)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tcp server in ${ns.name} did not start: ${err}`));
    }, 10_000);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/ready/.test(out)) {
        clearTimeout(timer);
        resolve({ child, done });
      }
    });
    void done.then(() => {
      clearTimeout(timer);
      reject(new Error(`tcp server in ${ns.name} exited early: ${err}`));
    });
  });
}

/** Build the topology, run one TCP transfer A → B, capture vx0 and vethA in A, tear down. */
export async function vxlanTcpReference(dir: string, o: VxlanTcpOptions): Promise<VxlanTcpResult> {
  mkdirSync(dir, { recursive: true });
  const v6 = o.underlay === 'ipv6';
  const A = Netns.create('vxga');
  const B = Netns.create('vxgb');
  let server: ChildProcess | undefined;
  try {
    for (const ns of [A, B]) quietNetns(ns, { ipv6: v6 });
    vethPair(A, 'vethA', B, 'vethB', { macA: VXG.macA, macB: VXG.macB });
    const [srcA, dstB] = v6 ? [VXG.underlayA6, VXG.underlayB6] : [VXG.underlayA4, VXG.underlayB4];
    if (v6) {
      A.ip('-6', 'addr', 'add', `${VXG.underlayA6}/64`, 'dev', 'vethA', 'nodad');
      B.ip('-6', 'addr', 'add', `${VXG.underlayB6}/64`, 'dev', 'vethB', 'nodad');
      A.ip('-6', 'neigh', 'replace', VXG.underlayB6, 'lladdr', VXG.macB, 'dev', 'vethA', 'nud', 'permanent');
      B.ip('-6', 'neigh', 'replace', VXG.underlayA6, 'lladdr', VXG.macA, 'dev', 'vethB', 'nud', 'permanent');
    } else {
      A.ip('addr', 'add', `${VXG.underlayA4}/24`, 'dev', 'vethA');
      B.ip('addr', 'add', `${VXG.underlayB4}/24`, 'dev', 'vethB');
      A.ip('neigh', 'replace', VXG.underlayB4, 'lladdr', VXG.macB, 'dev', 'vethA', 'nud', 'permanent');
      B.ip('neigh', 'replace', VXG.underlayA4, 'lladdr', VXG.macA, 'dev', 'vethB', 'nud', 'permanent');
    }
    // Software segmentation and checksums on the sender's underlay, before the TX tap.
    ethtoolK(A, 'vethA', {
      'tx-udp_tnl-segmentation': false,
      'tx-udp_tnl-csum-segmentation': false,
      tso: false,
      gso: false,
      tx: false,
    });
    const vethAFeatures = offloads(A, 'vethA');

    // A vxlan external device without a lower device gets MTU 1500: size it for the underlay.
    const vxMtu = VXG.mtu - (v6 ? 70 : 50);
    const sides: Array<[Netns, string, string, string, string]> = [
      [A, VXG.vxMacA, VXG.overlayA, VXG.overlayB, VXG.vxMacB],
      [B, VXG.vxMacB, VXG.overlayB, VXG.overlayA, VXG.vxMacA],
    ];
    let route: string[] = [];
    for (const [ns, mac, self, peer, peerMac] of sides) {
      const vx = ['link', 'add', 'vx0', 'address', mac, 'mtu', String(vxMtu), 'type', 'vxlan', 'external', 'dstport', String(VXG.dstPort), 'nolearning'];
      // An IPv6 route without `csum` sends a zero UDP checksum, which a receiver drops without this.
      if (v6) vx.push('udp6zerocsumrx');
      ns.ip(...vx);
      ns.ip('link', 'set', 'vx0', 'arp', 'off', 'up');
      ns.ip('addr', 'add', `${self}/32`, 'dev', 'vx0');
      const tunDst = ns === A ? dstB : srcA;
      const r = ['route', 'add', `${peer}/32`, 'encap', v6 ? 'ip6' : 'ip', 'id', String(VXG.vni), 'dst', tunDst];
      if (ns === A && o.csum) r.push('csum');
      r.push('dev', 'vx0');
      ns.ip(...r);
      if (ns === A) route = r;
      ns.ip('neigh', 'replace', peer, 'lladdr', peerMac, 'dev', 'vx0', 'nud', 'permanent');
    }
    for (const k of ['all', 'default', 'vx0', 'vethB']) B.sysctl(`net.ipv4.conf.${k}.rp_filter`, 0);

    const vx0Pcap = join(dir, `${o.name}.vx0.pcap`);
    const underlayPcap = join(dir, `${o.name}.underlay.pcap`);
    const srv = await startServer(B);
    server = srv.child;
    const capVx = await capture(A, 'vx0', vx0Pcap, `tcp port ${VXG.tcpPort}`);
    const capUl = await capture(A, 'vethA', underlayPcap, `${v6 ? 'ip6' : 'ip'} src host ${srcA} and udp dst port ${VXG.dstPort}`);
    let clientOut = '';
    let stats: [Awaited<ReturnType<typeof capVx.stop>>, Awaited<ReturnType<typeof capUl.stop>>];
    try {
      clientOut = A.exec(['python3', '-c', CLIENT_PY, VXG.overlayB, String(VXG.tcpPort), String(o.bytes ?? 200_000)], { timeoutMs: 20_000 });
    } finally {
      stats = [await capVx.stop(300), await capUl.stop(0)];
    }
    const received = Number((await srv.done).trim().split('\n').pop());
    for (const s of stats) {
      if (s.droppedByKernel) throw new Error(`tcpdump dropped ${s.droppedByKernel} packets: ${s.stderr}`);
    }
    return {
      name: o.name,
      vx0Pcap,
      underlayPcap,
      route,
      params: { vni: VXG.vni, src: srcA, dst: dstB, dstPort: VXG.dstPort, csum: !!o.csum, underlay: o.underlay },
      vxMtu,
      clientMss: Number(clientOut.trim()),
      received,
      vethAFeatures,
      capturedVx0: stats[0].captured,
      capturedUnderlay: stats[1].captured,
    };
  } finally {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    A.destroy();
    B.destroy();
  }
}
