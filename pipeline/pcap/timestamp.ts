/**
 * Exact timestamp arithmetic without BigInt on the hot path.
 *
 * A pcapng timestamp is a 64-bit count of 1/units seconds, stored as two 32-bit words. capflow
 * keeps timestamps as whole seconds plus a fraction in the input's units (`Packet.tsSec`,
 * `tsFrac`, `tsUnits`), so neither nanoseconds since 1970 (~2^61) nor 2^-30 fractions lose bits
 * in a double.
 *
 * split: (hi, lo) → (sec, frac) by long division over 16-bit limbs. Every partial dividend is
 * below units·2^16, which stays under 2^53 while units < 2^37 (EXACT_UNITS_LIMIT); above that
 * BigInt takes over. join is the inverse (limb multiplication with carries).
 * tsSec is exact up to 2^53 seconds, which any units ≥ 2^11 guarantees for a 64-bit count.
 */

export interface Timestamp {
  tsSec: number;
  tsFrac: number;
}

/** A 64-bit count as two unsigned 32-bit words. */
export interface Words64 {
  hi: number;
  lo: number;
}

/** Units per second below which the limb arithmetic is exact. */
export const EXACT_UNITS_LIMIT = 2 ** 37;

const TWO32 = 4294967296;
const TWO52 = 2 ** 52;
const TWO53 = 2 ** 53;

/**
 * Split the count hi·2^32 + lo (units of 1/units s) into out.tsSec and out.tsFrac
 * (0 ≤ tsFrac < units). Writes into `out` (a Packet works) so the hot path allocates nothing.
 */
export function splitTimestamp(hi: number, lo: number, units: number, out: Timestamp): void {
  if (units >= EXACT_UNITS_LIMIT) {
    splitBig(hi, lo, units, out);
    return;
  }
  if (hi < 0x100000) {
    // Below 2^52: the count itself is exact, and so is sec·units (≤ count + units < 2^53).
    const v = hi * TWO32 + lo;
    let s = Math.floor(v / units);
    let r = v - s * units;
    if (r < 0) {
      s--;
      r += units;
    } else if (r >= units) {
      s++;
      r -= units;
    }
    out.tsSec = s;
    out.tsFrac = r;
    return;
  }
  // Long division, 16-bit digits from the top. Invariant: r < units, so r·2^16 + digit < 2^53
  // and each quotient digit is < 2^16.
  let q = 0;
  let r = 0;
  for (let i = 3; i >= 0; i--) {
    const digit = i >= 2 ? (i === 3 ? hi >>> 16 : hi & 0xffff) : i === 1 ? lo >>> 16 : lo & 0xffff;
    const x = r * 65536 + digit;
    let d = Math.floor(x / units);
    r = x - d * units;
    if (r < 0) {
      d--;
      r += units;
    } else if (r >= units) {
      d++;
      r -= units;
    }
    q = q * 65536 + d;
  }
  out.tsSec = q;
  out.tsFrac = r;
}

function splitBig(hi: number, lo: number, units: number, out: Timestamp): void {
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  const u = BigInt(units);
  out.tsSec = Number(v / u);
  out.tsFrac = Number(v % u);
}

/**
 * Join tsSec·units + tsFrac into out.hi/out.lo. Returns false (out unchanged) when the value
 * does not fit 64 bits or the inputs are not non-negative integers with tsFrac < units.
 */
export function joinTimestamp(tsSec: number, tsFrac: number, units: number, out: Words64): boolean {
  if (!(tsSec >= 0 && tsFrac >= 0 && tsFrac < units) || !Number.isInteger(tsSec) || !Number.isInteger(tsFrac)) {
    return false;
  }
  if (units >= EXACT_UNITS_LIMIT || tsSec >= TWO53) return joinBig(tsSec, tsFrac, units, out);
  const p = tsSec * units;
  if (p < TWO52) {
    // p < 2^52 is exact (had the true product been ≥ 2^52 the rounded one would be too).
    const v = p + tsFrac;
    const h = Math.floor(v / TWO32);
    out.hi = h;
    out.lo = v - h * TWO32;
    return true;
  }
  // Limb multiplication: tsSec < 2^53 as 16-bit limbs s0..s3; s_i·units + carry < 2^53.
  let carry = tsFrac;
  let s = tsSec;
  const r = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const limb = s % 65536;
    s = (s - limb) / 65536;
    const x = limb * units + carry;
    const low = x % 65536;
    r[i] = low;
    carry = (x - low) / 65536;
  }
  if (carry !== 0 || s !== 0) return false;
  out.hi = r[3]! * 65536 + r[2]!;
  out.lo = r[1]! * 65536 + r[0]!;
  return true;
}

function joinBig(tsSec: number, tsFrac: number, units: number, out: Words64): boolean {
  const v = BigInt(tsSec) * BigInt(units) + BigInt(tsFrac);
  if (v >= 1n << 64n) return false;
  out.hi = Number(v >> 32n);
  out.lo = Number(v & 0xffffffffn);
  return true;
}

/**
 * floor(frac · to / from), exact: the fraction `frac` (< from) of a second re-expressed in
 * units `to`, rounding toward zero (what tcpdump does converting ns to µs).
 */
export function rescaleFraction(frac: number, from: number, to: number): number {
  if (from === to) return frac;
  if (from !== lastFrom || to !== lastTo) {
    const g = gcd(from, to);
    lastFrom = from;
    lastTo = to;
    lastMul = to / g;
    lastDiv = from / g;
  }
  const p = frac * lastMul;
  if (p < TWO52) {
    // q·div ≤ p + div < 2^53: the correction step is exact.
    let q = Math.floor(p / lastDiv);
    const r = p - q * lastDiv;
    if (r < 0) q--;
    else if (r >= lastDiv) q++;
    return q;
  }
  return Number((BigInt(frac) * BigInt(lastMul)) / BigInt(lastDiv));
}

let lastFrom = 1;
let lastTo = 1;
let lastMul = 1;
let lastDiv = 1;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/**
 * Units per second for a pcapng if_tsresol byte: high bit clear → 10^n, set → 2^n.
 * Returns 0 when the result is not exactly representable (10^n with n > 15, 2^n with n > 52).
 */
export function unitsFromTsresol(v: number): number {
  const n = v & 0x7f;
  if (v & 0x80) return n <= 52 ? 2 ** n : 0;
  return n <= 15 ? 10 ** n : 0;
}

/** The if_tsresol byte encoding `units` exactly, or -1 when units is neither 10^n nor 2^n. */
export function tsresolFromUnits(units: number): number {
  if (!Number.isInteger(units) || units < 1) return -1;
  for (let n = 0, p = 1; n <= 15; n++, p *= 10) if (p === units) return n;
  for (let n = 1; n <= 52; n++) if (2 ** n === units) return 0x80 | n;
  return -1;
}
