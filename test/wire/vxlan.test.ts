import { describe, expect, it } from 'vitest';
import * as vxlan from '../../pipeline/wire/vxlan.js';
import { CHECK } from '../../pipeline/wire/check.js';
import { VXLAN, a5, hex, toHex } from './golden-frames.js';

describe('vxlan', () => {
  const V = 42;
  it('deconstruct', () => {
    // VXLAN: Flags: 0x0800 (VNI valid), Group Policy ID: 0, VNI: 1193046 (0x123456)
    expect(vxlan.check(VXLAN, V, VXLAN.length)).toBe(CHECK.OK);
    expect(vxlan.word0(VXLAN, V)).toBe(vxlan.FLAG_I);
    expect(vxlan.hasVni(VXLAN, V)).toBe(true);
    expect(vxlan.vni(VXLAN, V)).toBe(0x123456);
    expect(vxlan.word1(VXLAN, V)).toBe(0x12345600);
    expect(vxlan.policyId(VXLAN, V)).toBe(0);
  });

  it('construct', () => {
    const b = hex('08000000 123456aa');
    vxlan.setVni(b, 0, 0xfedcba);
    expect(toHex(b)).toBe('08000000fedcbaaa');
    vxlan.setWord0(b, 0, (vxlan.FLAG_G | vxlan.FLAG_I | vxlan.FLAG_D | vxlan.FLAG_A | 0x1234) >>> 0);
    expect(toHex(b.subarray(0, 4))).toBe('88481234');
    expect(vxlan.policyId(b, 0)).toBe(0x1234);
    vxlan.setWord1(b, 0, 0xffffffff);
    expect(vxlan.vni(b, 0)).toBe(vxlan.MAX_VNI);
  });

  it('emit writes all 8 bytes (plain and GBP)', () => {
    const b = a5(10);
    vxlan.emit(b, 1, 0x123456);
    expect(toHex(b)).toBe('a5' + '0800000012345600' + 'a5');
    vxlan.emit(b, 1, 0x1ffffff, (vxlan.FLAG_G | 0x00ff) >>> 0);
    expect(toHex(b)).toBe('a5' + '880000ffffffff00' + 'a5');
  });

  it('check', () => {
    for (let n = 0; n < 8; n++) expect(vxlan.check(VXLAN, V, V + n)).toBe(CHECK.TRUNCATED);
  });
});
