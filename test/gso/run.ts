/** Run the gso stage directly on packets, collecting emitted packets and drops. */
import { GsoStage, gsoOptions } from '../../stages/gso.js';
import { createSuperPacketMarker } from '../../pipeline/gso/classify.js';
import { loadProfile } from '../../pipeline/nic/profile.js';
import type { Packet } from '../../pipeline/packet.js';
import type { View } from '../../stages/stage.js';

export interface RunResult {
  out: Packet[];
  drops: string[];
  warnings: string[];
  stage: GsoStage;
}

export function makeGso(opts: Record<string, unknown> = {}, nic = 'none', view: View = 'wire') {
  const options = gsoOptions.parse(opts);
  const profile = loadProfile(nic);
  const superPackets = createSuperPacketMarker({ mss: options.mss, mtu: options.mtu ?? profile.mtu });
  const stage = new GsoStage(options, { nic: profile, view, superPackets });
  const res: RunResult = { out: [], drops: [], warnings: [], stage };
  const ctx = {
    emit: (p: Packet) => void res.out.push(p),
    drop: (_p: Packet, r: string) => void res.drops.push(r),
    warnOnce: (_k: string, m: string) => void res.warnings.push(m),
  };
  return { res, run: (p: Packet) => stage.process(p, ctx), superPackets };
}

export function runGso(pkts: Packet[], opts: Record<string, unknown> = {}, nic = 'none', view: View = 'wire'): RunResult {
  const g = makeGso(opts, nic, view);
  for (const p of pkts) g.run(p);
  return g.res;
}
