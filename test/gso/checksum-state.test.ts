/**
 * Checksum state at ingress: a capture taken with transmit checksum offload on shows the partial
 * checksum (the folded pseudo-header sum) on every locally sent TCP/UDP packet, not only on
 * super-packets. The pipeline gives such a packet back its CHECKSUM_PARTIAL state, and the egress
 * completes it as validate_xmit_skb does: left partial in the driver view when the profile can
 * checksum it, completed in software otherwise, always complete in the wire view.
 */
import { describe, expect, it } from 'vitest';
import { CSUM, Packet } from '../../pipeline/packet.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { resolvePipeline } from '../../pipeline/config.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { L4_CSUM, l4State } from '../../pipeline/checksum-state.js';
import { checksumProblems, frame, pattern, TS_OPTS, vxlan, type FrameSpec } from './build.js';
import { makeGso } from './run.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function through(doc: Record<string, unknown>, f: Uint8Array): Packet[] {
  const out: Packet[] = [];
  new Pipeline(resolvePipeline(doc, 'test')).process(Packet.fromBytes(f), out);
  return out;
}

const SYN = 0x02;
const ACK = 0x10;
const cases: Record<string, FrameSpec> = {
  'TCPv4 SYN': { ip: { v: 4 }, l4: { kind: 'tcp', flags: SYN, options: [2, 4, 5, 0xb4] }, payload: new Uint8Array(0), csum: 'partial' },
  'TCPv4 pure ACK': { ip: { v: 4 }, l4: { kind: 'tcp', flags: ACK, options: TS_OPTS }, payload: new Uint8Array(0), csum: 'partial' },
  'TCPv4 data, IPv4 options': { ip: { v: 4, options: [0x94, 4, 0, 0] }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(1000), csum: 'partial' },
  'TCPv6 data': { ip: { v: 6 }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(1200), csum: 'partial' },
  'TCPv4 VLAN': { vlan: [100], ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(300), csum: 'partial' },
  'TCPv6 QinQ': { vlan: [100, 200], ip: { v: 6 }, l4: { kind: 'tcp' }, payload: pattern(300), csum: 'partial' },
  'TCPv4 under MPLS': { mpls: [100], ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(300), csum: 'partial' },
  'UDPv4': { ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(200), csum: 'partial' },
  'UDPv6': { ip: { v: 6 }, l4: { kind: 'udp' }, payload: pattern(200), csum: 'partial' },
};

describe('ingress checksum state', () => {
  it('l4State: partial, filled (complete or bad), none', () => {
    const L = new Layers();
    const state = (f: Uint8Array) => {
      decodeFrame(f, 0, f.length, L);
      return l4State(f, L);
    };
    expect(state(frame({ ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(10), csum: 'partial' }))).toBe(L4_CSUM.PARTIAL);
    expect(state(frame({ ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(10) }))).toBe(L4_CSUM.FILLED);
    expect(state(frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(10), csum: 'zero' }))).toBe(L4_CSUM.NONE);
    expect(state(frame({ ip: { v: 6 }, l4: { kind: 'udp' }, payload: pattern(10), csum: 'zero' }))).toBe(L4_CSUM.FILLED);
  });

  for (const [name, spec] of Object.entries(cases)) {
    it(`${name}: wire view completes it; driver view per profile`, () => {
      const f = frame(spec);
      expect(checksumProblems(f).length).toBe(1);
      const wire = through({ view: 'wire' }, f);
      expect(wire.length).toBe(1);
      expect(checksumProblems(wire[0]!.data)).toEqual([]);
      expect(wire[0]!.csumMode).toBe(CSUM.NONE);
      // Only the checksum field changed.
      const diff = [...wire[0]!.data].flatMap((v, i) => (v !== f[i] ? [i] : []));
      expect(diff.length).toBeGreaterThan(0);
      expect(diff.length).toBeLessThanOrEqual(2);
      // A NIC without checksum offload: skb_checksum_help in the driver view too.
      expect(checksumProblems(through({ nic: 'none' }, f)[0]!.data)).toEqual([]);
      // virtio-net checksums TCP/UDP over IPv4 and IPv6 (and under tags): left partial for it.
      if (!spec.mpls) {
        const v = through({ nic: 'virtio-net' }, f)[0]!;
        expect(hex(v.data)).toBe(hex(f));
        expect(v.csumMode).toBe(CSUM.PARTIAL);
      }
      // Faithful default: no egress, nothing completed.
      expect(hex(through({}, f)[0]!.data)).toBe(hex(f));
    });
  }

  it('complete and bad checksums pass unchanged (the kernel forwards them)', () => {
    const good = frame({ ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(100) });
    const bad = good.slice();
    bad[14 + 20 + 16] ^= 0x5a;
    for (const f of [good, bad]) expect(hex(through({ view: 'wire' }, f)[0]!.data)).toBe(hex(f));
  });

  it('inside VXLAN: the inner partial checksum is completed, the outer UDP checksum stays right', () => {
    const inner = frame({ ip: { v: 4 }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(600), csum: 'partial' });
    for (const outerCsum of [false, true]) {
      // The outer checksum of a host capture covers the inner bytes as they will be sent (LCO).
      const completedInner = through({ view: 'wire' }, inner)[0]!.data.slice();
      const sent = vxlan(completedInner, { csum: outerCsum });
      const captured = sent.slice();
      captured.set(inner, sent.length - inner.length);
      const out = through({ view: 'wire' }, captured);
      expect(hex(out[0]!.data)).toBe(hex(sent));
    }
  });
});

