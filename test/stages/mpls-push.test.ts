import { describe, expect, it } from 'vitest';
import { NO_OFFSET, Packet } from '../../pipeline/packet.js';
import { fileURLToPath } from 'node:url';
import { resolvePipeline, parseStageSpec, readPipelineFile } from '../../pipeline/config.js';
import { ConfigError } from '../../pipeline/config-error.js';
import { decodeFrame, Layers, DECODE } from '../../pipeline/decode.js';
import { TunnelInfo } from '../../pipeline/metadata.js';
import { MPLS_PUSH_DROP, mplsPushStage } from '../../stages/mpls-push.js';
import { ARP, IPV4_OPTS_UDP, IPV6_EXT_UDP, MPLS_ICMP, QINQ_UDP, SYN, VLAN_TCP, lse, packet, push, run, runAll, toHex } from './mpls-frames.js';

/** The frame with `insert` (hex) put after the EtherType at `typeOff`, whose value becomes `type`. */
function expected(frame: Uint8Array, typeOff: number, type: string, insert: string): string {
  return toHex(frame.subarray(0, typeOff)) + type + insert + toHex(frame.subarray(typeOff + 2));
}

describe('mpls-push: placement and label stack', () => {
  it('one label on IPv4: EtherType 8847, BoS set, only the L2 prefix moves', () => {
    const pkt = packet(SYN);
    const oldIp = pkt.head + 14;
    const buf = pkt.buf;
    const r = run(push({ labels: [{ label: 100, ttl: 64 }] }), pkt);
    expect(r.drops).toEqual([]);
    expect(r.out).toEqual([pkt]);
    expect(toHex(pkt.data)).toBe(expected(SYN, 12, '8847', lse(100, 0, true, 64)));
    // The payload did not move: same buffer, the IP header is where it was.
    expect(pkt.buf).toBe(buf);
    expect(pkt.tail).toBe(oldIp - 14 + SYN.length);
    expect(pkt.innerNetOff).toBe(oldIp);
    expect(pkt.buf[pkt.innerNetOff]).toBe(0x45);
    expect(pkt.innerProtocol).toBe(0x0800);
    expect(pkt.protocol).toBe(0x8847);
    expect(pkt.netOff).toBe(oldIp - 4);
    expect(pkt.macOff).toBe(pkt.head);
    expect(pkt.origLen).toBe(SYN.length + 4);
    expect(pkt.encapsulation).toBe(false);
  });

  it('several labels on IPv6: first listed is outermost, BoS only on the innermost, per-entry TC/TTL', () => {
    const pkt = packet(IPV6_EXT_UDP);
    run(push({ labels: [{ label: 100, tc: 5, ttl: 'inherit' }, { label: 200, ttl: 10 }, { label: 1048575, tc: 7, ttl: 255 }] }), pkt);
    expect(toHex(pkt.data)).toBe(expected(IPV6_EXT_UDP, 12, '8847', lse(100, 5, false, 64) + lse(200, 0, false, 10) + lse(1048575, 7, true, 255)));
    expect(pkt.innerProtocol).toBe(0x86dd);
    expect(pkt.innerNetOff - pkt.netOff).toBe(12);
    expect(pkt.buf[pkt.innerNetOff]! >>> 4).toBe(6);
  });

  it('one VLAN tag: the tag stays before the label (dst src 8100 TCI 8847 LSE payload)', () => {
    const pkt = packet(VLAN_TCP);
    run(push({ labels: [{ label: 16, ttl: 'inherit' }] }), pkt);
    expect(toHex(pkt.data)).toBe(expected(VLAN_TCP, 16, '8847', lse(16, 0, true, 64)));
    expect(toHex(pkt.data.subarray(12, 20))).toBe('8100606488470001');
    expect(pkt.innerProtocol).toBe(0x0800);
  });

  it('two VLAN tags (QinQ): both tags stay before the label', () => {
    const pkt = packet(QINQ_UDP);
    run(push({ labels: [{ label: 17, ttl: 3 }, { label: 18, ttl: 4 }] }), pkt);
    expect(toHex(pkt.data)).toBe(expected(QINQ_UDP, 20, '8847', lse(17, 0, false, 3) + lse(18, 0, true, 4)));
    expect(toHex(pkt.data.subarray(12, 22))).toBe('88a8000a810000148847');
  });

  it('non-IP (ARP): BoS set, inherit gives 255, innerProtocol remembers 0x0806', () => {
    const pkt = packet(ARP);
    run(push({ labels: [{ label: 1000, ttl: 'inherit' }] }), pkt);
    expect(toHex(pkt.data)).toBe(expected(ARP, 12, '8847', lse(1000, 0, true, 255)));
    expect(pkt.innerProtocol).toBe(0x0806);
  });

  it('multicast: EtherType 0x8848', () => {
    const pkt = packet(SYN);
    run(push({ labels: [{ label: 100, ttl: 64 }], multicast: true }), pkt);
    expect(toHex(pkt.data)).toBe(expected(SYN, 12, '8848', lse(100, 0, true, 64)));
    expect(pkt.protocol).toBe(0x8848);
  });

  it('onto an existing (captured) stack: new entries on top, no BoS, inherit copies the top TTL', () => {
    const pkt = packet(MPLS_ICMP);
    run(push({ labels: [{ label: 300, ttl: 'inherit' }, { label: 301, ttl: 'inherit' }] }), pkt);
    // MPLS_ICMP's top entry: label 100, TC 5, S 0, TTL 64.
    expect(toHex(pkt.data)).toBe(expected(MPLS_ICMP, 12, '8847', lse(300, 0, false, 64) + lse(301, 0, false, 64)));
    // Its payload was guessed once (IPv4 under the old stack) so GSO/pop see the whole stack.
    expect(pkt.innerProtocol).toBe(0x0800);
    expect(pkt.innerNetOff - pkt.netOff).toBe(16);
    const L = new Layers();
    expect(decodeFrame(pkt.buf, pkt.head, pkt.tail, L)).toBe(DECODE.OK);
    expect(L.mplsCount).toBe(4);
    expect(L.netOff).toBe(pkt.innerNetOff);
  });

  it('a second push stage goes on top of the first: BoS only on the first push, inner fields kept', () => {
    const pkt = packet(IPV4_OPTS_UDP);
    const ipAt = pkt.head + 14;
    runAll([push({ labels: [{ label: 10, ttl: 'inherit' }] }), push({ labels: [{ label: 20, ttl: 'inherit' }], multicast: true })], pkt);
    // IPV4_OPTS_UDP has IP TTL 1: the first label copies it, the second copies the first label's.
    expect(toHex(pkt.data)).toBe(expected(IPV4_OPTS_UDP, 12, '8848', lse(20, 0, false, 1) + lse(10, 0, true, 1)));
    expect(pkt.innerProtocol).toBe(0x0800);
    expect(pkt.innerNetOff).toBe(ipAt);
    expect(pkt.netOff).toBe(ipAt - 8);
  });

  it('TTL inherit copies the IPv4 TTL and the IPv6 hop limit', () => {
    const v4 = packet(IPV4_OPTS_UDP);
    run(push({ labels: [{ label: 1, ttl: 'inherit' }] }), v4);
    expect(v4.data[14 + 3]).toBe(1);
    const v6 = IPV6_EXT_UDP.slice();
    v6[14 + 7] = 17; // hop limit
    const p6 = packet(v6);
    run(push({ labels: [{ label: 1, ttl: 'inherit' }] }), p6);
    expect(p6.data[14 + 3]).toBe(17);
  });

  it('headroom exhausted: the packet grows its buffer and offsets follow', () => {
    const buf = SYN.slice();
    const pkt = new Packet(buf, 0, buf.length, buf.length);
    pkt.macOff = 0;
    pkt.transOff = 34;
    run(push({ labels: Array.from({ length: 8 }, (_, i) => ({ label: i + 16, ttl: 9 })) }), pkt);
    const stack = Array.from({ length: 8 }, (_, i) => lse(i + 16, 0, i === 7, 9)).join('');
    expect(toHex(pkt.data)).toBe(expected(SYN, 12, '8847', stack));
    expect(pkt.buf[pkt.innerNetOff]).toBe(0x45);
    expect(pkt.innerNetOff - pkt.head).toBe(14 + 32);
    expect(pkt.transOff - pkt.head).toBe(34 + 32);
    expect(pkt.netOff - pkt.head).toBe(14);
    expect(pkt.macOff).toBe(pkt.head);
  });

  it('writes every byte of the moved prefix and the labels (stale 0xA5 headroom never shows)', () => {
    const pkt = packet(QINQ_UDP);
    pkt.buf.fill(0xa5, 0, pkt.head);
    run(push({ labels: [{ label: 5, ttl: 5 }, { label: 6, ttl: 6 }] }), pkt);
    expect(toHex(pkt.data)).toBe(expected(QINQ_UDP, 20, '8847', lse(5, 0, false, 5) + lse(6, 0, true, 6)));
  });
});

