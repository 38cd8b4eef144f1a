import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NO_OFFSET, Packet } from '../../pipeline/packet.js';
import { MPLS_POP_DROP, popLabel, POP } from '../../stages/mpls-pop.js';
import type { Stage } from '../../stages/stage.js';
import { ARP, IPV6_EXT_UDP, MPLS_ICMP, QINQ_UDP, SYN, VLAN_TCP, hex, lse, packet, pop, push, run, runAll, toHex } from './mpls-frames.js';

/** MPLS_ICMP without its stack: the plain IPv4 frame under it. */
const ICMP = hex(toHex(MPLS_ICMP.subarray(0, 12)) + '0800' + toHex(MPLS_ICMP.subarray(22)));

describe('mpls-pop', () => {
  it('BoS clear: the EtherType stays MPLS; BoS set: guessed from the first nibble (IPv4)', () => {
    const pkt = packet(MPLS_ICMP);
    const ipAt = pkt.head + 22;
    const r = run(pop(), pkt);
    expect(r.out).toEqual([pkt]);
    expect(toHex(pkt.data)).toBe(toHex(MPLS_ICMP.subarray(0, 12)) + '8847' + toHex(MPLS_ICMP.subarray(18)));
    expect(pkt.protocol).toBe(0x8847);
    expect(pkt.netOff).toBe(ipAt - 4);
    run(pop(), pkt);
    expect(toHex(pkt.data)).toBe(toHex(ICMP));
    expect(pkt.protocol).toBe(0x0800);
    expect(pkt.netOff).toBe(ipAt);
    expect(pkt.macOff).toBe(pkt.head);
    expect(pkt.origLen).toBe(ICMP.length);
    expect(pkt.innerProtocol).toBe(0);
    expect(pkt.innerNetOff).toBe(NO_OFFSET);
  });

  it('BoS set: IPv6 payload guessed as 0x86dd', () => {
    const frame = hex(toHex(IPV6_EXT_UDP.subarray(0, 12)) + '8847' + lse(9, 0, true, 9) + toHex(IPV6_EXT_UDP.subarray(14)));
    const pkt = packet(frame);
    run(pop(), pkt);
    expect(toHex(pkt.data)).toBe(toHex(IPV6_EXT_UDP));
  });

  it('BoS set: the EtherType recorded by mpls-push wins over the guess (ARP)', () => {
    const pkt = runAll([push({ labels: [{ label: 1, ttl: 1 }] }), pop()], packet(ARP));
    expect(toHex(pkt.data)).toBe(toHex(ARP));
    expect(pkt.protocol).toBe(0x0806);
  });

  it('BoS set with an unknown payload and no recorded protocol: dropped (mpls-pop-unknown-payload)', () => {
    const frame = hex(toHex(ARP.subarray(0, 12)) + '8847' + lse(1, 0, true, 1) + toHex(ARP.subarray(14)));
    const r = run(pop(), packet(frame));
    expect(r.out).toEqual([]);
    expect(r.drops).toEqual([MPLS_POP_DROP.UNKNOWN_PAYLOAD]);
    expect(MPLS_POP_DROP.UNKNOWN_PAYLOAD).toBe('mpls-pop-unknown-payload');
  });

  it('VLAN-tagged MPLS: the EtherType after the tags is rewritten, the tags stay', () => {
    const pushed = runAll([push({ labels: [{ label: 1, ttl: 1 }, { label: 2, ttl: 2 }] })], packet(QINQ_UDP));
    pushed.innerProtocol = 0; // forget: pop must guess
    const pkt = runAll([pop(), pop()], pushed);
    expect(toHex(pkt.data)).toBe(toHex(QINQ_UDP));
  });

  it('0x8848 stays 0x8848 while BoS is clear', () => {
    const frame = hex(toHex(MPLS_ICMP.subarray(0, 12)) + '8848' + toHex(MPLS_ICMP.subarray(14)));
    const pkt = runAll([pop()], packet(frame));
    expect(toHex(pkt.data.subarray(12, 14))).toBe('8848');
  });

  it('non-MPLS packets pass unchanged', () => {
    for (const f of [SYN, VLAN_TCP, QINQ_UDP, ARP, SYN.subarray(0, 10)]) {
      const pkt = packet(f);
      const r = run(pop(), pkt);
      expect(r.out).toEqual([pkt]);
      expect(toHex(pkt.data)).toBe(toHex(f));
    }
  });

  it('truncated: the top entry, or the payload byte a guess needs, not captured → dropped as truncated', () => {
    expect(run(pop(), packet(MPLS_ICMP.subarray(0, 17), MPLS_ICMP.length)).drops).toEqual(['truncated']);
    const bosOnly = hex(toHex(MPLS_ICMP.subarray(0, 12)) + '8847' + lse(1, 0, true, 1));
    expect(run(pop(), packet(bosOnly, 60)).drops).toEqual(['truncated']);
    // With a recorded protocol the payload byte is not needed.
    const pkt = runAll([push({ labels: [{ label: 1, ttl: 1 }] })], packet(SYN.subarray(0, 14), SYN.length));
    expect(popLabel(pkt)).toBe(POP.DONE);
    expect(toHex(pkt.data)).toBe(toHex(SYN.subarray(0, 14)));
    expect(pkt.origLen).toBe(SYN.length);
  });
});

// ---------------------------------------------------------------------------------------------
// push then pop (as many times as pushed) gives the original bytes back

const TPIDS = [0x8100, 0x88a8, 0x9100];

