import { describe, expect, it } from 'vitest';
import { tunnelKey } from '../../stages/tunnel-key.js';
import { RuleTable, matchSchema } from '../../pipeline/match.js';
import { TUNNEL, TunnelInfo } from '../../pipeline/metadata.js';
import { resolvePipeline } from '../../pipeline/config.js';
import { arpFrame, innerIcmp4, innerTcp4, innerUdp4, innerUdp6, make, pkt, run, txInfo, withVlan } from './vxlan-frames.js';

const tk = (rules: unknown[]) => make(tunnelKey, { rules });

function table(matches: Record<string, unknown>[]): RuleTable<number> {
  return new RuleTable(matches.map((m, i) => ({ match: matchSchema.parse(m), action: i })));
}

describe('match: every key', () => {
  const p4 = () => pkt(innerUdp4({ src: '10.0.0.1', dst: '198.51.100.7', sport: 1111, dport: 2222 }));
  const cases: [string, Record<string, unknown>, boolean][] = [
    ['empty match', {}, true],
    ['ipDst /24', { ipDst: '198.51.100.0/24' }, true],
    ['ipDst host', { ipDst: '198.51.100.7' }, true],
    ['ipDst other', { ipDst: '198.51.101.0/24' }, false],
    ['ipDst /0', { ipDst: '0.0.0.0/0' }, true],
    ['ipDst odd prefix', { ipDst: '198.51.100.6/31' }, true],
    ['ipDst v6 on v4', { ipDst: '::/0' }, false],
    ['ipSrc', { ipSrc: '10.0.0.0/8' }, true],
    ['ipSrc other', { ipSrc: '10.0.1.0/24' }, false],
    ['ipProto name', { ipProto: 'udp' }, true],
    ['ipProto number', { ipProto: 6 }, false],
    ['ports', { srcPort: 1111, dstPort: 2222 }, true],
    ['dstPort other', { dstPort: 2223 }, false],
    ['ethSrc', { ethSrc: '02:00:00:00:00:11' }, true],
    ['ethDst', { ethDst: '02:00:00:00:00:99' }, true],
    ['ethDst other', { ethDst: '02:00:00:00:00:98' }, false],
    ['vlan on untagged', { vlan: 5 }, false],
    ['vni without metadata', { vni: 1 }, false],
    ['all ANDed', { ipDst: '198.51.100.0/24', ipSrc: '10.0.0.1', ipProto: 17, dstPort: 2222 }, true],
    ['all ANDed, one off', { ipDst: '198.51.100.0/24', ipSrc: '10.0.0.1', ipProto: 17, dstPort: 2 }, false],
  ];
  it.each(cases)('%s', (_n, m, want) => {
    expect(table([m]).lookup(p4())).toBe(want ? 0 : -1);
  });

  it('vlan, IPv6 prefixes, tunnel keys, ICMP has no ports, ARP has no IP', () => {
    expect(table([{ vlan: 5 }]).lookup(pkt(withVlan(innerUdp4(), 5)))).toBe(0);
    expect(table([{ ipDst: 'fd00::/16' }]).lookup(pkt(innerUdp6()))).toBe(0);
    expect(table([{ ipDst: 'fd00::2' }]).lookup(pkt(innerUdp6()))).toBe(0);
    expect(table([{ ipDst: 'fd01::/16' }]).lookup(pkt(innerUdp6()))).toBe(-1);
    expect(table([{ srcPort: 0 }]).lookup(pkt(innerIcmp4()))).toBe(-1);
    expect(table([{ ipProto: 'icmp' }]).lookup(pkt(innerIcmp4()))).toBe(0);
    expect(table([{ ipDst: '0.0.0.0/0' }]).lookup(pkt(arpFrame()))).toBe(-1);
    const p = pkt(innerUdp4());
    p.tunnel = txInfo({ vni: 9, src: '192.0.2.1', dst: '192.0.2.2' });
    expect(table([{ vni: 9, tunnelSrc: '192.0.2.0/24', tunnelDst: '192.0.2.2' }]).lookup(p)).toBe(0);
    expect(table([{ tunnelDst: '2001:db8::/32' }]).lookup(p)).toBe(-1);
  });

  it('first match wins, across indexed and unindexed rules', () => {
    const t = table([{ ipDst: '198.51.100.0/24', dstPort: 9 }, { ipProto: 'udp' }, { ipDst: '198.51.100.7' }, {}]);
    const p = pkt(innerUdp4({ dst: '198.51.100.7', dport: 2222 }));
    expect(t.lookup(p)).toBe(1);
    const t2 = table([{ ipDst: '198.51.0.0/16' }, { ipDst: '198.51.100.0/24' }, {}]);
    expect(t2.lookup(p)).toBe(0);
    const t3 = table([{ ipDst: '198.51.100.7' }, { ipDst: '198.51.0.0/16' }]);
    expect(t3.lookup(p)).toBe(0);
    const t4 = table([{ ipProto: 'tcp' }, { ipDst: '198.51.100.0/25' }, { ipDst: '198.51.0.0/16' }, {}]);
    expect(t4.lookup(p)).toBe(1);
  });

  it('a table of thousands of prefixes (the trie grows its node arrays) finds the first match', () => {
    // 3,000 rules: /24s of 10.a.b.0 and, every seventh, a /32 inside the /24 listed after it.
    const ms: Record<string, unknown>[] = [];
    for (let i = 0; i < 3000; i++) {
      const a = (i >> 8) & 0xff;
      const b = i & 0xff;
      const m = i % 7 === 0 ? { ipDst: `10.${a}.${b}.9` } : { ipDst: `10.${a}.${b}.0/24` };
      ms.push(m);
    }
    const t = table(ms);
    for (let i = 0; i < 3000; i += 13) {
      const a = (i >> 8) & 0xff;
      const b = i & 0xff;
      for (const host of [9, 10]) {
        const p = pkt(innerUdp4({ dst: `10.${a}.${b}.${host}` }));
        // Rule i is the only one for 10.a.b.*: a /32 of .9 every seventh rule, else the /24.
        expect(t.lookup(p)).toBe(i % 7 === 0 ? (host === 9 ? i : -1) : i);
      }
    }
  });

  it('matches a linear scan on random rule sets (indexing changes nothing but speed)', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 20; round++) {
      const ms: Record<string, unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        const m: Record<string, unknown> = {};
        if (rnd(2)) m.ipDst = `10.${rnd(2)}.${rnd(4)}.${rnd(4) * 64}/${[8, 16, 24, 26, 32][rnd(5)]}`;
        if (rnd(4) === 0) m.ipProto = rnd(2) ? 'udp' : 'tcp';
        if (rnd(4) === 0) m.dstPort = 2222 + rnd(2);
        ms.push(m);
      }
      const t = table(ms);
      for (let k = 0; k < 30; k++) {
        const dst = `10.${rnd(2)}.${rnd(4)}.${rnd(256)}`;
        const p = rnd(2) ? pkt(innerUdp4({ dst, dport: 2222 + rnd(2) })) : pkt(innerTcp4({ dst, dport: 2222 + rnd(2) }));
        const linear = ms.findIndex((m) => table([m]).lookup(p) === 0);
        expect(t.lookup(p)).toBe(linear);
      }
    }
  });

  it('matches a linear scan when addresses repeat (the per-address cache) and rules differ in other keys', () => {
    let seed = 777;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 10; round++) {
      // Nested prefixes down to /0 and /32 over a few addresses, with port and protocol keys on some.
      const ms: Record<string, unknown>[] = [];
      for (let i = 0; i < 30; i++) {
        const m: Record<string, unknown> = {};
        const len = [0, 1, 8, 16, 23, 24, 25, 31, 32][rnd(9)]!;
        if (rnd(4)) m.ipDst = `203.0.${112 + rnd(2)}.${rnd(4)}/${len}`;
        if (rnd(3) === 0) m.ipProto = rnd(2) ? 'udp' : 'tcp';
        if (rnd(3) === 0) m.dstPort = 2222 + rnd(2);
        ms.push(m);
      }
      const t = table(ms);
      // Few addresses, many packets: most lookups hit the cache; the answers still depend on each packet's ports and protocol.
      for (let k = 0; k < 400; k++) {
        const dst = `203.0.${112 + rnd(2)}.${rnd(6)}`;
        const p = rnd(2) ? pkt(innerUdp4({ dst, dport: 2222 + rnd(2) })) : pkt(innerTcp4({ dst, dport: 2222 + rnd(2) }));
        const linear = ms.findIndex((m) => table([m]).lookup(p) === 0);
        expect(t.lookup(p), `${dst} ${JSON.stringify(ms)}`).toBe(linear);
      }
    }
  });

  it('addresses that share a cache slot each get their own rules', () => {
    // 5,000 distinct /32 rules and lookups of each twice, in two passes: the 1,024-slot cache
    // holds many addresses per slot over the run, each must replace the one before.
    const ms: Record<string, unknown>[] = [];
    for (let i = 0; i < 5000; i++) ms.push({ ipDst: `10.${i >> 8}.${i & 0xff}.1` });
    ms.push({ ipDst: '10.0.0.0/8' });
    const t = table(ms);
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < 5000; i += 7) {
        expect(t.lookup(pkt(innerUdp4({ dst: `10.${i >> 8}.${i & 0xff}.1` })))).toBe(i);
        expect(t.lookup(pkt(innerUdp4({ dst: `10.${i >> 8}.${i & 0xff}.2` })))).toBe(5000);
      }
    }
    expect(t.lookup(pkt(innerUdp4({ dst: '11.0.0.1' })))).toBe(-1);
  });

  it('schema errors are helpful', () => {
    expect(() => matchSchema.parse({ ipDst: '300.1.1.1/24' })).toThrow(/prefix/);
    expect(() => matchSchema.parse({ ipDst: '10.0.0.0/33' })).toThrow(/prefix/);
    expect(() => matchSchema.parse({ ethSrc: '02:00' })).toThrow(/MAC/);
    expect(() => matchSchema.parse({ ipProto: 'sctp' })).toThrow(/protocol/);
    expect(() => matchSchema.parse({ port: 1 })).toThrow();
  });
});

