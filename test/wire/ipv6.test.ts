import { describe, expect, it } from 'vitest';
import * as ipv6 from '../../pipeline/wire/ipv6.js';
import { CHECK } from '../../pipeline/wire/check.js';
import { IP_PROTO } from '../../pipeline/wire/ip-proto.js';
import { IPV6_EXT_UDP, a5, hex, toHex } from './golden-frames.js';

const IP = 14;
const S6 = hex('20010db8000000000000000000000001');
const D6 = hex('20010db8000000000000000000000002');

describe('ipv6', () => {
  it('deconstruct', () => {
    // Traffic Class: 0x2e, Flow Label: 0x12345, Payload Length: 52, Next Header: Hop-by-Hop (0),
    // Hop Limit: 64, 2001:db8::1 → 2001:db8::2
    const b = IPV6_EXT_UDP;
    expect(ipv6.check(b, IP, b.length)).toBe(CHECK.OK);
    expect(ipv6.version(b, IP)).toBe(6);
    expect(ipv6.trafficClass(b, IP)).toBe(0x2e);
    expect(ipv6.flowLabel(b, IP)).toBe(0x12345);
    expect(ipv6.payloadLength(b, IP)).toBe(52);
    expect(ipv6.nextHeader(b, IP)).toBe(IP_PROTO.HOPOPTS);
    expect(ipv6.hopLimit(b, IP)).toBe(64);
    expect(toHex(b.subarray(IP + ipv6.SRC_ADDR, IP + ipv6.SRC_ADDR + 16))).toBe(toHex(S6));
    expect(toHex(b.subarray(IP + ipv6.DST_ADDR, IP + ipv6.DST_ADDR + 16))).toBe(toHex(D6));
  });

  it('deconstruct extension headers', () => {
    // Hop-by-Hop: Next Header: Routing (43), Length: 0 [8 bytes]
    // Routing: Next Header: Fragment (44), Length: 2 [24 bytes]
    // Fragment: Next header: UDP (17), Offset: 0, M: 0, Identification: 0xdeadbeef
    const b = IPV6_EXT_UDP;
    let o = IP + ipv6.HEADER_LEN;
    expect(ipv6.isExtHeader(IP_PROTO.HOPOPTS)).toBe(true);
    expect(ipv6.extNextHeader(b, o)).toBe(IP_PROTO.ROUTING);
    expect(ipv6.extHeaderLen(b, o, IP_PROTO.HOPOPTS)).toBe(8);
    o += 8;
    expect(ipv6.extNextHeader(b, o)).toBe(IP_PROTO.FRAGMENT);
    expect(ipv6.extHeaderLen(b, o, IP_PROTO.ROUTING)).toBe(24);
    o += 24;
    expect(ipv6.extNextHeader(b, o)).toBe(IP_PROTO.UDP);
    expect(ipv6.extHeaderLen(b, o, IP_PROTO.FRAGMENT)).toBe(8);
    expect(ipv6.fragOffset(b, o)).toBe(0);
    expect(ipv6.fragMore(b, o)).toBe(false);
    expect(ipv6.fragId(b, o)).toBe(0xdeadbeef);
    expect(ipv6.isExtHeader(IP_PROTO.UDP)).toBe(false);
    expect(ipv6.isExtHeader(IP_PROTO.ESP)).toBe(false);
    // AH: Payload Len in 4-byte units minus 2 (len 4 -> 24 bytes).
    expect(ipv6.extHeaderLen(hex('3b04'), 0, IP_PROTO.AH)).toBe(24);
  });

  it('fragment header fields', () => {
    // Offset: 185 (1480 bytes), M: 1
    const f = hex('11 00 05c9 00000001');
    expect(ipv6.fragOffset(f, 0)).toBe(185);
    expect(ipv6.fragMore(f, 0)).toBe(true);
    ipv6.setExtNextHeader(f, 0, IP_PROTO.TCP);
    expect(ipv6.extNextHeader(f, 0)).toBe(IP_PROTO.TCP);
  });

  it('construct', () => {
    const b = IPV6_EXT_UDP.slice(IP, IP + 40);
    ipv6.setTrafficClass(b, 0, 0xfd);
    ipv6.setFlowLabel(b, 0, 0xabcde);
    ipv6.setPayloadLength(b, 0, 1460);
    ipv6.setNextHeader(b, 0, IP_PROTO.TCP);
    ipv6.setHopLimit(b, 0, 1);
    ipv6.setSrcAddr(b, 0, D6);
    ipv6.setDstAddr(b, 0, S6);
    expect(toHex(b.subarray(0, 8))).toBe('6fdabcde05b40601');
    expect(ipv6.trafficClass(b, 0)).toBe(0xfd);
    expect(ipv6.flowLabel(b, 0)).toBe(0xabcde);
    expect(toHex(b.subarray(8, 40))).toBe(toHex(D6) + toHex(S6));
  });

  it('emit writes all 40 bytes', () => {
    const b = a5(42);
    ipv6.emit(b, 1, { trafficClass: 0x2e, flowLabel: 0x12345, payloadLength: 52, nextHeader: 0, hopLimit: 64, src: S6, dst: D6 });
    expect(toHex(b)).toBe('a5' + toHex(IPV6_EXT_UDP.subarray(IP, IP + 40)) + 'a5');
  });

  it('check', () => {
    for (let n = 0; n < 40; n++) expect(ipv6.check(IPV6_EXT_UDP, IP, IP + n)).toBe(CHECK.TRUNCATED);
    const b = IPV6_EXT_UDP.slice(IP, IP + 40);
    b[0] = 0x45;
    expect(ipv6.check(b, 0, 40)).toBe(CHECK.MALFORMED);
  });
});
