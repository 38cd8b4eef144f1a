/**
 * Throughput of the gso stage: `benchGso(kind, megabytes)` pushes that many megabytes of input
 * super-packets through a wire-view gso stage (no offloads: every segment and every checksum is
 * computed in software) and reports input MB/s. Kinds: tcpv4, tcpv6, udp_l4, vxlan (TCPv4 in
 * VXLAN with outer UDP checksum).
 */
import { Packet } from '../../pipeline/packet.js';
import { GSO } from '../../pipeline/packet.js';
import { frame, pattern, TS_OPTS, vxlan } from '../gso/build.js';
import { makeGso } from '../gso/run.js';
import { decodeFrame, Layers } from '../../pipeline/decode.js';

export type GsoBenchKind = 'tcpv4' | 'tcpv6' | 'udp_l4' | 'vxlan';

function template(kind: GsoBenchKind): Uint8Array {
  const payload = pattern(64000 - (kind === 'vxlan' ? 200 : 100));
  switch (kind) {
    case 'tcpv4':
      return frame({ ip: { v: 4 }, l4: { kind: 'tcp', options: TS_OPTS }, payload, csum: 'partial' });
    case 'tcpv6':
      return frame({ ip: { v: 6 }, l4: { kind: 'tcp', options: TS_OPTS }, payload, csum: 'partial' });
    case 'udp_l4':
      return frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload, csum: 'partial' });
    case 'vxlan':
      return vxlan(frame({ ip: { v: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'tcp', options: TS_OPTS }, payload, csum: 'partial' }), { csum: true });
  }
}

export function benchGso(kind: GsoBenchKind, megabytes: number): { mbPerSec: number; packets: number; segments: number; seconds: number } {
  const tpl = template(kind);
  const g = makeGso({ mss: kind === 'vxlan' ? 1398 : kind === 'tcpv6' ? 1428 : 1448 }, 'none', 'wire');
  const L = new Layers();
  const count = Math.max(1, Math.round((megabytes * 1e6) / tpl.length));
  // Input packets are built inside the loop (a reader allocates one per record too).
  let segments = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const p = Packet.fromBytes(tpl);
    if (kind === 'vxlan') {
      decodeFrame(p.buf, p.head, p.tail, L);
      p.encapsulation = true;
      p.innerMacOff = L.transOff + 16;
      p.gsoSize = 1398;
      p.gsoType = GSO.TCPV4 | GSO.UDP_TUNNEL_CSUM;
    }
    g.run(p);
    segments += g.res.out.length;
    g.res.out.length = 0;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { mbPerSec: (count * tpl.length) / 1e6 / seconds, packets: count, segments, seconds };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const k of ['tcpv4', 'tcpv6', 'udp_l4', 'vxlan'] as const) {
    benchGso(k, 50);
    const r = benchGso(k, 300);
    console.log(`${k}: ${r.mbPerSec.toFixed(0)} MB/s (${r.packets} super-packets, ${r.segments} segments)`);
  }
}
