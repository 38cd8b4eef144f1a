/**
 * Golden frames shared by the wire and decoder tests. Built by hand (checksums computed by an
 * independent script) and checked with tshark: every IP/TCP/UDP/ICMP checksum decodes as
 * "[correct]". The comment above each is the tshark summary plus the fields the tests assert.
 */

/** Hex text (whitespace ignored) to bytes. */
export function hex(text: string): Uint8Array {
  const s = text.replace(/\s+/g, '');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Bytes to lowercase hex text. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** A buffer of `n` bytes filled with 0xA5, so an emit that skips a byte shows (smoltcp). */
export function a5(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}

/**
 * 1  10.0.0.1 → 10.0.0.2  TCP 62 40000 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM
 *    Ethernet II, Src: 02:00:00:00:00:01, Dst: 02:00:00:00:00:02, Type: IPv4 (0x0800)
 *    IPv4: Header Length: 20, Total Length: 48, Identification: 0x1234, Flags: DF, TTL: 64,
 *          Protocol: TCP (6), Header Checksum: 0x1492 [correct]
 *    TCP: Seq (raw): 0x01020304, Header Length: 28 bytes (7), Flags: 0x002 (SYN), Window: 64240,
 *         Checksum: 0xd395 [correct], Options: MSS 1460 @ +20, NOP, NOP, SACK_PERM
 */
export const SYN = hex(`
  020000000002 020000000001 0800
  4500 0030 1234 4000 4006 1492 0a000001 0a000002
  9c40 0050 01020304 00000000 7002 faf0 d395 0000 020405b4 0101 0402`);

/**
 * 2  10.0.0.1 → 10.0.0.2  TCP 64 40000 → 80 [PSH, ACK] Seq=1 Ack=1 Win=502 Len=6
 *    802.1Q Virtual LAN, PRI: 3, DEI: 0, ID: 100, Type: IPv4
 *    IPv4: Total Length: 46, Identification: 0x1235, DF, TTL 64, Header Checksum: 0x1493 [correct]
 *    TCP: Seq (raw) 0x01020305, Ack (raw) 0xa0b0c0d0, Header Length: 20, Window: 502,
 *         Checksum: 0x53d9 [correct], payload "hello\n"
 */
export const VLAN_TCP = hex(`
  020000000002 020000000001 8100 6064 0800
  4500 002e 1235 4000 4006 1493 0a000001 0a000002
  9c40 0050 01020305 a0b0c0d0 5018 01f6 53d9 0000 68656c6c6f0a`);

/**
 * 3  10.0.0.1 → 10.0.0.2  UDP 54 5000 → 40001 Len=4
 *    IEEE 802.1ad, ID: 10, Type: 802.1Q; 802.1Q Virtual LAN, PRI: 0, ID: 20, Type: IPv4
 *    IPv4: Total Length: 32, Identification: 0x0001, DF, Header Checksum: 0x26ca [correct]
 *    UDP: Length: 12, Checksum: 0x7743 [correct], payload "abcd"
 */
export const QINQ_UDP = hex(`
  020000000002 020000000001 88a8 000a 8100 0014 0800
  4500 0020 0001 4000 4011 26ca 0a000001 0a000002
  1388 9c41 000c 7743 61626364`);

/**
 * 4  2001:db8::1 → 2001:db8::2  UDP 106 5000 → 40001 Len=4
 *    IPv6: Traffic Class: 0x2e, Flow Label: 0x12345, Payload Length: 52,
 *          Next Header: Hop-by-Hop (0), Hop Limit: 64
 *    Hop-by-Hop Option: Next Header: Routing (43), Length: 0 [8 bytes], PadN 4
 *    Routing Header (Source Route, type 0): Next Header: Fragment (44), Length: 2 [24 bytes],
 *          Segments Left: 0, Address[1]: 2001:db8::2
 *    Fragment Header: Next header: UDP (17), Offset: 0, M: 0, Identification: 0xdeadbeef
 *    UDP: Length: 12, Checksum: 0x2fd1 [correct], payload "abcd"
 */
export const IPV6_EXT_UDP = hex(`
  020000000002 020000000001 86dd
  62e12345 0034 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002
  2b00 010400000000
  2c02 0000 00000000 20010db8000000000000000000000002
  1100 0000 deadbeef
  1388 9c41 000c 2fd1 61626364`);

/**
 * 5  10.0.0.1 → 10.0.0.2  UDP 50 5000 → 40001 Len=4
 *    IPv4: Header Length: 24 bytes (6), DSCP/ECN 0xb8, Total Length: 36, Identification: 0x0002,
 *          Flags: 0x0, TTL: 1, Header Checksum: 0x1009 [correct], Options: Router Alert (148, len 4)
 *    UDP: Length: 12, Checksum: 0x7743 [correct]
 */
export const IPV4_OPTS_UDP = hex(`
  020000000002 020000000001 0800
  46b8 0024 0002 0000 0111 1009 0a000001 0a000002 94040000
  1388 9c41 000c 7743 61626364`);

/**
 * 6  10.0.0.1 → 10.0.0.2  ICMP 54 Echo (ping) request id=0x1111, seq=1/256, ttl=64
 *    Type: MPLS label switched packet (0x8847)
 *    MPLS: Label: 100, Exp: 5, S: 0, TTL: 64; MPLS: Label: 200, Exp: 0, S: 1, TTL: 63
 *    IPv4: Total Length: 32, Identification: 0x0003, Header Checksum: 0x26d8 [correct]
 *    ICMP: Type 8, Code 0, Checksum: 0x081d [correct], payload "ping"
 */
export const MPLS_ICMP = hex(`
  020000000002 020000000001 8847
  00064a40 000c813f
  4500 0020 0003 4000 4001 26d8 0a000001 0a000002
  0800 081d 1111 0001 70696e67`);

/**
 * 7  192.168.0.1 → 192.168.0.2  ICMP 96 Echo (ping) request  (outer: 10.0.0.1 → 10.0.0.2 UDP 49152 → 4789)
 *    IPv4: Total Length: 82, Identification: 0x0005, Header Checksum: 0x2694 [correct]
 *    UDP: Length: 62, Checksum: 0x9c70 [correct]
 *    VXLAN: Flags: 0x0800 (VNI valid), Group Policy ID: 0, VNI: 1193046 (0x123456)
 *    inner Ethernet 02:00:00:00:00:0a → 02:00:00:00:00:0b, IPv4 (checksum 0xb985), ICMP echo
 */
export const VXLAN = hex(`
  020000000002 020000000001 0800
  4500 0052 0005 4000 4011 2694 0a000001 0a000002
  c000 12b5 003e 9c70
  08000000 12345600
  02000000000b 02000000000a 0800
  4500 0020 0004 4000 4001 b985 c0a80001 c0a80002
  0800 081d 1111 0001 70696e67`);
