/**
 * One decode per packet: the pipeline decodes each packet once at ingress into the packet's own
 * layer record (the outer frame, and the frame inside VXLAN), and stages and the egress read
 * offsets from that record. A stage that changes the headers brings the record up to date
 * itself; it decodes again only the frame it made (mpls-pop: the frame whose label stack
 * changed), never a frame that did not change. vxlan-encap fills the record of its new outer
 * headers as it writes them, and mpls-push updates the record of an IP packet it labels: neither
 * decodes (the record every stage is handed is checked against a fresh decode).
 *
 * The decoder is counted from here, not from production code: vi.mock replaces the module
 * `pipeline/decode.js` for every module that imports it, with wrappers around the real
 * `decodeFrame` / `decodeIp` that count calls. Each decode is charged to the stage (or the
 * ingress, or the egress) running when it happens, exclusive of the stages it emits into.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type * as DecodeModule from '../../pipeline/decode.js';
import { Packet } from '../../pipeline/packet.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { readPipelineFile, resolvePipeline, type PipelineDocument } from '../../pipeline/config.js';
import { collect } from '../helpers/pcap-collect.js';

const count = vi.hoisted(() => ({ calls: 0, real: null as null | typeof DecodeModule }));

vi.mock('../../pipeline/decode.js', async (importOriginal) => {
  const real = await importOriginal<typeof DecodeModule>();
  count.real = real;
  return {
    ...real,
    decodeFrame: (...a: Parameters<typeof real.decodeFrame>) => {
      count.calls++;
      return real.decodeFrame(...a);
    },
    decodeIp: (...a: Parameters<typeof real.decodeIp>) => {
      count.calls++;
      return real.decodeIp(...a);
    },
  };
});

const root = join(import.meta.dirname, '..', '..');
const VXLAN_PORTS = [4789, 8472];

/** Decodes per place, and per stage the calls that changed the frame's layout. */
interface Tally {
  packets: number;
  /** Packets whose outer frame is UDP to a VXLAN port with room for the VXLAN header (their inner frame is part of the one decode). */
  vxlanAtIngress: number;
  decodes: Record<string, number>;
  changed: Record<string, number>;
  /** Stage calls that decoded although they did not change the frame. */
  redundant: Record<string, number>;
  /** Differences between the record a stage was handed and a fresh decode of the frame. */
  stale: string[];
  recordsChecked: number;
}

/**
 * Whether a packet's ingress decode includes the frame inside VXLAN: the outer UDP header was
 * decoded (not a fragment) with a destination port in `ports` and the VXLAN header fits in the
 * UDP datagram. Read straight from the bytes (no decoder) so that the test does not count itself.
 */
function isVxlanAtIngress(f: Uint8Array, ports: readonly number[]): boolean {
  let o = 12;
  let type = (f[o]! << 8) | f[o + 1]!;
  let tags = 0;
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (++tags > 2 || o + 6 > f.length) return false;
    o += 4;
    type = (f[o]! << 8) | f[o + 1]!;
  }
  o += 2;
  let l4: number;
  let proto: number;
  let ipEnd: number;
  if (type === 0x0800) {
    if (o + 20 > f.length) return false;
    const flagsFrag = ((f[o + 6]! << 8) | f[o + 7]!) & 0x3fff;
    if (flagsFrag !== 0) return false;
    proto = f[o + 9]!;
    l4 = o + ((f[o]! & 0x0f) << 2);
    ipEnd = o + ((f[o + 2]! << 8) | f[o + 3]!);
  } else if (type === 0x86dd) {
    if (o + 40 > f.length) return false;
    proto = f[o + 6]!;
    l4 = o + 40;
    ipEnd = l4 + ((f[o + 4]! << 8) | f[o + 5]!);
  } else return false;
  if (proto !== 17 || l4 + 8 > f.length || l4 + 8 > ipEnd) return false;
  const ulen = (f[l4 + 4]! << 8) | f[l4 + 5]!;
  if (ulen < 8 || l4 + ulen > ipEnd) return false;
  const udpEnd = Math.min(l4 + ulen, f.length);
  return ports.includes((f[l4 + 2]! << 8) | f[l4 + 3]!) && l4 + 16 <= udpEnd;
}

