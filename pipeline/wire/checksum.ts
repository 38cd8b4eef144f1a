/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * Sums are kept **unfolded**: a plain non-negative number that is the running total of big-endian
 * 16-bit words. It stays exact below 2^53, i.e. for more than 2^36 words, far beyond any packet, so
 * partial sums over several ranges (pseudo-header, header, payload) combine with `csumAdd` or by
 * passing one as `acc` to the next `sum16`, and are folded to 16 bits once, by `fold`/`finish`.
 *
 * Stored checksum fields are the one's complement of the folded sum (`finish`). A field can be
 * updated for a changed 16/32-bit word without re-summing anything (`update16`/`update32`).
 *
 * UDP rule (RFC 768, kernel CSUM_MANGLED_0): a computed UDP checksum of 0 is transmitted as 0xffff,
 * because 0 in the field means "no checksum" over IPv4. Apply it with `udpFinal`.
 */

/**
 * One's-complement partial sum of the big-endian 16-bit words in b[start, end), added to `acc`.
 * An odd trailing byte is padded with a zero low byte. The result is unfolded (see module doc).
 */
export function sum16(b: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  let i = start;
  // Hot loop: 8 words per iteration, bytes read directly (no DataView call per word).
  const end16 = end - 15;
  while (i < end16) {
    s +=
      ((b[i]! << 8) | b[i + 1]!) +
      ((b[i + 2]! << 8) | b[i + 3]!) +
      ((b[i + 4]! << 8) | b[i + 5]!) +
      ((b[i + 6]! << 8) | b[i + 7]!) +
      ((b[i + 8]! << 8) | b[i + 9]!) +
      ((b[i + 10]! << 8) | b[i + 11]!) +
      ((b[i + 12]! << 8) | b[i + 13]!) +
      ((b[i + 14]! << 8) | b[i + 15]!);
    i += 16;
  }
  const end2 = end - 1;
  while (i < end2) {
    s += (b[i]! << 8) | b[i + 1]!;
    i += 2;
  }
  if (i < end) s += b[i]! << 8;
  return s;
}

/** Add two unfolded partial sums. */
export function csumAdd(a: number, b: number): number {
  return a + b;
}

/** Fold an unfolded sum to 16 bits (end-around carry). */
export function fold(acc: number): number {
  // Bring a possibly > 2^32 sum under 2^32 first; bitwise ops below are then exact.
  let s = acc;
  while (s > 0xffffffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The value for a checksum field: one's complement of the folded sum. */
export function finish(acc: number): number {
  return ~fold(acc) & 0xffff;
}

/** UDP: a computed checksum of 0 is sent as 0xffff (0 means "no checksum"). */
export function udpFinal(csum: number): number {
  return csum === 0 ? 0xffff : csum;
}

/**
 * IPv4 pseudo-header (RFC 793 / 768): source and destination addresses at b[srcOff..+4) and
 * b[dstOff..+4), zero, protocol, L4 length (16 bits). Returns an unfolded partial sum.
 */
export function pseudoV4(b: Uint8Array, srcOff: number, dstOff: number, proto: number, l4len: number): number {
  return (
    ((b[srcOff]! << 8) | b[srcOff + 1]!) +
    ((b[srcOff + 2]! << 8) | b[srcOff + 3]!) +
    ((b[dstOff]! << 8) | b[dstOff + 1]!) +
    ((b[dstOff + 2]! << 8) | b[dstOff + 3]!) +
    (proto & 0xff) +
    (l4len & 0xffff)
  );
}

/**
 * IPv6 pseudo-header (RFC 8200 section 8.1): 16-byte source and destination, 32-bit upper-layer
 * length, three zero bytes, next header. Returns an unfolded partial sum.
 */
export function pseudoV6(b: Uint8Array, srcOff: number, dstOff: number, nextHeader: number, l4len: number): number {
  const len = l4len >>> 0;
  return sum16(b, srcOff, srcOff + 16, sum16(b, dstOff, dstOff + 16)) + (len >>> 16) + (len & 0xffff) + (nextHeader & 0xff);
}

/**
 * RFC 1624 eqn. 3: the checksum field `csum` after one 16-bit word covered by it changed from
 * `oldWord` to `newWord`. HC' = ~(~HC + ~m + m').
 */
export function update16(csum: number, oldWord: number, newWord: number): number {
  return ~fold((~csum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** As `update16`, for an aligned 32-bit value (an IPv4 address, a TCP sequence number). */
export function update32(csum: number, oldU32: number, newU32: number): number {
  const o = oldU32 >>> 0;
  const n = newU32 >>> 0;
  return (
    ~fold((~csum & 0xffff) + (~(o >>> 16) & 0xffff) + (~o & 0xffff) + (n >>> 16) + (n & 0xffff)) & 0xffff
  );
}
