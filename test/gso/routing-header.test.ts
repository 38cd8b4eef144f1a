/**
 * IPv6 Routing header: the TCP/UDP pseudo-header uses the final destination (RFC 8200 §8.1), as
 * Linux does for local traffic (socket daddr; ipv6_push_rthdr0/rthdr4 put the first hop in the
 * header) and GSO keeps (tcp_gso_segment only adjusts the length in the checksum).
 */
import { describe, expect, it } from 'vitest';
import { CSUM, GSO } from '../../pipeline/packet.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { fold, pseudoV6, sum16 } from '../../pipeline/wire/checksum.js';
import { parseIp } from '../../pipeline/wire/ip-address.js';
import { pseudoDstV6 } from '../../pipeline/gso/pseudo-dst.js';
import { frame, pattern, pkt, TS_OPTS } from './build.js';
import { runGso } from './run.js';

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const FINAL = '2001:db8:f::99';
const FIRST = '2001:db8::2';
const MID = '2001:db8:e::1';

/** IPv6 + Routing header of `type` with `addrs` (in header order) and Segments Left `left`. */
function withRh(kind: 'tcp' | 'udp', payload: number, type: number, addrs: string[], left: number): Uint8Array {
  const rhLen = 8 + 16 * addrs.length;
  const f = frame({ ip: { v: 6, dst: FIRST, ext: [[43, rhLen]] }, l4: kind === 'tcp' ? { kind: 'tcp', options: TS_OPTS } : { kind: 'udp' }, payload: pattern(payload), csum: kind === 'udp' ? 'partial' : 'zero' });
  const o = 14 + 40;
  f[o + 2] = type;
  f[o + 3] = left;
  f.fill(0, o + 4, o + 8);
  addrs.forEach((a, i) => f.set(parseIp(a)!, o + 8 + 16 * i));
  return f;
}

/** L4 checksum verifies with the pseudo-header destination at `dst` (an address string). */
function verifiesWith(b: Uint8Array, dst: string): boolean {
  const L = new Layers();
  decodeFrame(b, 0, b.length, L);
  const tmp = new Uint8Array(32);
  tmp.set(b.subarray(L.netOff + 8, L.netOff + 24), 0);
  tmp.set(parseIp(dst)!, 16);
  return fold(sum16(b, L.transOff, L.ipEnd, pseudoV6(tmp, 0, 16, L.l4Proto, L.ipEnd - L.transOff))) === 0xffff;
}

describe('IPv6 Routing header: pseudo-header over the final destination', () => {
  it('pseudoDstV6: type 2 → the home address, type 0 → the last address, SRH → Segment List[0], Segments Left 0 → the header', () => {
    const at = (f: Uint8Array) => {
      const L = new Layers();
      decodeFrame(f, 0, f.length, L);
      const o = pseudoDstV6(f, L.netOff, L.transOff);
      return Buffer.from(f.subarray(o, o + 16));
    };
    expect(at(withRh('tcp', 1400, 2, [FINAL], 1))).toEqual(Buffer.from(parseIp(FINAL)!));
    expect(at(withRh('tcp', 1400, 0, [MID, FINAL], 2))).toEqual(Buffer.from(parseIp(FINAL)!));
    expect(at(withRh('tcp', 1400, 4, [FINAL, FIRST], 1))).toEqual(Buffer.from(parseIp(FINAL)!));
    expect(at(withRh('tcp', 1400, 2, [FINAL], 0))).toEqual(Buffer.from(parseIp(FIRST)!));
  });

  it('TCPv6 super-packet with a type 2 header: marked partial over the final destination; every segment verifies with it', () => {
    const d = runGso([pkt(withRh('tcp', 5000, 2, [FINAL], 1))], {}, 'veth', 'driver').out;
    expect(d.length).toBe(1);
    const p = d[0]!;
    expect(p.gsoType).toBe(GSO.TCPV6);
    expect(p.gsoSize).toBe(1500 - 40 - 24 - 32);
    expect(p.csumMode).toBe(CSUM.PARTIAL);
    const b = p.data;
    const t = 14 + 40 + 24;
    const tmp = new Uint8Array(32);
    tmp.set(b.subarray(22, 38), 0);
    tmp.set(parseIp(FINAL)!, 16);
    expect(u16(b, t + 16)).toBe(fold(pseudoV6(tmp, 0, 16, 6, b.length - t)));

    const w = runGso([pkt(withRh('tcp', 5000, 2, [FINAL], 1))], {}, 'none', 'wire').out;
    expect(w.length).toBe(Math.ceil(5000 / (1500 - 40 - 24 - 32)));
    for (const s of w) {
      expect(verifiesWith(s.data, FINAL)).toBe(true);
      expect(verifiesWith(s.data, FIRST)).toBe(false);
    }
  });

  it('UDP GSO with an SRH: every datagram verifies with Segment List[0]', () => {
    const w = runGso([pkt(withRh('udp', 4000, 4, [FINAL, MID], 1))], {}, 'none', 'wire').out;
    expect(w.length).toBeGreaterThan(1);
    for (const s of w) expect(verifiesWith(s.data, FINAL)).toBe(true);
  });

  it('checksum.fix uses the final destination; with Segments Left 0 the header destination', () => {
    const f = withRh('tcp', 200, 0, [MID, FINAL], 2);
    const r = runGso([pkt(f)], { checksum: { fix: true } }, 'none', 'wire').out;
    expect(verifiesWith(r[0]!.data, FINAL)).toBe(true);
    const g = withRh('udp', 200, 2, [FINAL], 0);
    const r2 = runGso([pkt(g)], { checksum: { fix: true } }, 'none', 'wire').out;
    expect(verifiesWith(r2[0]!.data, FIRST)).toBe(true);
  });
});
