/**
 * vxlan-encap writes the outer headers field by field for the first packet of some metadata and
 * copies them for the next packets with equal metadata, writing anew only what changes per
 * packet; it fills the layer record of its new headers instead of decoding them. These tests
 * hold both fast paths against the general one: each packet of a sequence goes through one
 * stage instance (templates in use) and through a fresh instance (headers written field by
 * field), and the record is held against a fresh decode.
 */
import { describe, expect, it } from 'vitest';
import { vxlanEncap } from '../../stages/vxlan-encap.js';
import { CSUM, GSO, Packet } from '../../pipeline/packet.js';
import { LayerRecord } from '../../pipeline/layer-record.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { fold, sum16 } from '../../pipeline/wire/checksum.js';
import type { TunnelInfo } from '../../pipeline/metadata.js';
import { TUNNEL } from '../../pipeline/metadata.js';
import { arpFrame, hex, innerIcmp4, innerTcp4, innerUdp4, innerUdp6, make, run, testEnv, txInfo, withVlan } from './vxlan-frames.js';

const OPTS = { src: ['192.0.2.1', '2001:db8::1'], outerEth: { src: '02:00:00:00:0a:01', dst: '02:00:00:00:0b:01' }, neighbours: { '192.0.2.9': '02:00:00:00:0c:09' } };
const FIELDS = ['status', 'stopOff', 'stopLayer', 'macOff', 'vlanCount', 'vlanOff0', 'vlanOff1', 'etherType', 'ethTypeOff', 'mplsOff', 'mplsCount', 'netOff', 'netProto', 'ipHdrLen', 'l4Proto', 'transOff', 'l4HdrLen', 'payloadOff', 'ipEnd', 'ipLenMismatch', 'isFragment'] as const;

/** A packet as the pipeline hands it to a stage: its layer record decoded. */
function packet(frame: Uint8Array, origLen = frame.length): Packet {
  const p = Packet.fromBytes(frame, origLen);
  p.macOff = p.head;
  p.layers = new LayerRecord();
  p.layers.decode(p);
  return p;
}

/** Fields of the record that differ from a fresh decode of the frame as it is (outer, and inner up to the UDP end). */
function staleFields(p: Packet): string[] {
  const r = p.layers!;
  const fresh = new Layers();
  const problems: string[] = [];
  const compare = (got: Layers, what: string) => {
    for (const f of FIELDS) if (got[f] !== fresh[f]) problems.push(`${what}.${f}: ${String(got[f])}, fresh ${String(fresh[f])}`);
  };
  expect(r.valid).toBe(true);
  decodeFrame(p.buf, p.head, p.tail, fresh);
  compare(r.outer, 'outer');
  expect(r.hasInner).toBe(true);
  const u = r.outer.transOff;
  const udpLen = (p.buf[u + 4]! << 8) | p.buf[u + 5]!;
  // A length its field cannot hold (a 64 KB GSO frame plus the outer headers): the inner record
  // is the frame's own decode, not one up to the wrapped UDP length.
  if (udpLen !== p.head + p.origLen - u) return problems;
  decodeFrame(p.buf, u + 16, Math.min(u + udpLen, p.tail), fresh);
  compare(r.inner, 'inner');
  return problems;
}

/** The packet's state besides its bytes, offsets relative to its head. */
function state(p: Packet) {
  const rel = (o: number) => (o < 0 ? o : o - p.head);
  return {
    len: p.length,
    origLen: p.origLen,
    offsets: [p.macOff, p.netOff, p.transOff, p.innerMacOff, p.innerNetOff, p.innerTransOff].map(rel),
    protocol: p.protocol,
    innerProtocol: p.innerProtocol,
    encapsulation: p.encapsulation,
    csum: [p.csumMode, p.csumMode === CSUM.PARTIAL ? rel(p.csumStart) : 0, p.csumOffset],
    gso: [p.gsoSize, p.gsoType],
    tunnel: p.tunnel,
  };
}

/** The frame with the outer IPv4 ID and header checksum zeroed (they follow the stage's ID counter), after checking the checksum. */
function withoutIpId(p: Packet): string {
  const b = p.data.slice();
  if (((b[12]! << 8) | b[13]!) === 0x0800) {
    expect(fold(sum16(b, 14, 34))).toBe(0xffff);
    b[18] = b[19] = b[24] = b[25] = 0;
  }
  return hex(b);
}

interface Case {
  name: string;
  frame: Uint8Array;
  origLen?: number;
  info: TunnelInfo;
  partial?: boolean;
  gsoSize?: number;
  /** Change the metadata in place before this packet. */
  mutate?: (t: TunnelInfo) => void;
}

