import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EXACT_UNITS_LIMIT,
  type Timestamp,
  type Words64,
  joinTimestamp,
  rescaleFraction,
  splitTimestamp,
  tsresolFromUnits,
  unitsFromTsresol,
} from '../../pipeline/pcap/timestamp.js';

function split(v: bigint, units: number): Timestamp {
  const out = { tsSec: -1, tsFrac: -1 };
  splitTimestamp(Number(v >> 32n), Number(v & 0xffffffffn), units, out);
  return out;
}

function join(sec: number, frac: number, units: number): bigint | null {
  const w: Words64 = { hi: 0, lo: 0 };
  return joinTimestamp(sec, frac, units, w) ? (BigInt(w.hi) << 32n) | BigInt(w.lo) : null;
}

function reference(v: bigint, units: number): Timestamp {
  return { tsSec: Number(v / BigInt(units)), tsFrac: Number(v % BigInt(units)) };
}

// 2100-01-01T00:00:00Z
const Y2100 = 4102444800;
const UNITS = [1e9, 1e6, 2 ** 20, 2 ** 30, 1e3, 10, 1, 2 ** 36, 1e12, 2 ** 40];

describe('splitTimestamp', () => {
  it('splits nanoseconds in 2100 exactly', () => {
    const v = BigInt(Y2100) * 1_000_000_000n + 999_999_999n;
    expect(split(v, 1e9)).toEqual({ tsSec: Y2100, tsFrac: 999_999_999 });
  });

  it('splits microseconds, 2^-20 and 2^-30 exactly', () => {
    expect(split(BigInt(Y2100) * 1_000_000n + 123_456n, 1e6)).toEqual({ tsSec: Y2100, tsFrac: 123_456 });
    expect(split((BigInt(Y2100) << 20n) + 0xfffffn, 2 ** 20)).toEqual({ tsSec: Y2100, tsFrac: 0xfffff });
    expect(split((BigInt(Y2100) << 30n) + 1n, 2 ** 30)).toEqual({ tsSec: Y2100, tsFrac: 1 });
  });

  it('handles zero and the 64-bit maximum', () => {
    expect(split(0n, 1e9)).toEqual({ tsSec: 0, tsFrac: 0 });
    const max = (1n << 64n) - 1n;
    for (const u of [1e9, 1e6, 2 ** 20, 2 ** 30]) expect(split(max, u)).toEqual(reference(max, u));
  });

  it('takes the BigInt path above 2^37 units per second', () => {
    const u = EXACT_UNITS_LIMIT * 2;
    const v = (1n << 63n) + 12345n;
    expect(split(v, u)).toEqual(reference(v, u));
  });

  it('equals BigInt division for any 64-bit count (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(...UNITS), (v, u) => {
        const got = split(v, u);
        const want = reference(v, u);
        // tsSec beyond 2^53 is not exact by design (units < 2^11 only)
        if (want.tsSec > Number.MAX_SAFE_INTEGER) return got.tsFrac === want.tsFrac;
        return got.tsSec === want.tsSec && got.tsFrac === want.tsFrac;
      }),
      { numRuns: 3000 },
    );
  });

  it('is exact at limb boundaries (property over near-multiples)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 33 }), fc.constantFrom(1e9, 2 ** 30, 999_999_937), fc.integer({ min: -3, max: 3 }), (sec, u, d) => {
        const v = BigInt(sec) * BigInt(u) + BigInt(d);
        if (v < 0n) return true;
        const got = split(v, u);
        const want = reference(v, u);
        return got.tsSec === want.tsSec && got.tsFrac === want.tsFrac;
      }),
    );
  });
});

describe('joinTimestamp', () => {
  it('joins nanoseconds in 2100 exactly', () => {
    expect(join(Y2100, 999_999_999, 1e9)).toBe(BigInt(Y2100) * 1_000_000_000n + 999_999_999n);
    expect(join(Y2100, 1, 2 ** 30)).toBe((BigInt(Y2100) << 30n) + 1n);
    expect(join(Y2100, 7, 2 ** 20)).toBe((BigInt(Y2100) << 20n) + 7n);
    expect(join(Y2100, 7, 1e6)).toBe(BigInt(Y2100) * 1_000_000n + 7n);
  });

  it('rejects values beyond 64 bits and invalid inputs', () => {
    expect(join(2 ** 40, 0, 1e9)).toBeNull(); // 1.1e21 > 2^64
    expect(join(-1, 0, 1e9)).toBeNull();
    expect(join(1, 1e9, 1e9)).toBeNull();
    expect(join(1.5, 0, 1e9)).toBeNull();
    expect(join(Math.floor(2 ** 64 / 1e9), 0, 1e9)).not.toBeNull();
  });

  it('inverts splitTimestamp (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(1e9, 1e6, 2 ** 20, 2 ** 30, 1e12, 2 ** 40), (v, u) => {
        const t = split(v, u);
        return join(t.tsSec, t.tsFrac, u) === v;
      }),
      { numRuns: 3000 },
    );
  });
});

describe('rescaleFraction', () => {
  it('rounds toward zero', () => {
    expect(rescaleFraction(999_999_999, 1e9, 1e6)).toBe(999_999);
    expect(rescaleFraction(123_456, 1e6, 1e9)).toBe(123_456_000);
    expect(rescaleFraction(2 ** 30 - 1, 2 ** 30, 1e9)).toBe(999_999_999);
    expect(rescaleFraction(1, 2 ** 20, 1e6)).toBe(0);
    expect(rescaleFraction(5, 1e6, 1e6)).toBe(5);
  });

  it('equals BigInt floor(frac*to/from) (property)', () => {
    const units = fc.constantFrom(1e9, 1e6, 1e3, 2 ** 20, 2 ** 30, 2 ** 52, 1e15);
    fc.assert(
      fc.property(units, units, fc.double({ min: 0, max: 1, noNaN: true }), (from, to, x) => {
        const frac = Math.min(from - 1, Math.floor(x * from));
        return rescaleFraction(frac, from, to) === Number((BigInt(frac) * BigInt(to)) / BigInt(from));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('if_tsresol', () => {
  it('decodes 10^-n and 2^-n', () => {
    expect(unitsFromTsresol(6)).toBe(1e6);
    expect(unitsFromTsresol(9)).toBe(1e9);
    expect(unitsFromTsresol(0x80 | 20)).toBe(2 ** 20);
    expect(unitsFromTsresol(0x80 | 30)).toBe(2 ** 30);
    expect(unitsFromTsresol(0)).toBe(1);
    expect(unitsFromTsresol(16)).toBe(0);
    expect(unitsFromTsresol(0x80 | 53)).toBe(0);
  });

  it('encodes exactly what it decodes', () => {
    for (const v of [0, 3, 6, 9, 12, 15, 0x81, 0x80 | 20, 0x80 | 30, 0x80 | 52]) expect(tsresolFromUnits(unitsFromTsresol(v))).toBe(v);
    expect(tsresolFromUnits(3000)).toBe(-1);
  });
});