describe('mpls-push: drops and truncated captures', () => {
  it('an encapsulated packet is dropped (mpls-push-encapsulated), like skb_mpls_push', () => {
    const pkt = packet(SYN);
    pkt.encapsulation = true;
    const r = run(push({ labels: [{ label: 100, ttl: 64 }] }), pkt);
    expect(r.out).toEqual([]);
    expect(r.drops).toEqual([MPLS_PUSH_DROP.ENCAPSULATED]);
    expect(MPLS_PUSH_DROP.ENCAPSULATED).toBe('mpls-push-encapsulated');
  });

  it('a frame without a captured EtherType (or VLAN inner EtherType) is dropped as truncated', () => {
    for (const frame of [SYN.subarray(0, 13), VLAN_TCP.subarray(0, 17), QINQ_UDP.subarray(0, 20)]) {
      const r = run(push({ labels: [{ label: 100, ttl: 64 }] }), packet(frame, 60));
      expect(r.drops).toEqual(['truncated']);
    }
  });

  it('snaplen-truncated: push works on the captured headers; origLen grows with the labels', () => {
    const pkt = packet(SYN.subarray(0, 20), SYN.length);
    const r = run(push({ labels: [{ label: 100, ttl: 7 }] }), pkt);
    expect(r.drops).toEqual([]);
    expect(toHex(pkt.data)).toBe(expected(SYN.subarray(0, 20), 12, '8847', lse(100, 0, true, 7)));
    expect(pkt.length).toBe(24);
    expect(pkt.origLen).toBe(SYN.length + 4);
  });

  it('snaplen-truncated: inherit uses the TTL when its byte was captured, else 255 with one warning', () => {
    const withTtl = packet(SYN.subarray(0, 14 + 9), SYN.length);
    const r1 = run(push({ labels: [{ label: 1, ttl: 'inherit' }] }), withTtl);
    expect(withTtl.data[14 + 3]).toBe(64);
    expect(r1.warnings).toEqual([]);

    const stage = push({ labels: [{ label: 1, ttl: 'inherit' }] });
    const r2 = run(stage, packet(SYN.subarray(0, 14 + 8), SYN.length));
    run(stage, packet(SYN.subarray(0, 14), SYN.length), r2);
    run(stage, packet(MPLS_ICMP.subarray(0, 14 + 2), MPLS_ICMP.length), r2);
    expect(r2.out.map((p) => p.data[14 + 3])).toEqual([255, 255, 255]);
    expect(r2.out.map((p) => p.origLen)).toEqual([SYN.length + 4, SYN.length + 4, MPLS_ICMP.length + 4]);
    expect(r2.warnings.length).toBeGreaterThan(0);
    expect(r2.warnings[0]).toMatch(/not captured.*255/);
  });
});

