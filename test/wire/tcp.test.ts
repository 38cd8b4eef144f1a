import { describe, expect, it } from 'vitest';
import * as tcp from '../../pipeline/wire/tcp.js';
import * as checksum from '../../pipeline/wire/checksum.js';
import { CHECK } from '../../pipeline/wire/check.js';
import { IP_PROTO } from '../../pipeline/wire/ip-proto.js';
import { SYN, VLAN_TCP, a5, hex, toHex } from './golden-frames.js';

const T = 34;
const { TCP_FLAG } = tcp;

describe('tcp', () => {
  it('deconstruct SYN with options', () => {
    // 40000 → 80 [SYN] Seq (raw) 0x01020304, Header Length: 28 (7), Win=64240,
    // Checksum: 0xd395 [correct], MSS=1460, NOP, NOP, SACK_PERM
    const b = SYN;
    expect(tcp.check(b, T, b.length)).toBe(CHECK.OK);
    expect(tcp.srcPort(b, T)).toBe(40000);
    expect(tcp.dstPort(b, T)).toBe(80);
    expect(tcp.seq(b, T)).toBe(0x01020304);
    expect(tcp.ack(b, T)).toBe(0);
    expect(tcp.dataOffset(b, T)).toBe(7);
    expect(tcp.headerLen(b, T)).toBe(28);
    expect(tcp.flags(b, T)).toBe(TCP_FLAG.SYN);
    expect(tcp.window(b, T)).toBe(64240);
    expect(tcp.checksum(b, T)).toBe(0xd395);
    expect(tcp.urgentPtr(b, T)).toBe(0);
    const mss = tcp.findMssOption(b, T, 28);
    expect(mss).toBe(T + 20);
    expect(tcp.mssValue(b, mss)).toBe(1460);
    expect(tcp.findOption(b, T, 28, tcp.OPT.SACK_PERM)).toBe(T + 26);
    expect(tcp.findOption(b, T, 28, tcp.OPT.TIMESTAMP)).toBe(-1);
    const pseudo = checksum.pseudoV4(b, 14 + 12, 14 + 16, IP_PROTO.TCP, 28);
    expect(tcp.verifyChecksum(b, T, 28, pseudo)).toBe(true);
  });

  it('deconstruct data segment', () => {
    // [PSH, ACK] Seq (raw) 0x01020305 Ack (raw) 0xa0b0c0d0 Win=502 Len=6
    const b = VLAN_TCP;
    const t = 38;
    expect(tcp.seq(b, t)).toBe(0x01020305);
    expect(tcp.ack(b, t)).toBe(0xa0b0c0d0);
    expect(tcp.flags(b, t)).toBe(TCP_FLAG.PSH | TCP_FLAG.ACK);
    expect(tcp.findMssOption(b, t, 20)).toBe(-1);
    const pseudo = checksum.pseudoV4(b, 18 + 12, 18 + 16, IP_PROTO.TCP, 26);
    expect(tcp.verifyChecksum(b, t, 26, pseudo)).toBe(true);
  });

  it('construct', () => {
    const b = SYN.slice(T);
    tcp.setSrcPort(b, 0, 1);
    tcp.setDstPort(b, 0, 2);
    tcp.setSeq(b, 0, 0xfffffffe);
    tcp.setAck(b, 0, 0x80000000);
    tcp.setHeaderLen(b, 0, 24);
    tcp.setFlags(b, 0, TCP_FLAG.FIN | TCP_FLAG.ACK | TCP_FLAG.CWR);
    tcp.setWindow(b, 0, 0xffff);
    tcp.setChecksum(b, 0, 0x1234);
    tcp.setUrgentPtr(b, 0, 7);
    tcp.setMssValue(b, 20, 1400);
    expect(toHex(b.subarray(0, 24))).toBe('00010002' + 'fffffffe' + '80000000' + '6091ffff' + '12340007' + '02040578');
    expect(tcp.seq(b, 0)).toBe(0xfffffffe);
  });

  it('emit writes all 20 bytes', () => {
    const b = a5(22);
    tcp.emit(b, 1, { srcPort: 40000, dstPort: 80, seq: 0x01020305, ack: 0xa0b0c0d0, flags: 0x18, window: 502, checksum: 0x53d9, urgentPtr: 0 });
    expect(toHex(b)).toBe('a5' + toHex(VLAN_TCP.subarray(38, 58)) + 'a5');
  });

  it('fillChecksum reproduces the golden value', () => {
    const b = SYN.slice();
    tcp.setChecksum(b, T, 0xdead);
    tcp.fillChecksum(b, T, 28, checksum.pseudoV4(b, 26, 30, IP_PROTO.TCP, 28));
    expect(tcp.checksum(b, T)).toBe(0xd395);
  });

  it('options: malformed lists and END stop the walk', () => {
    const h = a5(32);
    tcp.emit(h, 0, { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, checksum: 0, urgentPtr: 0 });
    h.set(hex('0101 0000 0204 05b4'), 20); // NOP NOP END ... MSS after END is ignored
    expect(tcp.findMssOption(h, 0, 28)).toBe(-1);
    h.set(hex('0800 0204 05b4 0000'), 20); // timestamp with length 0: malformed
    expect(tcp.findMssOption(h, 0, 28)).toBe(-1);
    h.set(hex('0103 0204 05b4 0000'), 20); // NOP, then kind 3 len 2 (bogus but walkable)
    expect(tcp.findMssOption(h, 0, 28)).toBe(-1);
    h.set(hex('0101 0101 0204 05b4'), 20);
    expect(tcp.findMssOption(h, 0, 28)).toBe(24);
    expect(tcp.findMssOption(h, 0, 26)).toBe(-1); // option would cross the header end
    h.set(hex('0101 0101 0203 05b4'), 20); // MSS with length 3
    expect(tcp.findMssOption(h, 0, 28)).toBe(-1);
  });

  it('check', () => {
    for (let n = 0; n < 28; n++) expect(tcp.check(SYN, T, T + n)).toBe(CHECK.TRUNCATED);
    expect(tcp.check(SYN, T, T + 28)).toBe(CHECK.OK);
    const b = SYN.slice(T);
    tcp.setHeaderLen(b, 0, 16);
    expect(tcp.check(b, 0, b.length)).toBe(CHECK.MALFORMED);
  });
});
