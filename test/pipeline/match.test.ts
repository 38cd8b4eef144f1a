/**
 * RuleTable: a rule found on the destination-address trie still has its other keys checked. A
 * rule whose only key is ipDst needs no further check; every other key, next to an ipDst, must
 * still be able to make the rule miss (the next rule, with the same prefix and nothing else,
 * then matches), for IPv4 and IPv6 destinations.
 */
import { describe, expect, it } from 'vitest';
import { RuleTable, matchSchema, type MatchSpec } from '../../pipeline/match.js';
import { LayerRecord } from '../../pipeline/layer-record.js';
import { Packet } from '../../pipeline/packet.js';
import { frame, pattern } from '../gso/build.js';
import { txInfo } from '../stages/vxlan-frames.js';

function packet(f: Uint8Array): Packet {
  const p = Packet.fromBytes(f);
  p.macOff = p.head;
  p.layers = new LayerRecord();
  p.layers.decode(p);
  p.tunnel = txInfo({ vni: 7, src: '198.51.100.1', dst: '198.51.100.2' });
  return p;
}

const v4 = () => packet(frame({ vlan: [10], src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { v: 4, src: '192.0.2.1', dst: '203.0.113.5' }, l4: { kind: 'tcp', sport: 1000, dport: 80 }, payload: pattern(10) }));
const v6 = () => packet(frame({ vlan: [10], src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { v: 6, src: '2001:db8::1', dst: '2001:db8:1::5' }, l4: { kind: 'tcp', sport: 1000, dport: 80 }, payload: pattern(10) }));

// One key that misses the packets above, per key besides ipDst.
const MISSES: Array<[string, Partial<MatchSpec>]> = [
  ['vni', { vni: 8 }],
  ['tunnelSrc', { tunnelSrc: '198.51.100.9' }],
  ['tunnelDst', { tunnelDst: '198.51.100.0/31' }],
  ['ethSrc', { ethSrc: '02:00:00:00:00:09' }],
  ['ethDst', { ethDst: '02:00:00:00:00:09' }],
  ['vlan', { vlan: 11 }],
  ['ipProto', { ipProto: 'udp' }],
  ['srcPort', { srcPort: 1001 }],
  ['dstPort', { dstPort: 81 }],
];

describe('RuleTable: keys besides ipDst are checked on a trie hit', () => {
  for (const [family, make, dst, src] of [
    ['IPv4', v4, '203.0.113.0/24', '192.0.2.2'],
    ['IPv6', v6, '2001:db8:1::/48', '2001:db8::2'],
  ] as const) {
    it(`${family}: ipDst alone matches; ipDst with a missing key falls through to the next rule`, () => {
      const only = new RuleTable([{ match: matchSchema.parse({ ipDst: dst }), action: 'only' }]);
      expect(only.lookup(make())).toBe(0);
      for (const [key, miss] of [...MISSES, ['ipSrc', { ipSrc: src }] as [string, Partial<MatchSpec>]]) {
        const t = new RuleTable([
          { match: matchSchema.parse({ ipDst: dst, ...miss }), action: key },
          { match: matchSchema.parse({ ipDst: dst }), action: 'fallback' },
        ]);
        expect(t.lookup(make()), key).toBe(1);
      }
    });
  }
});
