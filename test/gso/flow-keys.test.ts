import { describe, expect, it } from 'vitest';
import { FlowKeys } from '../../pipeline/gso/classify.js';
import { formatIp } from '../../pipeline/wire/ip-address.js';
import { frame, pattern, pkt, TS_OPTS } from './build.js';
import { makeGso } from './run.js';

/** The key the marker always built: formatted addresses, IPv6 in brackets. */
function referenceKey(src: string, sport: number, dst: string, dport: number): string {
  const b = (a: string) => (a.includes(':') ? `[${a}]` : a);
  return `${b(src)}:${sport} > ${b(dst)}:${dport}`;
}

const ADDRS4 = ['192.0.2.1', '192.0.2.2', '198.51.100.7', '203.0.113.255'];
const ADDRS6 = ['2001:db8::1', '2001:db8::2', '2001:db8:0:1::', '2001:db8:1:2:3:4:5:6'];

/** Every (family, address pair, port pair) of a small grid: 2 × 12 × 4 directions, some differing in one byte only. */
function directions(): Array<{ v: 4 | 6; src: string; dst: string; sport: number; dport: number }> {
  const out = [];
  for (const [v, addrs] of [[4, ADDRS4], [6, ADDRS6]] as const) {
    for (const src of addrs) for (const dst of addrs) {
      if (src === dst) continue;
      for (const [sport, dport] of [[40000, 80], [40000, 81], [80, 40000], [1, 65535]]) out.push({ v, src, dst, sport, dport });
    }
  }
  return out;
}

describe('flow keys of the super-packet marker (found again from header bytes)', () => {
  for (const [name, bucket] of [['by hash', undefined], ['every tuple in one bucket', () => 0]] as const) {
    it(`the key of each direction, forward and reversed, equals the formatted one (${name})`, () => {
      const keys = new FlowKeys(bucket);
      const seen = new Map<string, unknown>();
      for (let round = 0; round < 2; round++) {
        for (const d of directions()) {
          const f = frame({ ip: { v: d.v, src: d.src, dst: d.dst }, l4: { kind: 'tcp', sport: d.sport, dport: d.dport }, payload: pattern(4) });
          const ip = 14;
          const t = ip + (d.v === 4 ? 20 : 40);
          const fwd = keys.of(f, ip, d.v === 4, t, false);
          const rev = keys.of(f, ip, d.v === 4, t, true);
          expect(fwd.key).toBe(referenceKey(d.src, d.sport, d.dst, d.dport));
          expect(rev.key).toBe(referenceKey(d.dst, d.dport, d.src, d.sport));
          // Found again: the same entry (its summary cache is per direction).
          if (round === 0) seen.set(fwd.key, fwd);
          else expect(seen.get(fwd.key)).toBe(fwd);
          expect(formatIp(fwd.tuple.subarray(1, 1 + fwd.tuple[0]!))).toBe(d.src);
        }
      }
    });
  }

  it('many interleaved flows: peer SYN MSS per direction, one summary per flow and gso_size, counts exact', () => {
    const g = makeGso({}, 'veth', 'driver');
    const dirs = directions().filter((d) => d.sport === 40000);
    const synMss = (i: number) => 1000 + i;
    dirs.forEach((d, i) => {
      const mss = synMss(i);
      g.run(pkt(frame({ ip: { v: d.v, src: d.dst, dst: d.src }, l4: { kind: 'tcp', sport: d.dport, dport: d.sport, flags: 0x12, options: [2, 4, mss >> 8, mss & 0xff] }, payload: new Uint8Array(0) })));
    });
    // Three rounds over all flows, then one flow's packets with another option length (a new summary).
    for (let r = 0; r < 3; r++) {
      for (const d of dirs) g.run(pkt(frame({ ip: { v: d.v, src: d.src, dst: d.dst }, l4: { kind: 'tcp', sport: d.sport, dport: d.dport, options: TS_OPTS }, payload: pattern(5000) })));
    }
    const d0 = dirs[0]!;
    g.run(pkt(frame({ ip: { v: d0.v, src: d0.src, dst: d0.dst }, l4: { kind: 'tcp', sport: d0.sport, dport: d0.dport }, payload: pattern(5000) })));
    g.run(pkt(frame({ ip: { v: d0.v, src: d0.src, dst: d0.dst }, l4: { kind: 'tcp', sport: d0.sport, dport: d0.dport, options: TS_OPTS }, payload: pattern(5000) })));

    expect(g.superPackets.flowSummary()).toEqual(dirs.map((d, i) => ({ flow: referenceKey(d.src, d.sport, d.dst, d.dport), peerMss: synMss(i) })));
    const auto = g.superPackets.autoMss();
    const want = dirs.map((d, i) => ({ flow: referenceKey(d.src, d.sport, d.dst, d.dport), gsoSize: synMss(i) - 12, superPackets: i === 0 ? 4 : 3 }));
    want.push({ flow: want[0]!.flow, gsoSize: synMss(0), superPackets: 1 });
    expect(auto.map((f) => ({ flow: f.flow, gsoSize: f.gsoSize, superPackets: f.superPackets }))).toEqual(want);
    expect(auto.every((f) => f.source === 'peer-syn' && f.proto === 'tcp' && !f.vxlan)).toBe(true);
  });
});