const FIELDS = ['status', 'stopOff', 'stopLayer', 'macOff', 'vlanCount', 'vlanOff0', 'vlanOff1', 'etherType', 'ethTypeOff', 'mplsOff', 'mplsCount', 'netOff', 'netProto', 'ipHdrLen', 'l4Proto', 'transOff', 'l4HdrLen', 'payloadOff', 'ipEnd', 'ipLenMismatch', 'isFragment'] as const;

/**
 * The record a stage is handed must be what a fresh decode of the frame says (uncounted: the
 * real decoder): the outer frame [head, tail), and the inner one up to the UDP end.
 */
function recordProblems(p: Packet, where: string): string[] {
  const r = p.layers;
  if (!r || !r.valid) return [];
  const real = count.real!;
  const fresh = new real.Layers();
  const problems: string[] = [];
  const compare = (got: DecodeModule.Layers, what: string): void => {
    for (const f of FIELDS) if (got[f] !== fresh[f]) problems.push(`${where}: ${what}.${f} ${String(got[f])}, fresh decode ${String(fresh[f])}`);
  };
  real.decodeFrame(p.buf, p.head, p.tail, fresh);
  compare(r.outer, 'outer');
  if (r.hasInner) {
    const u = r.outer.transOff;
    const udpEnd = u + ((p.buf[u + 4]! << 8) | p.buf[u + 5]!);
    real.decodeFrame(p.buf, r.inner.macOff, Math.min(udpEnd, p.tail), fresh);
    compare(r.inner, 'inner');
    if (r.inner.macOff !== u + 16) problems.push(`${where}: inner frame at ${r.inner.macOff}, VXLAN payload at ${u + 16}`);
  }
  return problems;
}

/** Run every packet of `capture` through a pipeline built from `doc`, counting decodes. */
async function tally(doc: PipelineDocument, capture: string): Promise<Tally> {
  const { packets, error } = await collect(new Uint8Array(readFileSync(join(root, capture))));
  expect(error).toBeNull();
  const pipeline = new Pipeline(resolvePipeline(doc, 'decode-count'));
  const t: Tally = { packets: 0, vxlanAtIngress: 0, decodes: {}, changed: {}, redundant: {}, stale: [], recordsChecked: 0 };
  const add = (r: Record<string, number>, k: string, n: number): void => void (r[k] = (r[k] ?? 0) + n);

  // Exclusive attribution: a stage's decodes exclude those of the stages it emits into.
  const stack: { name: string; decodes: number; pkt: Packet; head: number; buf: Uint8Array; emitted: boolean; changed: boolean }[] = [];
  let mark = 0;
  const charge = (): void => {
    const n = count.calls - mark;
    mark = count.calls;
    if (stack.length > 0) stack[stack.length - 1]!.decodes += n;
    else add(t.decodes, 'ingress', n);
  };
  const wrap = (name: string, target: { process(p: Packet, c: unknown): void }): void => {
    const orig = target.process.bind(target);
    target.process = (p: Packet, c: unknown): void => {
      charge();
      // Entering here means the stage below emitted p: did its layout change on the way?
      const caller = stack[stack.length - 1];
      if (caller && caller.pkt === p && !caller.emitted) {
        caller.emitted = true;
        caller.changed = p.head !== caller.head || p.buf !== caller.buf;
      }
      if (p.layers?.valid) t.recordsChecked++;
      t.stale.push(...recordProblems(p, name));
      stack.push({ name, decodes: 0, pkt: p, head: p.head, buf: p.buf, emitted: false, changed: false });
      try {
        orig(p, c);
      } finally {
        charge();
        const s = stack.pop()!;
        add(t.decodes, s.name, s.decodes);
        if (s.changed) add(t.changed, s.name, 1);
        const allowed = s.changed ? 1 : 0;
        if (s.decodes > allowed) add(t.redundant, s.name, s.decodes - allowed);
      }
    };
  };
  pipeline.stages.forEach((s) => wrap(s.name, s as { process(p: Packet, c: unknown): void }));
  if (pipeline.egress) wrap('egress', pipeline.egress as unknown as { process(p: Packet, c: unknown): void });

  const out: Packet[] = [];
  for (const p of packets) {
    t.packets++;
    if (isVxlanAtIngress(p.data, doc.vxlanPorts as number[] | undefined ?? VXLAN_PORTS)) t.vxlanAtIngress++;
    mark = count.calls;
    pipeline.process(p, out);
    charge();
    out.length = 0;
  }
  return t;
}