/** A random Ethernet frame: 0-2 VLAN tags, then IPv4 / IPv6 / ARP / other / an MPLS stack. */
const frameArb = fc
  .record({
    macs: fc.uint8Array({ minLength: 12, maxLength: 12 }),
    tags: fc.array(fc.record({ tpid: fc.constantFrom(...TPIDS), tci: fc.integer({ min: 0, max: 0xffff }) }), { maxLength: 2 }),
    kind: fc.constantFrom('ipv4', 'ipv6', 'arp', 'other', 'mpls', 'mpls-mc'),
    ttl: fc.integer({ min: 0, max: 255 }),
    stack: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 3 }),
    body: fc.uint8Array({ minLength: 0, maxLength: 80 }),
  })
  .map(({ macs, tags, kind, ttl, stack, body }) => {
    const b: number[] = [...macs];
    for (const t of tags) b.push(t.tpid >> 8, t.tpid & 0xff, t.tci >> 8, t.tci & 0xff);
    const type = { ipv4: 0x0800, ipv6: 0x86dd, arp: 0x0806, other: 0x88b5, mpls: 0x8847, 'mpls-mc': 0x8848 }[kind];
    b.push(type >> 8, type & 0xff);
    if (kind === 'ipv4') b.push(0x45, 0, 0, 20 + body.length, 0, 0, 0, 0, ttl, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2);
    if (kind === 'ipv6') b.push(0x60, 0, 0, 0, 0, body.length, 17, ttl, ...new Array<number>(32).fill(0x20));
    if (kind === 'mpls' || kind === 'mpls-mc') {
      stack.forEach((e, i) => {
        const v = i === stack.length - 1 ? (e | 0x100) >>> 0 : (e & ~0x100) >>> 0;
        b.push(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
      });
      b.push(0x45); // IPv4-looking payload
    }
    b.push(...body);
    return { frame: Uint8Array.from(b), kind, ttl, mpls: kind.startsWith('mpls') };
  });

const labelArb = fc.record({
  label: fc.integer({ min: 0, max: 0xfffff }),
  tc: fc.integer({ min: 0, max: 7 }),
  ttl: fc.oneof(fc.integer({ min: 1, max: 255 }), fc.constant('inherit' as const)),
});
/** One to three push stages of 1-8 labels each. */
const pushesArb = fc.array(fc.record({ labels: fc.array(labelArb, { minLength: 1, maxLength: 8 }), multicast: fc.boolean() }), { minLength: 1, maxLength: 3 });

describe('mpls push/pop round trip (property)', () => {
  it('pushing then popping as many labels gives the original bytes back; payload never moves', () => {
    fc.assert(
      fc.property(frameArb, pushesArb, fc.integer({ min: 0, max: 40 }), ({ frame, mpls }, pushes, headroom) => {
        const buf = new Uint8Array(headroom + frame.length).fill(0xa5);
        buf.set(frame, headroom);
        const pkt = new Packet(buf, headroom, headroom + frame.length, frame.length);
        pkt.macOff = headroom;
        // On an MPLS packet a multicast push would change the (kept) EtherType for good: push
        // with the packet's own kind there (the kernel's pop, too, keeps the EtherType it is told).
        const stages: Stage[] = pushes.map((p) => push(mpls ? { labels: p.labels, multicast: isMc(frame) } : p));
        let p = runAll(stages, pkt);
        const total = pushes.reduce((n, x) => n + x.labels.length, 0);
        // The bytes after the original EtherType sit at the same offsets as before (only the L2 prefix moved).
        const payloadAt = p.tail - (frame.length - typeEnd(frame));
        expect(toHex(p.buf.subarray(payloadAt, p.tail))).toBe(toHex(frame.subarray(typeEnd(frame))));
        expect(p.length).toBe(frame.length + 4 * total);
        expect(p.origLen).toBe(frame.length + 4 * total);
        // BoS exactly once in the pushed entries when the frame was not MPLS, never otherwise.
        const top = p.netOff;
        let bosCount = 0;
        for (let i = 0; i < total; i++) if ((p.buf[top + 4 * i + 2]! & 1) !== 0) bosCount++;
        expect(bosCount).toBe(mpls ? 0 : 1);
        const pops = Array.from({ length: total }, () => pop());
        p = runAll(pops, p);
        expect(toHex(p.data)).toBe(toHex(frame));
        expect(p.origLen).toBe(frame.length);
        if (!mpls) {
          expect(p.innerProtocol).toBe(0);
          expect(p.netOff).toBe(p.head + typeEnd(frame));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('TTL inherit: IP TTL / hop limit, 255 for non-IP, top label TTL on a stack', () => {
    fc.assert(
      fc.property(frameArb, ({ frame, kind, ttl }) => {
        const p = runAll([push({ labels: [{ label: 1, ttl: 'inherit' }] })], packet(frame));
        const at = typeEnd(frame);
        const expectTtl = kind === 'ipv4' || kind === 'ipv6' ? ttl : kind.startsWith('mpls') ? frame[at + 3]! : 255;
        expect(p.buf[p.netOff + 3]).toBe(expectTtl);
      }),
      { numRuns: 200 },
    );
  });
});

/** Offset just after the EtherType that follows the VLAN tags. */
function typeEnd(frame: Uint8Array): number {
  let o = 12;
  while ([0x8100, 0x88a8, 0x9100].includes((frame[o]! << 8) | frame[o + 1]!)) o += 4;
  return o + 2;
}

function isMc(frame: Uint8Array): boolean {
  const o = typeEnd(frame) - 2;
  return ((frame[o]! << 8) | frame[o + 1]!) === 0x8848;
}
