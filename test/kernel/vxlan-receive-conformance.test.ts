/**
 * vxlan-decap against Linux's VXLAN receive where it used to differ (test/kernel/scenarios.ts,
 * vxlanDecapReference): each input goes to a real `vxlan external` device one at a time; capflow
 * must deliver the same inner bytes and drop the same inputs, each under the reason the kernel's
 * counters point at.
 *
 * - inner frames behind an 802.1Q / 802.1ad tag get no ECN action under any outer codepoint;
 * - the received metadata, read in the kernel with bpf_skb_get_tunnel_key on vx0 ingress
 *   (tc_bpf.py tunnel-key), equals capflow's field by field, DONT_FRAGMENT included;
 * - `vlans`: a tc BPF program popping the tags of the listed VIDs on the underlay ingress stands
 *   in for VLAN subinterfaces (this kernel has no 802.1Q devices); the others are dropped by the
 *   kernel as PACKET_OTHERHOST (rx otherhost_dropped) and by capflow as `vlan-not-local`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelGate } from '../helpers/kernel-gate.js';
import { destroyAllNetns } from './netns.js';
import { readPcap, vxlanFrame, type VxlanFrameOpts } from './frames.js';
import { REF, decapInner, vxlanDecapReference, type DecapCase, type DecapResult } from './scenarios.js';
import { Packet } from '../../pipeline/packet.js';
import { TUNNEL } from '../../pipeline/metadata.js';
import { vxlanDecap } from '../../stages/vxlan-decap.js';
import { chain, make, withVlan } from '../stages/vxlan-frames.js';

const gate = kernelGate();

const V4: VxlanFrameOpts = { underlay: 'ipv4', srcMac: REF.macA, dstMac: REF.macB, src: REF.underlayA4, dst: REF.underlayB4, vni: 1, sport: 50000, ttl: 64, id: 0x4d00 };
const V6: VxlanFrameOpts = { underlay: 'ipv6', srcMac: REF.macA, dstMac: REF.macB, src: REF.underlayA6, dst: REF.underlayB6, vni: 1, sport: 50001, ttl: 64, udpCsum: 'valid' };

/**
 * Run every case through vxlan-decap and compare with the kernel: delivered bytes, or the drop
 * reason `reasons[name]` for the cases the kernel dropped (with the counter that shows it).
 */
function compare(res: DecapResult, options: Record<string, unknown>, reasons: Record<string, { reason: string; counter: string }>): Packet[] {
  const delivered = readPcap(res.deliveredPcap).records.map((r) => r.data);
  const inputs = readPcap(res.inputPcap).records.map((r) => r.data);
  const stage = make(vxlanDecap, { localMac: res.vxMac, ...options });
  const out: Packet[] = [];
  for (const c of res.cases) {
    const r = chain([stage], Packet.fromBytes(inputs[c.index]!));
    if (c.delivered) {
      expect(r.drops, c.name).toEqual([]);
      expect(Buffer.from(r.out[0]!.data).toString('hex'), c.name).toBe(delivered[c.deliveredIndex!]!.toString('hex'));
      out.push(r.out[0]!);
    } else {
      const want = reasons[c.name];
      expect(want, `the kernel dropped ${c.name} (${JSON.stringify(c.counters)})`).toBeDefined();
      expect(r.drops, c.name).toEqual([want!.reason]);
      expect(c.counters[want!.counter], `${c.name}: ${JSON.stringify(c.counters)}`).toBe(1);
    }
  }
  expect(out.length).toBe(delivered.length);
  return out;
}

