/**
 * Result of a header module's `check(b, off, end)` (smoltcp `check_len`): does the header fit in
 * b[off, end), and are its own length fields consistent? After OK, every getter of that module
 * reads in range. The decoder's DECODE status uses the same numbers.
 */
export const CHECK = {
  OK: 0,
  /** The header does not fit in the captured bytes. */
  TRUNCATED: 1,
  /** A length or version field contradicts the header itself (IHL < 5, UDP length < 8, ...). */
  MALFORMED: 2,
} as const;
export type CheckStatus = (typeof CHECK)[keyof typeof CHECK];
