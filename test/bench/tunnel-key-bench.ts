/**
 * Micro-benchmark of the tunnel-key stage: ns per packet with `rules` ipDst prefix rules
 * (distinct /24s; the matching rule is the last one, so a linear scan would walk them all).
 * Used by `npm run bench`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tunnelKey } from '../../stages/tunnel-key.js';
import type { Stage, StageContext, StageEnv } from '../../stages/stage.js';
import { Packet } from '../../pipeline/packet.js';
import { LayerRecord } from '../../pipeline/layer-record.js';

function frame(dst: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + 18);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 46, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1], 14);
  f[30] = (dst >>> 24) & 0xff;
  f[31] = (dst >>> 16) & 0xff;
  f[32] = (dst >>> 8) & 0xff;
  f[33] = dst & 0xff;
  f.set([0x13, 0x88, 0x17, 0x70, 0, 26, 0, 0], 34);
  return f;
}

/** A tunnel-key stage with `rules` ipDst rules, and 64 packets to the last rule's prefix. */
function setUp(rules: number): { stage: Stage; pkts: Packet[] } {
  const list = [];
  // Rule i matches (11 + i>>16).x.y.0/24 with x.y = i's low 16 bits; packets go to the last rule's prefix.
  for (let i = 0; i < rules; i++) {
    list.push({ match: { ipDst: `${11 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}.0/24` }, set: { vni: i & 0xffffff, dst: '192.0.2.2' } });
  }
  const last = rules - 1;
  const stage = tunnelKey.create(tunnelKey.options.parse({ rules: list }), {} as StageEnv);
  const pkts: Packet[] = [];
  for (let i = 0; i < 64; i++) {
    const p = Packet.fromBytes(frame((((11 + (last >> 16)) << 24) | (((last >> 8) & 0xff) << 16) | ((last & 0xff) << 8) | i) >>> 0));
    // Decoded once, as the pipeline does at ingress: the stage reads the record (it changes no
    // header), so what is measured is the lookup and the action, not a decode per packet.
    p.layers = new LayerRecord();
    p.layers.decode(p);
    pkts.push(p);
  }
  return { stage, pkts };
}

/**
 * ns per packet of a tunnel-key stage with each of `ruleCounts` rules, over `packets` packets.
 * The stages are built first and run in turns, loop after loop, so that every table runs the same
 * compiled code: measured one after the other, the same ten-rule table took 27 or 38 ns a packet
 * from one compilation to the next, more than 100,000 rules add; with both tables in turns, the
 * last of 100,000 rules and the 10th took the same 35 ns. Each figure is the fastest of its `loops`
 * loops: noise on a shared machine only adds time.
 */
export function benchTunnelKey(ruleCounts: readonly number[], packets: number, loops: number): number[] {
  const cases = ruleCounts.map(setUp);
  let sink = 0;
  const ctx: StageContext = { emit: (p) => void (sink += p.tunnel ? p.tunnel.vni : 0), drop: () => void sink++, warnOnce: () => {} };
  // Warm up, then measure the steady state of a long run: the garbage of building the tables
  // (100,000 validated rules) collected first, as a run does once, not inside the measurement.
  for (const { stage, pkts } of cases) for (let i = 0; i < Math.min(packets, 20000); i++) stage.process(pkts[i & 63]!, ctx);
  collectGarbage();
  const best = cases.map(() => Infinity);
  for (let l = 0; l < loops; l++) {
    cases.forEach(({ stage, pkts }, k) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < packets; i++) stage.process(pkts[i & 63]!, ctx);
      best[k] = Math.min(best[k]!, Number(process.hrtime.bigint() - t0));
    });
  }
  if (sink === -1) console.log(sink);
  return best.map((ns) => ns / packets);
}

/** A full garbage collection (V8's gc(), exposed for this call only). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
