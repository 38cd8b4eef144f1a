import { describe, expect, it } from 'vitest';
import * as udp from '../../pipeline/wire/udp.js';
import * as checksum from '../../pipeline/wire/checksum.js';
import { CHECK } from '../../pipeline/wire/check.js';
import { IP_PROTO } from '../../pipeline/wire/ip-proto.js';
import { QINQ_UDP, IPV6_EXT_UDP, a5, toHex } from './golden-frames.js';

// QinQ frame: Ethernet 14 + 2 tags 8 -> IPv4 at 22, UDP at 42.
const IP = 22;
const U = 42;

describe('udp', () => {
  it('deconstruct', () => {
    // UDP 5000 → 40001, Length: 12, Checksum: 0x7743 [correct]
    const b = QINQ_UDP;
    expect(udp.check(b, U, b.length)).toBe(CHECK.OK);
    expect(udp.srcPort(b, U)).toBe(5000);
    expect(udp.dstPort(b, U)).toBe(40001);
    expect(udp.length(b, U)).toBe(12);
    expect(udp.checksum(b, U)).toBe(0x7743);
    const pseudo = checksum.pseudoV4(b, IP + 12, IP + 16, IP_PROTO.UDP, 12);
    expect(udp.verifyChecksum(b, U, 12, pseudo)).toBe(true);
  });

  it('checksum over IPv6', () => {
    const b = IPV6_EXT_UDP;
    const u = b.length - 12;
    const pseudo = checksum.pseudoV6(b, 14 + 8, 14 + 24, IP_PROTO.UDP, 12);
    expect(udp.verifyChecksum(b, u, 12, pseudo)).toBe(true);
    const c = b.slice();
    udp.setChecksum(c, u, 0x1111);
    udp.fillChecksum(c, u, 12, pseudo);
    expect(udp.checksum(c, u)).toBe(0x2fd1);
  });

  it('construct', () => {
    const b = QINQ_UDP.slice(U);
    udp.setSrcPort(b, 0, 49152);
    udp.setDstPort(b, 0, 4789);
    udp.setLength(b, 0, 0x1234);
    udp.setChecksum(b, 0, 0xabcd);
    expect(toHex(b.subarray(0, 8))).toBe('c00012b51234abcd');
  });

  it('emit writes all 8 bytes', () => {
    const b = a5(10);
    udp.emit(b, 1, { srcPort: 5000, dstPort: 40001, length: 12, checksum: 0x7743 });
    expect(toHex(b)).toBe('a5' + '13889c41000c7743' + 'a5');
  });

  it('zero checksum: a computed 0 is written as 0xffff', () => {
    // Payload chosen so the one's-complement sum is 0xffff: the computed checksum is 0.
    const b = new Uint8Array(10);
    udp.emit(b, 0, { srcPort: 0, dstPort: 0, length: 10, checksum: 0 });
    // Sum so far: length 10 (+ pseudo 0). Add payload word 0xffff - 10.
    b[8] = (0xffff - 10) >>> 8;
    b[9] = (0xffff - 10) & 0xff;
    udp.fillChecksum(b, 0, 10, 0);
    expect(udp.checksum(b, 0)).toBe(0xffff);
    expect(udp.verifyChecksum(b, 0, 10, 0)).toBe(true);
  });

  it('check', () => {
    for (let n = 0; n < 8; n++) expect(udp.check(QINQ_UDP, U, U + n)).toBe(CHECK.TRUNCATED);
    const b = QINQ_UDP.slice(U);
    udp.setLength(b, 0, 7);
    expect(udp.check(b, 0, b.length)).toBe(CHECK.MALFORMED);
  });
});