describe('tunnel-key stage', () => {
  it('set creates metadata (TX key) from scratch', () => {
    const p = pkt(innerUdp4({ dst: '198.51.100.7' }));
    const r = run(tk([{ match: { ipDst: '198.51.100.0/24' }, set: { vni: 42, dst: '192.0.2.2', ttl: 0, tos: 0, csum: false } }]), p);
    expect(r.out).toEqual([p]);
    const t = p.tunnel!;
    expect(t.toComment()).toBe('tunnel vni=42 src=0.0.0.0 dst=192.0.2.2 tos=0x00 ttl=0 tpSrc=0 tpDst=0 flags=key mode=tx');
    expect(TunnelInfo.fromComment(t.toComment())!.tx).toBe(true);
  });

  it('modify merges into existing metadata without mutating the shared object; every field', () => {
    const rx = txInfo({ vni: 1, src: '192.0.2.1', dst: '192.0.2.2', tos: 4, ttl: 5 });
    rx.tx = false;
    const p = pkt(innerUdp4());
    p.tunnel = rx;
    run(tk([{ modify: { vni: 7, tos: 0x28, ttl: 9, tpSrc: 1, tpDst: 2, csum: true, df: true, label: 3, gbp: 0x10 } }]), p);
    const t = p.tunnel!;
    expect(rx.vni).toBe(1);
    expect(t.vni).toBe(7);
    expect(t.srcString()).toBe('192.0.2.1');
    expect([t.tos, t.ttl, t.tpSrc, t.tpDst, t.label, t.gbp]).toEqual([0x28, 9, 1, 2, 3, 0x10]);
    expect(t.flags).toBe(TUNNEL.KEY | TUNNEL.CSUM | TUNNEL.DONT_FRAGMENT | TUNNEL.VXLAN_OPT);
    expect(t.tx).toBe(true);
    run(tk([{ modify: { csum: false, df: false, gbp: 0 } }]), p);
    expect(p.tunnel!.flags).toBe(TUNNEL.KEY);
  });

  it('set replaces received metadata by a fresh TX key (tc tunnel_key set): nothing of the RX key leaks', () => {
    const rx = txInfo({ vni: 1, src: '192.0.2.1', dst: '192.0.2.2', tos: 4, ttl: 5 });
    rx.tx = false;
    rx.tpSrc = 50000;
    rx.flags |= TUNNEL.CSUM;
    const p = pkt(innerUdp4());
    p.tunnel = rx;
    const stage = tk([{ set: { vni: 7, dst: '203.0.113.9' } }]);
    run(stage, p);
    const t = p.tunnel!;
    expect(rx.vni).toBe(1);
    expect([t.vni, t.srcString(), t.dstString(), t.tos, t.ttl, t.tpSrc, t.tpDst, t.flags, t.tx]).toEqual([7, '0.0.0.0', '203.0.113.9', 0, 0, 0, 0, TUNNEL.KEY, true]);
    // Every packet of the rule shares the one precompiled key.
    const q = pkt(innerUdp4());
    run(stage, q);
    expect(q.tunnel).toBe(t);
  });

  it('set dst in the other family switches the key family and clears the stale src', () => {
    const p = pkt(innerUdp4());
    p.tunnel = txInfo({ src: '192.0.2.1', dst: '192.0.2.2' });
    run(tk([{ modify: { dst: '2001:db8::2' } }]), p);
    expect(p.tunnel!.ipv6).toBe(true);
    expect(p.tunnel!.srcString()).toBe('::');
    expect(p.tunnel!.dstString()).toBe('2001:db8::2');
  });

  it('unset and drop; no match passes unchanged', () => {
    const p = pkt(innerUdp4());
    p.tunnel = txInfo();
    run(tk([{ match: { ipProto: 'udp' }, unset: true }]), p);
    expect(p.tunnel).toBeNull();
    expect(run(tk([{ match: { ipProto: 'udp' }, drop: true }]), pkt(innerUdp4())).drops).toEqual(['tunnel-key-drop']);
    const q = pkt(innerTcp4());
    const r = run(tk([{ match: { ipProto: 'udp' }, drop: true }]), q);
    expect(r.out).toEqual([q]);
    expect(q.tunnel).toBeNull();
  });

  it('options: exactly one action, same-family src/dst, useful paths in pipeline errors', () => {
    expect(() => tunnelKey.options.parse({ rules: [{ match: {} }] })).toThrow(/exactly one action/);
    expect(() => tunnelKey.options.parse({ rules: [{ set: {}, drop: true }] })).toThrow(/exactly one action/);
    expect(() => tunnelKey.options.parse({ rules: [{ set: { src: '192.0.2.1', dst: '2001:db8::1' } }] })).toThrow(/same address family/);
    expect(() => tunnelKey.options.parse({ rules: [{ set: { vni: 1 << 24 } }] })).toThrow(/VNI/);
    expect(() => tunnelKey.options.parse({ rules: [{ set: { label: 1 << 20 } }] })).toThrow(/flow label/);
    expect(() => resolvePipeline({ stages: [{ stage: 'tunnel-key', rules: [{ match: { ipDst: 'x' }, drop: true }] }] }, 'p.yaml')).toThrow(
      /p\.yaml: stages\[0\]\.rules\[0\]\.match\.ipDst: expected an IPv4 or IPv6 address or prefix/,
    );
  });
});