describe('captured super-packets: the partial state found at ingress is not summed again', () => {
  // Through the pipeline, IngressChecksums sums the checksum once and marks it partial; the
  // egress alone (no ingress: a packet made by hand at its captured size) has to sum it itself.
  // Both must cut the same packets the same way, and leave complete-checksum ones whole.
  const shapes: Record<string, FrameSpec> = {
    'TCPv4': { ip: { v: 4 }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(9001) },
    'TCPv4 IP options, VLAN': { vlan: [7], ip: { v: 4, options: [0x94, 4, 0, 0] }, l4: { kind: 'tcp' }, payload: pattern(4000, 3) },
    'TCPv6 QinQ': { vlan: [1, 2], ip: { v: 6 }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(7777, 5) },
    'TCPv4 under MPLS': { mpls: [100], ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(3001) },
    'UDPv6': { ip: { v: 6 }, l4: { kind: 'udp' }, payload: pattern(5000, 9) },
  };
  const egressAlone = (f: Uint8Array, view: 'wire' | 'driver', nic: string): Packet[] => {
    const g = makeGso({}, nic, view);
    const p = Packet.fromBytes(f);
    p.ingressLen = p.origLen;
    g.run(p);
    expect(g.res.drops).toEqual([]);
    return g.res.out;
  };
  for (const [name, spec] of Object.entries(shapes)) {
    for (const csum of ['partial', 'valid'] as const) {
      const f = frame({ ...spec, csum });
      const cases: [string, Uint8Array][] = [[name, f]];
      // The same frame captured inside VXLAN (outer checksum per LCO over the completed inner frame).
      if (csum === 'partial' && !spec.mpls) {
        const sent = vxlan(frame({ ...spec, csum: 'valid' }), { csum: true });
        sent.set(f, sent.length - f.length);
        cases.push([`${name} in VXLAN`, sent]);
      }
      for (const [label, bytes] of cases) {
        it(`${label}, ${csum} checksum`, () => {
          for (const [view, nic] of [['wire', 'none'], ['driver', 'none'], ['driver', 'virtio-net']] as const) {
            const viaPipeline = through({ view, nic }, bytes);
            const alone = egressAlone(bytes, view, nic);
            expect(viaPipeline.map((p) => hex(p.data))).toEqual(alone.map((p) => hex(p.data)));
            expect(viaPipeline.map((p) => [p.csumMode, p.gsoSize])).toEqual(alone.map((p) => [p.csumMode, p.gsoSize]));
            if (csum === 'valid') expect(viaPipeline.length).toBe(1);
            else if (view === 'wire') expect(viaPipeline.length).toBeGreaterThan(2);
          }
        });
      }
    }
  }
});