describe('mpls-push: match and rules', () => {
  it('match restricts the push; other packets pass unchanged', () => {
    const stage = push({ match: { ipDst: '10.0.0.2/32', ipProto: 'tcp' }, labels: [{ label: 100, ttl: 64 }] });
    const hit = packet(SYN);
    const miss = packet(QINQ_UDP);
    const v6 = packet(IPV6_EXT_UDP);
    const r = run(stage, hit);
    run(stage, miss, r);
    run(stage, v6, r);
    expect(r.out).toEqual([hit, miss, v6]);
    expect(hit.protocol).toBe(0x8847);
    expect(toHex(miss.data)).toBe(toHex(QINQ_UDP));
    expect(toHex(v6.data)).toBe(toHex(IPV6_EXT_UDP));
    expect(miss.innerProtocol).toBe(0);
  });

  it('rules: first match wins, per-rule stacks and multicast, no match passes', () => {
    const stage = push({
      rules: [
        { match: { vlan: 100 }, labels: [{ label: 1, ttl: 1 }] },
        { match: { ipProto: 'udp' }, labels: [{ label: 2, ttl: 2 }, { label: 3, ttl: 3 }], multicast: true },
        { match: { ipDst: '2001:db8::/32' }, labels: [{ label: 4, ttl: 'inherit' }] },
      ],
    });
    const vlan = packet(VLAN_TCP);
    const udp = packet(QINQ_UDP);
    const v6udp = packet(IPV6_EXT_UDP); // UDP too: rule 2 wins over rule 3
    const syn = packet(SYN);
    const r = run(stage, vlan);
    for (const p of [udp, v6udp, syn]) run(stage, p, r);
    expect(r.out).toEqual([vlan, udp, v6udp, syn]);
    expect(toHex(vlan.data)).toBe(expected(VLAN_TCP, 16, '8847', lse(1, 0, true, 1)));
    expect(toHex(udp.data)).toBe(expected(QINQ_UDP, 20, '8848', lse(2, 0, false, 2) + lse(3, 0, true, 3)));
    expect(toHex(v6udp.data)).toBe(expected(IPV6_EXT_UDP, 12, '8848', lse(2, 0, false, 2) + lse(3, 0, true, 3)));
    expect(toHex(syn.data)).toBe(toHex(SYN));
  });

  it('a rule without match catches everything; match on tunnel metadata works', () => {
    const stage = push({
      rules: [
        { match: { vni: 42 }, labels: [{ label: 42, ttl: 42 }] },
        { labels: [{ label: 7, ttl: 7 }] },
      ],
    });
    const tun = packet(ARP);
    tun.tunnel = new TunnelInfo();
    tun.tunnel.vni = 42;
    const other = packet(ARP);
    const r = run(stage, tun);
    run(stage, other, r);
    expect(tun.data[14 + 3]).toBe(42);
    expect(other.data[14 + 3]).toBe(7);
  });

  it('an encapsulated packet that matches nothing passes; one that matches is dropped', () => {
    const stage = push({ match: { ipProto: 'udp' }, labels: [{ label: 1, ttl: 1 }] });
    const syn = packet(SYN);
    syn.encapsulation = true;
    const udp = packet(QINQ_UDP);
    udp.encapsulation = true;
    const r = run(stage, syn);
    run(stage, udp, r);
    expect(r.out).toEqual([syn]);
    expect(r.drops).toEqual(['mpls-push-encapsulated']);
  });
});

