import { describe, expect, it } from 'vitest';
import * as mpls from '../../pipeline/wire/mpls.js';
import { CHECK } from '../../pipeline/wire/check.js';
import { MPLS_ICMP, a5, hex, toHex } from './golden-frames.js';

describe('mpls', () => {
  const M = 14;
  it('deconstruct', () => {
    // MPLS: Label: 100, Exp: 5, S: 0, TTL: 64; MPLS: Label: 200, Exp: 0, S: 1, TTL: 63
    expect(mpls.check(MPLS_ICMP, M, MPLS_ICMP.length)).toBe(CHECK.OK);
    expect(mpls.label(MPLS_ICMP, M)).toBe(100);
    expect(mpls.tc(MPLS_ICMP, M)).toBe(5);
    expect(mpls.bos(MPLS_ICMP, M)).toBe(false);
    expect(mpls.ttl(MPLS_ICMP, M)).toBe(64);
    expect(mpls.label(MPLS_ICMP, M + 4)).toBe(200);
    expect(mpls.tc(MPLS_ICMP, M + 4)).toBe(0);
    expect(mpls.bos(MPLS_ICMP, M + 4)).toBe(true);
    expect(mpls.ttl(MPLS_ICMP, M + 4)).toBe(63);
    const lse = mpls.readLse(MPLS_ICMP, M);
    expect(lse).toBe(0x00064a40);
    expect([mpls.lseLabel(lse), mpls.lseTc(lse), mpls.lseBos(lse), mpls.lseTtl(lse)]).toEqual([100, 5, false, 64]);
  });

  it('construct', () => {
    const b = hex('00000000');
    mpls.setLabel(b, 0, mpls.MAX_LABEL);
    expect(toHex(b)).toBe('fffff000');
    mpls.setTc(b, 0, 7);
    mpls.setBos(b, 0, true);
    mpls.setTtl(b, 0, 255);
    expect(toHex(b)).toBe('ffffffff');
    mpls.setLabel(b, 0, 0x12345);
    mpls.setTc(b, 0, 2);
    mpls.setBos(b, 0, false);
    expect(toHex(b)).toBe('123454ff');
    expect(mpls.label(b, 0)).toBe(0x12345);
  });

  it('emit / makeLse / writeLse write all 4 bytes', () => {
    const b = a5(10);
    mpls.emit(b, 1, 100, 5, false, 64);
    mpls.writeLse(b, 5, mpls.makeLse(200, 0, true, 63));
    expect(toHex(b)).toBe('a5' + '00064a40' + '000c813f' + 'a5');
    expect(mpls.makeLse(mpls.MAX_LABEL, 7, true, 255)).toBe(0xffffffff);
  });

  it('check', () => {
    for (let n = 0; n < 4; n++) expect(mpls.check(MPLS_ICMP, M, M + n)).toBe(CHECK.TRUNCATED);
  });
});
