import { describe, expect, it } from 'vitest';
import * as ethernet from '../../pipeline/wire/ethernet.js';
import * as vlan from '../../pipeline/wire/vlan.js';
import { CHECK } from '../../pipeline/wire/check.js';
import { ETHER_TYPE } from '../../pipeline/wire/ether-type.js';
import { SYN, VLAN_TCP, QINQ_UDP, a5, hex, toHex } from './golden-frames.js';

describe('ethernet', () => {
  it('deconstruct', () => {
    // Ethernet II, Src: 02:00:00:00:00:01, Dst: 02:00:00:00:00:02, Type: IPv4 (0x0800)
    expect(ethernet.check(SYN, 0, SYN.length)).toBe(CHECK.OK);
    expect(ethernet.etherType(SYN, 0)).toBe(ETHER_TYPE.IPV4);
    expect(toHex(SYN.subarray(ethernet.DST, ethernet.DST + 6))).toBe('020000000002');
    expect(toHex(SYN.subarray(ethernet.SRC, ethernet.SRC + 6))).toBe('020000000001');
    expect(ethernet.isMulticastDst(SYN, 0)).toBe(false);
    expect(ethernet.isMulticastDst(hex('ffffffffffff'), 0)).toBe(true);
  });

  it('construct', () => {
    const b = SYN.slice(0, 14);
    ethernet.setEtherType(b, 0, ETHER_TYPE.IPV6);
    ethernet.setDst(b, 0, hex('0a0b0c0d0e0f'));
    ethernet.setSrc(b, 0, hex('ff00112233445566'), 2);
    expect(toHex(b)).toBe('0a0b0c0d0e0f' + '112233445566' + '86dd');
  });

  it('emit writes all 14 bytes', () => {
    const b = a5(16);
    ethernet.emit(b, 1, hex('020000000002'), hex('020000000001'), ETHER_TYPE.TEB);
    expect(toHex(b)).toBe('a5' + '020000000002' + '020000000001' + '6558' + 'a5');
  });

  it('check: truncated below 14 bytes', () => {
    for (let n = 0; n < 14; n++) expect(ethernet.check(SYN, 0, n)).toBe(CHECK.TRUNCATED);
    expect(ethernet.check(SYN, 0, 14)).toBe(CHECK.OK);
    expect(ethernet.check(SYN, 0, SYN.length + 1)).toBe(CHECK.TRUNCATED);
  });
});

describe('vlan', () => {
  it('deconstruct 802.1Q', () => {
    // 802.1Q Virtual LAN, PRI: 3, DEI: 0, ID: 100, Type: IPv4
    const t = 12;
    expect(vlan.check(VLAN_TCP, t, VLAN_TCP.length)).toBe(CHECK.OK);
    expect(vlan.tpid(VLAN_TCP, t)).toBe(ETHER_TYPE.VLAN);
    expect(vlan.isVlanTpid(vlan.tpid(VLAN_TCP, t))).toBe(true);
    expect(vlan.tci(VLAN_TCP, t)).toBe(0x6064);
    expect(vlan.pcp(VLAN_TCP, t)).toBe(3);
    expect(vlan.dei(VLAN_TCP, t)).toBe(false);
    expect(vlan.vid(VLAN_TCP, t)).toBe(100);
    expect(ethernet.etherType(VLAN_TCP, t + vlan.HEADER_LEN - ethernet.ETHER_TYPE)).toBe(ETHER_TYPE.IPV4);
  });

  it('deconstruct QinQ', () => {
    // IEEE 802.1ad, ID: 10; 802.1Q Virtual LAN, PRI: 0, ID: 20
    expect(vlan.tpid(QINQ_UDP, 12)).toBe(ETHER_TYPE.QINQ);
    expect(vlan.vid(QINQ_UDP, 12)).toBe(10);
    expect(vlan.tpid(QINQ_UDP, 16)).toBe(ETHER_TYPE.VLAN);
    expect(vlan.vid(QINQ_UDP, 16)).toBe(20);
    expect(vlan.isVlanTpid(ETHER_TYPE.QINQ_OLD)).toBe(true);
    expect(vlan.isVlanTpid(ETHER_TYPE.IPV4)).toBe(false);
  });

  it('construct', () => {
    const b = hex('81000000');
    vlan.setPcp(b, 0, 7);
    vlan.setDei(b, 0, true);
    vlan.setVid(b, 0, 0xabc);
    expect(toHex(b)).toBe('8100fabc');
    vlan.setDei(b, 0, false);
    vlan.setPcp(b, 0, 0);
    expect(toHex(b)).toBe('81000abc');
    vlan.setTpid(b, 0, ETHER_TYPE.QINQ);
    vlan.setTci(b, 0, 0x1234);
    expect(toHex(b)).toBe('88a81234');
  });

  it('emit writes all 4 bytes', () => {
    const b = a5(6);
    vlan.emit(b, 1, ETHER_TYPE.VLAN, vlan.makeTci(3, false, 100));
    expect(toHex(b)).toBe('a5' + '81006064' + 'a5');
    expect(vlan.makeTci(7, true, 0xfff)).toBe(0xffff);
  });
});