describe('vxlan-encap: headers copied from equal metadata equal headers written field by field', () => {
  const v4 = txInfo({ vni: 1000, dst: '203.0.113.7' });
  const v6 = txInfo({ vni: 2000, src: '2001:db8::5', dst: '2001:db8::7', tos: 0x48, ttl: 9, label: 0x12345 });
  const csum4 = txInfo({ vni: 3000, dst: '192.0.2.9', csum: true, df: true, tos: 0xb8 });
  const csum6 = txInfo({ vni: 3001, src: '2001:db8::5', dst: '2001:db8::9', csum: true });
  const ports = txInfo({ vni: 4000, dst: '198.51.100.3', tpSrc: 40001, tpDst: 8472 });
  const moving = txInfo({ vni: 5000, dst: '198.51.100.4' });
  const qinq = withVlan(withVlan(innerTcp4({ len: 33 }), 7, 0x8100), 9, 0x88a8);
  const truncated = innerTcp4({ len: 301 });
  const big = innerTcp4({ len: 65_480 });
  const cases: Case[] = [
    { name: 'v4, UDP inner', frame: innerUdp4(), info: v4 },
    { name: 'v4 again, inner CE', frame: innerUdp4({ tos: 3 }), info: v4 },
    { name: 'v4 again, inner ECT(1), other flow', frame: innerUdp4({ tos: 1, sport: 7, len: 999 }), info: v4 },
    { name: 'v4 again, TCP odd length', frame: innerTcp4({ len: 1461 }), info: v4 },
    { name: 'v4 again, IPv6 inner ECT(0)', frame: innerUdp6({ tc: 0x2a, len: 77 }), info: v4 },
    { name: 'v4 again, ARP', frame: arpFrame(), info: v4 },
    { name: 'v4 again, VLAN', frame: withVlan(innerIcmp4({ tos: 2 }), 5), info: v4 },
    { name: 'v4 again, QinQ', frame: qinq, info: v4 },
    { name: 'v4 again, truncated capture', frame: truncated.subarray(0, 100), origLen: truncated.length, info: v4 },
    { name: 'an equal copy of the v4 metadata', frame: innerUdp4({ tos: 2 }), info: cloneOf(v4) },
    { name: 'v6', frame: innerUdp4({ tos: 3 }), info: v6 },
    { name: 'v6 again', frame: innerUdp6({ tc: 1 }), info: v6 },
    { name: 'v6 again, truncated', frame: truncated.subarray(0, 60), origLen: truncated.length, info: v6 },
    { name: 'back to v4', frame: innerTcp4(), info: v4 },
    { name: 'csum, neighbour MAC', frame: innerUdp4(), info: csum4 },
    { name: 'csum again, partial inner', frame: innerUdp4({ len: 51 }), info: csum4, partial: true },
    { name: 'csum again, truncated', frame: truncated.subarray(0, 90), origLen: truncated.length, info: csum4 },
    { name: 'csum v6', frame: innerTcp4({ len: 11 }), info: csum6 },
    { name: 'csum v6 again, partial inner', frame: innerUdp4({ len: 12 }), info: csum6, partial: true },
    { name: 'csum v6 again, GSO', frame: innerTcp4({ len: 4000 }), info: csum6, gsoSize: 1000 },
    { name: 'v4 GSO whose outer length overflows its field', frame: big, info: v4, gsoSize: 1400 },
    { name: 'fixed ports', frame: innerUdp4(), info: ports },
    { name: 'fixed ports again', frame: innerTcp4({ tos: 3 }), info: ports },
    { name: 'metadata', frame: innerUdp4(), info: moving },
    { name: 'the same metadata changed in place: VNI', frame: innerUdp4(), info: moving, mutate: (t) => void (t.vni = 5001) },
    { name: 'changed in place: destination', frame: innerUdp4(), info: moving, mutate: (t) => t.setAddress('dst', '198.51.100.5') },
    { name: 'changed in place: TTL and DF', frame: innerUdp4(), info: moving, mutate: (t) => ((t.ttl = 3), (t.flags |= TUNNEL.DONT_FRAGMENT)) },
    { name: 'changed in place: family', frame: innerUdp4(), info: moving, mutate: (t) => t.setAddress('dst', '2001:db8::99') },
    { name: 'unchanged after that', frame: innerUdp6(), info: moving },
  ];

  function prepare(c: Case): Packet {
    const p = packet(c.frame, c.origLen);
    p.tunnel = c.info;
    if (c.partial) {
      // The inner UDP checksum left to the device: the field holds the pseudo-header sum.
      p.csumMode = CSUM.PARTIAL;
      p.csumStart = p.head + 34;
      p.csumOffset = 6;
    }
    if (c.gsoSize) {
      p.gsoSize = c.gsoSize;
      p.gsoType = GSO.TCPV4;
      p.gsoSegs = Math.ceil((c.frame.length - 54) / c.gsoSize);
      p.csumMode = CSUM.PARTIAL;
      p.csumStart = p.head + 34;
      p.csumOffset = 16;
    }
    return p;
  }

  it('every packet of a sequence, bytes and state', () => {
    const stage = make(vxlanEncap, OPTS, testEnv(9000));
    let ids = 0;
    for (const c of cases) {
      c.mutate?.(c.info);
      const viaTemplate = prepare(c);
      const r = run(stage, viaTemplate);
      const fresh = prepare(c);
      const w = run(make(vxlanEncap, OPTS, testEnv(9000)), fresh);
      expect(r.drops, c.name).toEqual([]);
      expect(w.drops, c.name).toEqual([]);
      expect(withoutIpId(viaTemplate), c.name).toBe(withoutIpId(fresh));
      expect(state(viaTemplate), c.name).toEqual(state(fresh));
      expect(staleFields(viaTemplate), c.name).toEqual([]);
      expect(staleFields(fresh), c.name).toEqual([]);
      if (((viaTemplate.data[12]! << 8) | viaTemplate.data[13]!) === 0x0800) ids++;
    }
    expect(ids).toBeGreaterThan(15);
  });

  it('IPv4 IDs still count per (source, destination) pair across copied headers', () => {
    const stage = make(vxlanEncap, OPTS, testEnv());
    const a = txInfo({ dst: '203.0.113.1' });
    const b = txInfo({ dst: '203.0.113.2' });
    const id = (t: TunnelInfo): number => {
      const p = packet(innerUdp4());
      p.tunnel = t;
      run(stage, p);
      return (p.data[18]! << 8) | p.data[19]!;
    };
    const a0 = id(a);
    const b0 = id(b);
    expect([id(a), id(a), id(b), id(a)]).toEqual([(a0 + 1) & 0xffff, (a0 + 2) & 0xffff, (b0 + 1) & 0xffff, (a0 + 3) & 0xffff]);
  });
});

function cloneOf(t: TunnelInfo): TunnelInfo {
  return t.clone();
}