describe('mpls-push: options', () => {
  const bad = (stage: Record<string, unknown>): string => {
    try {
      resolvePipeline({ stages: [{ stage: 'mpls-push', ...stage }] }, 'p.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('defaults: tc 0, multicast false', () => {
    const o = mplsPushStage.options.parse({ labels: [{ label: 5, ttl: 'inherit' }] });
    expect(o).toEqual({ labels: [{ label: 5, tc: 0, ttl: 'inherit' }], multicast: false });
  });

  it('is registered and reachable from a pipeline file and a --stage spec', () => {
    const cfg = resolvePipeline({ stages: [parseStageSpec('mpls-push:labels=[{label: 100, ttl: 64}]'), { stage: 'mpls-pop' }] }, '--stage');
    expect(cfg.stages.slice(0, 2).map((s) => s.name)).toEqual(['mpls-push', 'mpls-pop']);
    expect(cfg.stages[0]!.options).toEqual({ labels: [{ label: 100, tc: 0, ttl: 64 }], multicast: false });
  });

  it('the bundled samples/mpls-*.yaml pipelines validate', () => {
    for (const name of ['mpls-lwtunnel.yaml', 'mpls-push-pop.yaml']) {
      const path = fileURLToPath(new URL(`../../samples/${name}`, import.meta.url));
      const cfg = resolvePipeline(readPipelineFile(path), path);
      expect(cfg.stages.filter((s) => s.name.startsWith('mpls-')).length).toBeGreaterThan(0);
    }
  });

  it('rejects bad labels, TC and TTL with the key path', () => {
    expect(bad({ labels: [{ label: 1048576, ttl: 1 }] })).toMatch(/p\.yaml: stages\[0\]\.labels\[0\]\.label: .*0\.\.1048575/);
    expect(bad({ labels: [{ label: -1, ttl: 1 }] })).toMatch(/labels\[0\]\.label/);
    expect(bad({ labels: [{ label: 1.5, ttl: 1 }] })).toMatch(/labels\[0\]\.label/);
    expect(bad({ labels: [{ label: 1, tc: 8, ttl: 1 }] })).toMatch(/labels\[0\]\.tc: tc is 0\.\.7/);
    for (const ttl of [0, 256, 'copy', 1.5]) expect(bad({ labels: [{ label: 1, ttl }] })).toMatch(/labels\[0\]\.ttl: expected a TTL 1\.\.255 or "inherit"/);
    expect(bad({ labels: [{ label: 1 }] })).toMatch(/labels\[0\]\.ttl/);
    expect(bad({ labels: [{ label: 1, ttl: 1, bos: true }] })).toMatch(/labels\[0\]/);
  });

  it('requires exactly one of labels / rules, and match only with labels', () => {
    expect(bad({})).toMatch(/stages\[0\]\.labels: give "labels"/);
    expect(bad({ labels: [] })).toMatch(/at least one label/);
    expect(bad({ labels: Array.from({ length: 9 }, () => ({ label: 1, ttl: 1 })) })).toMatch(/at most 8 labels/);
    expect(bad({ labels: [{ label: 1, ttl: 1 }], rules: [{ labels: [{ label: 1, ttl: 1 }] }] })).toMatch(/not both/);
    expect(bad({ match: { vlan: 1 }, rules: [{ labels: [{ label: 1, ttl: 1 }] }] })).toMatch(/stages\[0\]\.match: with "rules"/);
    expect(bad({ labels: [{ label: 1, ttl: 1 }], match: { ipDst: 'nope' } })).toMatch(/stages\[0\]\.match\.ipDst/);
    expect(bad({ labels: [{ label: 1, ttl: 1 }], colour: 'red' })).toMatch(/colour/);
  });
});

describe('mpls-push: offsets are consistent for the decoder', () => {
  it('decodeFrame on the result finds the stack at netOff and the payload at innerNetOff', () => {
    const L = new Layers();
    for (const frame of [SYN, VLAN_TCP, QINQ_UDP, IPV6_EXT_UDP]) {
      const pkt = packet(frame);
      run(push({ labels: [{ label: 100, ttl: 64 }, { label: 200, ttl: 64 }] }), pkt);
      expect(decodeFrame(pkt.buf, pkt.head, pkt.tail, L)).toBe(DECODE.OK);
      expect(L.mplsOff).toBe(pkt.netOff);
      expect(L.mplsCount).toBe(2);
      expect(L.netOff).toBe(pkt.innerNetOff);
      expect(L.ethTypeOff).toBe(pkt.netOff - 2);
    }
    expect(NO_OFFSET).toBe(-1);
  });
});
