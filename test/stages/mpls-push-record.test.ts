/**
 * mpls-push updates the packet's layer record when the decode after the push is the one before
 * under a label stack (an IP payload whose first nibble says its version), and decodes the frame
 * again otherwise. Either way the record a later stage reads must be what a fresh decode of the
 * labelled frame says: checked here over tagged, optioned, truncated, non-IP, already labelled
 * and VXLAN frames, with stacks of one to eight labels.
 */
import { describe, expect, it } from 'vitest';
import { Packet } from '../../pipeline/packet.js';
import { LayerRecord } from '../../pipeline/layer-record.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { ARP, IPV4_OPTS_UDP, IPV6_EXT_UDP, MPLS_ICMP, QINQ_UDP, SYN, VLAN_TCP, push, run } from './mpls-frames.js';
import { frame, pattern, vxlan } from '../gso/build.js';

const FIELDS = ['status', 'stopOff', 'stopLayer', 'macOff', 'vlanCount', 'vlanOff0', 'vlanOff1', 'etherType', 'ethTypeOff', 'mplsOff', 'mplsCount', 'netOff', 'netProto', 'ipHdrLen', 'l4Proto', 'transOff', 'l4HdrLen', 'payloadOff', 'ipEnd', 'ipLenMismatch', 'isFragment'] as const;

function differences(p: Packet): string[] {
  const r = p.layers!;
  expect(r.valid).toBe(true);
  const fresh = new LayerRecord();
  fresh.decode(p);
  const out: string[] = [];
  const compare = (got: Layers, want: Layers, what: string) => {
    for (const f of FIELDS) if (got[f] !== want[f]) out.push(`${what}.${f}: ${String(got[f])}, fresh ${String(want[f])}`);
  };
  compare(r.outer, fresh.outer, 'outer');
  if (r.hasInner !== fresh.hasInner) out.push(`hasInner ${r.hasInner}, fresh ${fresh.hasInner}`);
  else if (r.hasInner) compare(r.inner, fresh.inner, 'inner');
  return out;
}

/** A frame with a third VLAN tag (the decoder stops there: UNSUPPORTED). */
function threeTags(): Uint8Array {
  const f = frame({ vlan: [1, 2, 3], ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(20) });
  return f;
}

/** An IPv4 EtherType over a payload whose first nibble is 6. */
function wrongVersion(): Uint8Array {
  const f = frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(20) });
  f[14] = 0x65;
  return f;
}

const frames: Array<[string, Uint8Array, number?]> = [
  ['IPv4 TCP', SYN],
  ['VLAN', VLAN_TCP],
  ['QinQ', QINQ_UDP],
  ['IPv6 extension headers', IPV6_EXT_UDP],
  ['IPv4 options', IPV4_OPTS_UDP],
  ['already labelled', MPLS_ICMP],
  ['ARP', ARP],
  ['three VLAN tags', threeTags()],
  ['IPv4 EtherType, version 6 payload', wrongVersion()],
  ['captured up to the EtherType', SYN.subarray(0, 14), SYN.length],
  ['captured up to one IP byte', SYN.subarray(0, 15), SYN.length],
  ['IP header cut short', SYN.subarray(0, 30), SYN.length],
  ['IPv6 header cut short', IPV6_EXT_UDP.subarray(0, 40), IPV6_EXT_UDP.length],
  ['VXLAN', vxlan(frame({ ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(33) }))],
  ['VXLAN over IPv6', vxlan(frame({ ip: { v: 6 }, l4: { kind: 'udp' }, payload: pattern(5) }), { v: 6 })],
  ['an IPv4 fragment', frame({ ip: { v: 4, df: false, frag: 0x2000 }, l4: { kind: 'udp' }, payload: pattern(64) })],
];

describe('mpls-push: the layer record after a push equals a fresh decode', () => {
  for (const [name, f, origLen] of frames) {
    it(name, () => {
      for (let n = 1; n <= 8; n++) {
        const labels = Array.from({ length: n }, (_, i) => ({ label: 100 + i, ttl: i % 2 ? 'inherit' : 64 }));
        // Bytes after the captured frame (what follows it in a read chunk) say IPv4 and IPv6: never read.
        const buf = new Uint8Array(128 + f.length + 64).fill(0x46);
        buf.set(f, 128);
        buf.fill(0x66, 128 + f.length + 32);
        const p = new Packet(buf, 128, 128 + f.length, origLen ?? f.length);
        p.macOff = p.head;
        p.layers = new LayerRecord();
        p.layers.decode(p);
        const r = run(push({ labels }), p);
        if (r.drops.length > 0) continue;
        expect(r.out).toEqual([p]);
        expect(differences(p), `${n} labels`).toEqual([]);
        // And a second push onto the labels just pushed.
        run(push({ labels: [{ label: 7, ttl: 3 }] }), p);
        expect(differences(p), `${n} + 1 labels`).toEqual([]);
      }
    });
  }

  it('a packet with a stale record (a header changed before) is decoded', () => {
    const p = Packet.fromBytes(VLAN_TCP);
    p.macOff = p.head;
    p.layers = new LayerRecord();
    p.layers.decode(p);
    p.layers.valid = false;
    run(push({ labels: [{ label: 5, ttl: 9 }] }), p);
    expect(differences(p)).toEqual([]);
  });
});
