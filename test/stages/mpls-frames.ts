/** Frames and a stage harness shared by the mpls-push / mpls-pop tests. */
import { Packet } from '../../pipeline/packet.js';
import type { Stage, StageEnv } from '../../stages/stage.js';
import { mplsPushStage } from '../../stages/mpls-push.js';
import { mplsPopStage } from '../../stages/mpls-pop.js';
import { hex } from '../wire/golden-frames.js';

export { SYN, VLAN_TCP, QINQ_UDP, IPV6_EXT_UDP, IPV4_OPTS_UDP, MPLS_ICMP, hex, toHex } from '../wire/golden-frames.js';

/**
 * 42-byte ARP request 10.0.0.1 → who has 10.0.0.2 (tshark: "Who has 10.0.0.2? Tell 10.0.0.1").
 */
export const ARP = hex(`
  ffffffffffff 020000000001 0806
  0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002`);

/** Stages get no use of the environment; a stub keeps them honest. */
export const env = {} as StageEnv;

export interface RunResult {
  out: Packet[];
  drops: string[];
  warnings: string[];
}

/** Run one packet through a stage with a recording context. */
export function run(stage: Stage, pkt: Packet, r: RunResult = { out: [], drops: [], warnings: [] }): RunResult {
  stage.process(pkt, {
    emit: (p) => r.out.push(p),
    drop: (_p, reason) => r.drops.push(reason),
    warnOnce: (_k, m) => r.warnings.push(m),
  });
  return r;
}

/** Run a packet through stages in order; returns the one packet that leaves, or throws. */
export function runAll(stages: Stage[], pkt: Packet): Packet {
  let p = pkt;
  for (const s of stages) {
    const r = run(s, p);
    if (r.out.length !== 1) throw new Error(`${s.name}: expected one packet, got ${r.out.length} (drops: ${r.drops.join(',')})`);
    p = r.out[0]!;
  }
  return p;
}

export function push(options: Record<string, unknown>): Stage {
  return mplsPushStage.create(mplsPushStage.options.parse(options), env);
}

export function pop(): Stage {
  return mplsPopStage.create(mplsPopStage.options.parse({}), env);
}

/** A packet over `frame` (copied) with its macOff set, as the pipeline hands it to the first stage. */
export function packet(frame: Uint8Array, origLen = frame.length): Packet {
  const p = Packet.fromBytes(frame, origLen);
  p.macOff = p.head;
  return p;
}

/** LSE hex for tests: label, tc, bos, ttl. */
export function lse(label: number, tc: number, bos: boolean, ttl: number): string {
  return (((label << 12) | (tc << 9) | (bos ? 0x100 : 0) | ttl) >>> 0).toString(16).padStart(8, '0');
}
