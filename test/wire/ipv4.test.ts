import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as ipv4 from '../../pipeline/wire/ipv4.js';
import * as checksum from '../../pipeline/wire/checksum.js';
import { CHECK } from '../../pipeline/wire/check.js';
import { IP_PROTO } from '../../pipeline/wire/ip-proto.js';
import { SYN, IPV4_OPTS_UDP, a5, hex, toHex } from './golden-frames.js';

const IP = 14;

describe('ipv4', () => {
  it('deconstruct', () => {
    // Header Length: 20, Total Length: 48, Identification: 0x1234, Flags: DF, TTL: 64,
    // Protocol: TCP (6), Header Checksum: 0x1492 [correct], 10.0.0.1 → 10.0.0.2
    const b = SYN;
    expect(ipv4.check(b, IP, b.length)).toBe(CHECK.OK);
    expect(ipv4.version(b, IP)).toBe(4);
    expect(ipv4.ihl(b, IP)).toBe(5);
    expect(ipv4.headerLen(b, IP)).toBe(20);
    expect(ipv4.tos(b, IP)).toBe(0);
    expect(ipv4.totalLength(b, IP)).toBe(48);
    expect(ipv4.id(b, IP)).toBe(0x1234);
    expect(ipv4.df(b, IP)).toBe(true);
    expect(ipv4.mf(b, IP)).toBe(false);
    expect(ipv4.fragOffset(b, IP)).toBe(0);
    expect(ipv4.isFragment(b, IP)).toBe(false);
    expect(ipv4.ttl(b, IP)).toBe(64);
    expect(ipv4.protocol(b, IP)).toBe(IP_PROTO.TCP);
    expect(ipv4.checksum(b, IP)).toBe(0x1492);
    expect(ipv4.verifyChecksum(b, IP)).toBe(true);
    expect(ipv4.srcAddr(b, IP)).toBe(0x0a000001);
    expect(ipv4.dstAddr(b, IP)).toBe(0x0a000002);
  });

  it('deconstruct with options', () => {
    // Header Length: 24 bytes (6), DSCP/ECN 0xb8, Flags: 0x0, TTL: 1, Router Alert
    const b = IPV4_OPTS_UDP;
    expect(ipv4.check(b, IP, b.length)).toBe(CHECK.OK);
    expect(ipv4.headerLen(b, IP)).toBe(24);
    expect(ipv4.dscp(b, IP)).toBe(46);
    expect(ipv4.ecn(b, IP)).toBe(0);
    expect(ipv4.df(b, IP)).toBe(false);
    expect(ipv4.ttl(b, IP)).toBe(1);
    expect(ipv4.verifyChecksum(b, IP)).toBe(true);
  });

  it('construct', () => {
    const b = SYN.slice(IP, IP + 20);
    ipv4.setTos(b, 0, 0x02);
    ipv4.setTotalLength(b, 0, 1500);
    ipv4.setId(b, 0, 0xbeef);
    ipv4.setDf(b, 0, false);
    ipv4.setMf(b, 0, true);
    ipv4.setFragOffset(b, 0, 185);
    ipv4.setTtl(b, 0, 63);
    ipv4.setProtocol(b, 0, IP_PROTO.UDP);
    ipv4.setSrcAddr(b, 0, 0xc0a80001);
    ipv4.setDstAddr(b, 0, 0xc0a800c7);
    ipv4.fillChecksum(b, 0);
    expect(ipv4.isFragment(b, 0)).toBe(true);
    expect(toHex(b)).toBe('450205dcbeef20b93f11' + toHex(b.subarray(10, 12)) + 'c0a80001c0a800c7');
    expect(ipv4.verifyChecksum(b, 0)).toBe(true);
    ipv4.setChecksum(b, 0, 0);
    expect(ipv4.checksum(b, 0)).toBe(0);
    ipv4.setHeaderLen(b, 0, 24);
    expect(ipv4.ihl(b, 0)).toBe(6);
    ipv4.setFlagsFrag(b, 0, 0x4000);
    expect(ipv4.flagsFrag(b, 0)).toBe(0x4000);
  });

  it('emit writes all 20 bytes and reproduces the golden header', () => {
    const b = a5(22);
    ipv4.emit(b, 1, {
      tos: 0,
      totalLength: 48,
      id: 0x1234,
      df: true,
      ttl: 64,
      protocol: IP_PROTO.TCP,
      src: hex('0a000001'),
      dst: hex('0a000002'),
    });
    expect(toHex(b)).toBe('a5' + toHex(SYN.subarray(IP, IP + 20)) + 'a5');
  });

  it('check: truncation and impossible lengths', () => {
    for (let n = 0; n < 20; n++) expect(ipv4.check(SYN, IP, IP + n)).toBe(CHECK.TRUNCATED);
    const o = IPV4_OPTS_UDP;
    expect(ipv4.check(o, IP, IP + 23)).toBe(CHECK.TRUNCATED);
    const bad = SYN.slice(IP, IP + 20);
    bad[0] = 0x44; // IHL 4
    expect(ipv4.check(bad, 0, 20)).toBe(CHECK.MALFORMED);
    bad[0] = 0x65; // version 6
    expect(ipv4.check(bad, 0, 20)).toBe(CHECK.MALFORMED);
    bad[0] = 0x45;
    ipv4.setTotalLength(bad, 0, 19);
    expect(ipv4.check(bad, 0, 20)).toBe(CHECK.MALFORMED);
    ipv4.setTotalLength(bad, 0, 9000); // longer than captured: a truncated capture, not malformed
    expect(ipv4.check(bad, 0, 20)).toBe(CHECK.OK);
  });

  it('incremental TTL update keeps the checksum valid', () => {
    const b = SYN.slice();
    const old = (b[IP + ipv4.TTL]! << 8) | b[IP + ipv4.PROTOCOL]!;
    ipv4.setTtl(b, IP, ipv4.ttl(b, IP) - 1);
    ipv4.setChecksum(b, IP, checksum.update16(ipv4.checksum(b, IP), old, (b[IP + ipv4.TTL]! << 8) | b[IP + ipv4.PROTOCOL]!));
    expect(ipv4.verifyChecksum(b, IP)).toBe(true);
  });

  it('emit then read back is the identity (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          tos: fc.integer({ min: 0, max: 255 }),
          totalLength: fc.integer({ min: 20, max: 0xffff }),
          id: fc.integer({ min: 0, max: 0xffff }),
          df: fc.boolean(),
          ttl: fc.integer({ min: 0, max: 255 }),
          protocol: fc.integer({ min: 0, max: 255 }),
          src: fc.uint8Array({ minLength: 4, maxLength: 4 }),
          dst: fc.uint8Array({ minLength: 4, maxLength: 4 }),
        }),
        (f) => {
          const b = a5(20);
          ipv4.emit(b, 0, f);
          expect(ipv4.check(b, 0, 20)).toBe(CHECK.OK);
          expect(ipv4.tos(b, 0)).toBe(f.tos);
          expect(ipv4.totalLength(b, 0)).toBe(f.totalLength);
          expect(ipv4.id(b, 0)).toBe(f.id);
          expect(ipv4.df(b, 0)).toBe(f.df);
          expect(ipv4.ttl(b, 0)).toBe(f.ttl);
          expect(ipv4.protocol(b, 0)).toBe(f.protocol);
          expect(toHex(b.subarray(12, 16))).toBe(toHex(f.src));
          expect(toHex(b.subarray(16, 20))).toBe(toHex(f.dst));
          expect(ipv4.verifyChecksum(b, 0)).toBe(true);
        },
      ),
    );
  });
});
