import { describe, expect, it } from 'vitest';
import * as icmp from '../../pipeline/wire/icmp.js';
import * as checksum from '../../pipeline/wire/checksum.js';
import { CHECK } from '../../pipeline/wire/check.js';
import { MPLS_ICMP, IPV6_EXT_UDP, hex, toHex } from './golden-frames.js';

describe('icmp', () => {
  const I = 42;
  it('deconstruct', () => {
    // ICMP: Type 8 (Echo request), Code 0, Checksum: 0x081d [correct], id=0x1111, seq=1
    expect(icmp.check(MPLS_ICMP, I, MPLS_ICMP.length)).toBe(CHECK.OK);
    expect(icmp.type(MPLS_ICMP, I)).toBe(icmp.ICMPV4_TYPE.ECHO_REQUEST);
    expect(icmp.code(MPLS_ICMP, I)).toBe(0);
    expect(icmp.checksum(MPLS_ICMP, I)).toBe(0x081d);
    expect(icmp.rest(MPLS_ICMP, I)).toBe(0x11110001);
    expect(icmp.verifyChecksum(MPLS_ICMP, I, 12)).toBe(true);
  });

  it('construct and fillChecksum', () => {
    const b = MPLS_ICMP.slice(I);
    icmp.setType(b, 0, icmp.ICMPV4_TYPE.ECHO_REPLY);
    icmp.setCode(b, 0, 0);
    icmp.fillChecksum(b, 0, 12);
    expect(icmp.checksum(b, 0)).toBe(0x101d);
    icmp.setChecksum(b, 0, 0);
    expect(toHex(b.subarray(0, 4))).toBe('00000000');
  });

  it('ICMPv6 checksum includes the pseudo-header', () => {
    // Echo request 2001:db8::1 → 2001:db8::2 built on the IPv6 golden addresses.
    const b = IPV6_EXT_UDP.slice(0, 14 + 40 + 8);
    const o = 54;
    b.set(hex('8000 0000 1111 0001'), o);
    const pseudo = checksum.pseudoV6(b, 22, 38, 58, 8);
    icmp.fillChecksum(b, o, 8, pseudo);
    expect(icmp.verifyChecksum(b, o, 8, pseudo)).toBe(true);
    expect(icmp.verifyChecksum(b, o, 8, 0)).toBe(false);
  });
});
