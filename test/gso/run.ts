/** Run the NIC egress directly on packets, collecting emitted packets and drops. */
import { Egress, type View } from '../../pipeline/egress.js';
import { gsoStageOptions } from '../../pipeline/egress-options.js';
import { loadProfile } from '../../pipeline/nic/profile.js';
import * as vxlan from '../../pipeline/wire/vxlan.js';
import type { Packet } from '../../pipeline/packet.js';

export interface RunResult {
  out: Packet[];
  drops: string[];
  warnings: string[];
  /** Bytes after the IP datagram the egress cut (countTrailer). */
  trailerBytes: number;
  stage: Egress;
}

/** `opts`: the egress options, or the older gso stage's (with `vxlanPorts`). */
export function makeGso(opts: Record<string, unknown> = {}, nic = 'none', view: View = 'wire') {
  const { vxlanPorts, ...options } = gsoStageOptions.parse(opts);
  const profile = loadProfile(nic);
  const stage = new Egress(options, { nic: profile, view, vxlanPorts: vxlanPorts ?? vxlan.DEFAULT_PORTS });
  const res: RunResult = { out: [], drops: [], warnings: [], trailerBytes: 0, stage };
  const ctx = {
    emit: (p: Packet) => void res.out.push(p),
    drop: (_p: Packet, r: string) => void res.drops.push(r),
    warnOnce: (_k: string, m: string) => void res.warnings.push(m),
    countTrailer: (n: number) => void (res.trailerBytes += n),
  };
  return { res, run: (p: Packet) => stage.process(p, ctx), superPackets: stage.superPackets };
}

export function runGso(pkts: Packet[], opts: Record<string, unknown> = {}, nic = 'none', view: View = 'wire'): RunResult {
  const g = makeGso(opts, nic, view);
  for (const p of pkts) g.run(p);
  return g.res;
}