/** Every stage, in an order where each one has work: decap, label push/pop, re-key, encap, egress. */
const everyStage: PipelineDocument = {
  nic: 'none',
  view: 'wire',
  egress: { mss: 'auto' },
  stages: [
    { stage: 'vxlan-decap' },
    { stage: 'mpls-push', match: { ipProto: 'tcp' }, labels: [{ label: 16001, ttl: 255 }, { label: 24005, ttl: 'inherit' }] },
    { stage: 'mpls-pop' },
    { stage: 'mpls-pop' },
    {
      stage: 'tunnel-key',
      rules: [
        { match: { vni: 42, ipProto: 'udp' }, set: { vni: 4200, dst: '203.0.113.42', csum: true } },
        { match: { vni: 100 }, set: { vni: 10000, dst: '2001:db8::100' } },
        { match: {}, set: { vni: 7, dst: '198.51.100.7' } },
      ],
    },
    { stage: 'vxlan-encap', src: ['203.0.113.1', '2001:db8::1'] },
  ],
};

describe('one decode per packet', () => {
  let reencap: Tally;
  let all: Tally;
  beforeAll(async () => {
    reencap = await tally(readPipelineFile(join(root, 'samples/reencap.yaml')), 'samples/vxlan-mixed.pcapng');
    all = await tally(everyStage, 'samples/vxlan-mixed.pcapng');
  });

  it('samples/reencap.yaml: one ingress decode, nothing else (encap fills the record of its new outer headers)', () => {
    const t = reencap;
    expect(t.packets).toBeGreaterThan(0);
    expect(t.vxlanAtIngress).toBeGreaterThan(0);
    // The ingress decode is the only full decode: outer frame, plus the inner frame of VXLAN packets.
    expect(t.decodes.ingress).toBe(t.packets + t.vxlanAtIngress);
    // vxlan-decap strips the outer headers and keeps the inner decode (skb_pull keeps the offsets).
    expect(t.changed['vxlan-decap']).toBeGreaterThan(0);
    expect(t.decodes['vxlan-decap']).toBe(0);
    expect(t.decodes['tunnel-key']).toBe(0);
    // vxlan-encap: the frame it wrapped is the inner record as it was; the record of its own new
    // outer headers is filled as they are written, not decoded back.
    expect(t.changed['vxlan-encap']).toBeGreaterThan(0);
    expect(t.decodes['vxlan-encap']).toBe(0);
    expect(t.decodes.egress).toBe(0);
    expect(t.redundant).toEqual({});
    expect(t.recordsChecked).toBeGreaterThan(t.packets);
    expect(t.stale).toEqual([]);
  });

  it('every stage: ingress once, and one decode after each label pop; label push and encap update the record', () => {
    const t = all;
    expect(t.decodes.ingress).toBe(t.packets + t.vxlanAtIngress);
    expect(t.decodes['vxlan-decap']).toBe(0);
    expect(t.decodes['tunnel-key']).toBe(0);
    for (const s of ['mpls-push', 'mpls-pop', 'vxlan-encap']) expect(t.changed[s], s).toBeGreaterThan(0);
    expect(t.decodes['mpls-pop']).toBe(t.changed['mpls-pop']);
    // Labels pushed onto IP packets and new outer headers: the record is updated, never decoded.
    expect(t.decodes['mpls-push']).toBe(0);
    expect(t.decodes['vxlan-encap']).toBe(0);
    expect(t.decodes.egress).toBe(0);
    expect(t.redundant).toEqual({});
    // Every stage and the egress were handed a record that matches the frame as it is.
    expect(t.recordsChecked).toBeGreaterThan(t.packets * 4);
    expect(t.stale).toEqual([]);
    // In all: one decode per packet plus one per label pop, nothing more.
    const total = Object.values(t.decodes).reduce((a, b) => a + b, 0);
    expect(total).toBe(t.packets + t.vxlanAtIngress + t.changed['mpls-pop']!);
  });
});