describe.skipIf(gate.skip)(`vxlan-decap vs the kernel: tagged inner frames, DF metadata, VLAN subinterfaces${gate.label}`, () => {
  let dir = '';
  beforeAll(() => {
    gate.assertReady();
    dir = mkdtempSync(join(tmpdir(), 'capflow-vxrecv-'));
  });
  afterAll(() => {
    destroyAllNetns();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('VLAN-tagged inner frames: no ECN action under any outer codepoint, no inner IP length check', async () => {
    let t = 0;
    const inner = (o: { family?: 4 | 6; ecn?: number } = {}) => decapInner({ ...o, tag: ++t });
    const cases: DecapCase[] = [];
    const sentInner = new Map<string, Buffer>();
    const add = (name: string, outer: VxlanFrameOpts, frame: Buffer) => {
      sentInner.set(name, frame);
      cases.push({ name, frame: vxlanFrame(outer, frame) });
    };
    // Outer ECT(1) and CE are the codepoints that act on an untagged frame; 0 and ECT(0) never do.
    for (const outer of [1, 3]) {
      for (const ecn of [0, 1, 2, 3]) add(`q-outer${outer}-inner${ecn}-v4`, { ...V4, tos: 0x20 | outer }, withVlan(inner({ ecn }), 10));
      add(`q-outer${outer}-notect-v6`, { ...V6, tos: 0x20 | outer }, withVlan(inner({ family: 6, ecn: 0 }), 10));
      add(`q-outer${outer}-ect0-v6`, { ...V6, tos: 0x20 | outer }, withVlan(inner({ family: 6, ecn: 2 }), 10));
      add(`ad-outer${outer}-notect-v4`, { ...V4, tos: 0x20 | outer }, withVlan(inner({ ecn: 0 }), 10, 0x88a8));
      add(`ad-outer${outer}-ect0-v4`, { ...V4, tos: 0x20 | outer }, withVlan(inner({ ecn: 2 }), 10, 0x88a8));
    }
    add('q-outer0-notect-v4', { ...V4, tos: 0x20 }, withVlan(inner({ ecn: 0 }), 10));
    add('q-outer2-ect0-v4', { ...V4, tos: 0x22 }, withVlan(inner({ ecn: 2 }), 10));
    add('qinq-ce-over-notect', { ...V4, tos: 0x03 }, withVlan(withVlan(inner({ ecn: 0 }), 20), 30, 0x88a8));
    add('qinq-ce-over-ect0', { ...V4, tos: 0x03 }, withVlan(withVlan(inner({ ecn: 2 }), 20), 30, 0x88a8));
    add('tagged-ipv4-truncated', V4, withVlan(inner(), 10).subarray(0, 18 + 12));
    add('tagged-ipv6-truncated', V4, withVlan(inner({ family: 6 }), 10).subarray(0, 18 + 30));
    // Untagged controls: there the ECN rules and the length check do apply.
    add('untagged-ce-over-ect0', { ...V4, tos: 0x03 }, inner({ ecn: 2 }));
    add('untagged-ect1-over-ect0', { ...V4, tos: 0x01 }, inner({ ecn: 2 }));
    add('untagged-ce-over-notect', { ...V4, tos: 0x03 }, inner({ ecn: 0 }));
    add('untagged-ipv4-truncated', V4, inner().subarray(0, 14 + 12));
    const res = await vxlanDecapReference(join(dir, 'tagged'), cases, {}, 'tagged');
    expect(res.cases.filter((c) => !c.delivered).map((c) => c.name)).toEqual(['untagged-ce-over-notect', 'untagged-ipv4-truncated']);
    const out = compare(res, {}, {
      'untagged-ce-over-notect': { reason: 'ecn-ce-on-not-ect', counter: 'vx0.rx.frame_errors' },
      'untagged-ipv4-truncated': { reason: 'vxlan-inner-ip-too-short', counter: 'vx0.rx.length_errors' },
    });
    // Every tagged frame is delivered exactly as sent; the untagged ECT(0) ones were re-marked.
    res.cases.filter((c) => c.delivered).forEach((c, i) => {
      const same = Buffer.from(out[i]!.data).equals(sentInner.get(c.name)!);
      expect(same, c.name).toBe(!c.name.startsWith('untagged'));
    });
  }, 420_000);

  it('received metadata equals the kernel key (bpf_skb_get_tunnel_key): df exactly with outer IPv4 DF, never over IPv6', async () => {
    const inner = (tag: number) => decapInner({ tag });
    const cases: DecapCase[] = [
      { name: 'v4-df', frame: vxlanFrame({ ...V4, df: true }, inner(1)) },
      { name: 'v4-no-df', frame: vxlanFrame({ ...V4, df: false }, inner(2)) },
      { name: 'v4-df-csum-tos-ttl', frame: vxlanFrame({ ...V4, df: true, udpCsum: 'valid', tos: 0xb9, ttl: 9, vni: 0xabcdef }, inner(3)) },
      { name: 'v4-no-df-csum', frame: vxlanFrame({ ...V4, df: false, udpCsum: 'valid', tos: 0x28, ttl: 200, vni: 0 }, inner(4)) },
      { name: 'v6', frame: vxlanFrame({ ...V6, flowLabel: 0x12345, tos: 0x48, ttl: 17 }, inner(5)) },
      { name: 'v6-vni-max', frame: vxlanFrame({ ...V6, vni: 0xffffff, flowLabel: 0 }, inner(6)) },
    ];
    const res = await vxlanDecapReference(join(dir, 'metadata'), cases, { tunnelKey: true }, 'metadata');
    const out = compare(res, {}, {});
    res.cases.forEach((c, i) => {
      const k = c.tunnelKey!;
      expect(k, c.name).toBeDefined();
      expect(k.rc, c.name).toBe(0);
      const t = out[i]!.tunnel!;
      expect({ vni: t.vni, remote: t.srcString(), local: t.dstString(), tos: t.tos, ttl: t.ttl, flags: t.flags, label: t.label, ipv6: t.ipv6 }, c.name).toEqual({
        vni: k.vni,
        remote: k.remote,
        local: k.local,
        tos: k.tos,
        ttl: k.ttl,
        flags: k.flags,
        label: k.label,
        ipv6: k.ipv6,
      });
    });
    const df = res.cases.map((c) => (c.tunnelKey!.flags & TUNNEL.DONT_FRAGMENT) !== 0);
    expect(df).toEqual([true, false, true, false, false, false]);
  }, 420_000);

  it('vlans: listed VIDs, untagged and priority-tagged frames are taken; other VIDs dropped as vlan-not-local (PACKET_OTHERHOST)', async () => {
    let t = 0;
    const f4 = () => vxlanFrame({ ...V4, df: false }, decapInner({ tag: ++t }));
    const f6 = () => vxlanFrame(V6, decapInner({ tag: ++t }));
    const cases: DecapCase[] = [
      { name: 'untagged', frame: f4() },
      { name: 'vid-100', frame: withVlan(f4(), 100) },
      { name: 'vid-300-pcp', frame: withVlan(f4(), 0xa000 | 300) },
      { name: 'vid-200', frame: withVlan(f4(), 200) },
      { name: 'vid-0', frame: withVlan(f4(), 0) },
      { name: 'ad-vid-100', frame: withVlan(f4(), 100, 0x88a8) },
      { name: 'ad-vid-200', frame: withVlan(f4(), 200, 0x88a8) },
      { name: 'vid-0-then-100', frame: withVlan(withVlan(f4(), 100), 0, 0x88a8) },
      { name: 'vid-0-then-200', frame: withVlan(withVlan(f4(), 200), 0, 0x88a8) },
      { name: 'vid-100-then-0', frame: withVlan(withVlan(f4(), 0), 100, 0x88a8) },
      { name: 'vid-100-then-7', frame: withVlan(withVlan(f4(), 7), 100, 0x88a8) },
      { name: 'v6-vid-300', frame: withVlan(f6(), 300) },
      { name: 'v6-vid-4000', frame: withVlan(f6(), 4000) },
    ];
    const res = await vxlanDecapReference(join(dir, 'vlans'), cases, { vlans: [100, 300], tunnelKey: true }, 'vlans');
    const notLocal = ['vid-200', 'ad-vid-200', 'vid-0-then-200', 'vid-100-then-7', 'v6-vid-4000'];
    expect(res.cases.filter((c) => !c.delivered).map((c) => c.name)).toEqual(notLocal);
    const reasons = Object.fromEntries(notLocal.map((n) => [n, { reason: 'vlan-not-local', counter: 'vethB.rx.otherhost' }]));
    const out = compare(res, { vlans: [100, 300] }, reasons);
    // The tag leaves no trace in the metadata: the kernel key and capflow's comment are those of an untagged frame.
    res.cases.filter((c) => c.delivered).forEach((c, i) => {
      expect(c.tunnelKey, c.name).toBeDefined();
      const tt = out[i]!.tunnel!;
      expect(tt.flags, c.name).toBe(c.tunnelKey!.flags);
      expect(tt.toComment(), c.name).toMatch(c.name.startsWith('v6') ? /^tunnel vni=1 src=2001:db8::1 dst=2001:db8::2 tos=0x00 ttl=64 tpSrc=50001 tpDst=4789 label=0x00000 flags=key,csum$/ : /^tunnel vni=1 src=192\.0\.2\.1 dst=192\.0\.2\.2 tos=0x00 ttl=64 tpSrc=50000 tpDst=4789 flags=key$/);
    });
  }, 420_000);
});
