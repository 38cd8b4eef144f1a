/**
 * Lexical rules shared by capflow's comment readers (tunnel metadata, GSO notes), and by the
 * Wireshark dissector (pipeline/wireshark/capflow.lua), which implements the same rules in Lua:
 * the grammar is public (README, "Per-packet metadata in pcapng").
 */

/** Fields of a comment are separated by ASCII whitespace (Lua's %s). */
export const FIELD_SEPARATOR = /[ \t\n\v\f\r]+/;

const NUMBER = /^(?:0[xX][0-9a-fA-F]+|[0-9]+)$/;

/**
 * A number of a comment: decimal, or hex with a 0x prefix; at most 10 characters and at most
 * `max`. Null otherwise (JavaScript's Number() would also take "1e3", "0b1" or "").
 */
export function commentNumber(text: string, max: number): number | null {
  if (text.length > 10 || !NUMBER.test(text)) return null;
  const v = text.length > 2 && (text[1] === 'x' || text[1] === 'X') ? parseInt(text.slice(2), 16) : parseInt(text, 10);
  return v <= max ? v : null;
}

/*
 * Token writers for the comment texts capflow writes itself: ASCII bytes straight into an output
 * buffer, so per-packet metadata costs no string. Each returns the position after what it wrote
 * and gives exactly the text of the JavaScript expression it names.
 */

const HEX_DIGITS = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);

/** ASCII bytes of a constant token (encoded once, copied per use). */
export function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) throw new Error(`not ASCII: ${text}`);
    out[i] = c;
  }
  return out;
}

/** Copy `token` to buf[at...]. */
export function putToken(buf: Uint8Array, at: number, token: Uint8Array): number {
  for (let i = 0; i < token.length; i++) buf[at + i] = token[i]!;
  return at + token.length;
}

/** "00" to "99": two digits per division. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGIT_PAIRS[2 * i] = 48 + Math.floor(i / 10);
  DIGIT_PAIRS[2 * i + 1] = 48 + (i % 10);
}

/** `String(n)` for an integer 0..2^32-1. */
export function putDecimal(buf: Uint8Array, at: number, n: number): number {
  const end = at + decimalDigits(n);
  let p = end;
  while (n >= 100) {
    // Small integer arithmetic below 2^31, float division above.
    const q = n < 0x80000000 ? (n / 100) | 0 : Math.floor(n / 100);
    const r = (n - q * 100) << 1;
    buf[--p] = DIGIT_PAIRS[r + 1]!;
    buf[--p] = DIGIT_PAIRS[r]!;
    n = q;
  }
  if (n >= 10) {
    buf[--p] = DIGIT_PAIRS[(n << 1) + 1]!;
    buf[--p] = DIGIT_PAIRS[n << 1]!;
  } else {
    buf[--p] = 48 + n;
  }
  return end;
}

function decimalDigits(n: number): number {
  if (n < 100000) return n < 100 ? (n < 10 ? 1 : 2) : n < 1000 ? 3 : n < 10000 ? 4 : 5;
  return n < 10000000 ? (n < 1000000 ? 6 : 7) : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
}

/** `n.toString(16).padStart(minDigits, '0')` for an integer 0..2^32-1. */
export function putHex(buf: Uint8Array, at: number, n: number, minDigits: number): number {
  let digits = 1;
  for (let v = n >>> 4; v !== 0; v >>>= 4) digits++;
  if (digits < minDigits) digits = minDigits;
  const end = at + digits;
  for (let p = end - 1; p >= at; p--) {
    buf[p] = HEX_DIGITS[n & 15]!;
    n >>>= 4;
  }
  return end;
}
