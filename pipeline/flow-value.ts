/**
 * The common YAML flow values of `--stage` options, read without the yaml package (loading it is
 * a large share of a short run's start-up): `[{label: 100, ttl: 64}]`,
 * `[{match: {ipDst: 203.0.113.0/24}, set: {vni: 42, dst: 192.0.2.2}}]`, `192.0.2.1`,
 * `02:00:00:00:00:01`. Only a strict subset is read here, each value exactly as YAML 1.2 (the
 * core schema, the yaml package's default) reads it: flow sequences and mappings (`key: value`
 * with a plain identifier key), decimal integers, true/false, and plain words that the core
 * schema takes as strings (names, IPv4 and IPv6 addresses and prefixes, MAC addresses).
 * Anything else (quotes, floats, hex/octal, null, a key without a value, a trailing comma, a
 * duplicate key, a word with one colon...) returns undefined: the caller asks the yaml package.
 */

/** A plain word read here: these characters only (others: the yaml package decides). */
const WORD = /^[A-Za-z0-9_.:/+-]+/;
const KEY = /^[A-Za-z_][A-Za-z0-9_]*/;
const INT = /^[-+]?[0-9]+$/;
/** Core-schema floats and the forms of int other than decimal: left to the yaml package. */
const NUMBER_LIKE = /^[-+]?(?:\.[0-9]|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?$|0x|0o)/;
/** Words the core schema gives another type or meaning (null, booleans, .inf/.nan). */
const SPECIAL = new Set(['null', 'Null', 'NULL', '~', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
/** Keys a plain object must not be built with (the caller rejects them with their path). */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 32;

/** `raw` as YAML 1.2 reads it, or undefined when it is not in the subset read here. */
export function parseFlowValue(raw: string): unknown {
  const p = new FlowReader(raw);
  try {
    const v = p.value(0);
    p.spaces();
    return p.pos === raw.length ? v : undefined;
  } catch (e) {
    if (e === OUTSIDE) return undefined;
    throw e;
  }
}

/** Thrown inside the reader: the text is outside the subset. */
const OUTSIDE = Symbol('outside the flow subset');

class FlowReader {
  pos = 0;
  constructor(private readonly s: string) {}

  spaces(): void {
    while (this.s.charCodeAt(this.pos) === 32) this.pos++;
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw OUTSIDE;
    const c = this.s[this.pos];
    if (c === '[') return this.sequence(depth);
    if (c === '{') return this.mapping(depth);
    return this.scalar();
  }

  private sequence(depth: number): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.spaces();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.spaces();
      const c = this.s[this.pos++];
      if (c === ']') return out;
      if (c !== ',') throw OUTSIDE;
      this.spaces();
      // A trailing comma, or an empty entry: the yaml package decides.
      if (this.s[this.pos] === ']' || this.s[this.pos] === ',') throw OUTSIDE;
    }
  }

  private mapping(depth: number): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    this.spaces();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      const m = KEY.exec(this.s.slice(this.pos));
      if (!m) throw OUTSIDE;
      const key = m[0];
      if (SPECIAL.has(key) || PROTOTYPE_KEYS.has(key) || Object.hasOwn(out, key)) throw OUTSIDE;
      this.pos += key.length;
      // `key: value`, one space at least after the colon and none before it.
      if (this.s[this.pos] !== ':' || this.s[this.pos + 1] !== ' ') throw OUTSIDE;
      this.pos++;
      this.spaces();
      out[key] = this.value(depth + 1);
      this.spaces();
      const c = this.s[this.pos++];
      if (c === '}') return out;
      if (c !== ',') throw OUTSIDE;
      this.spaces();
      if (this.s[this.pos] === '}' || this.s[this.pos] === ',') throw OUTSIDE;
    }
  }

  private scalar(): unknown {
    const m = WORD.exec(this.s.slice(this.pos));
    if (!m) throw OUTSIDE;
    const w = m[0];
    this.pos += w.length;
    // Followed by anything but a separator (a space inside a word, a quote...): not read here.
    const next = this.s[this.pos];
    if (next !== undefined && next !== ',' && next !== ']' && next !== '}' && next !== ' ') throw OUTSIDE;
    return wordValue(w);
  }
}

/** A plain word's value in the core schema, when it is an integer, a boolean or a string read here. */
function wordValue(w: string): unknown {
  if (INT.test(w)) {
    const n = Number(w);
    if (!Number.isSafeInteger(n)) throw OUTSIDE;
    return n;
  }
  if (w === 'true' || w === 'True' || w === 'TRUE') return true;
  if (w === 'false' || w === 'False' || w === 'FALSE') return false;
  if (SPECIAL.has(w) || NUMBER_LIKE.test(w)) throw OUTSIDE;
  // A word must start like a name or a number; a colon at its end, or only one colon, could be
  // a mapping indicator (`a: b`, `{a:b}`): not read here. Addresses have none or several.
  if (!/^[A-Za-z0-9_]/.test(w) || w.endsWith(':')) throw OUTSIDE;
  const colons = w.split(':').length - 1;
  if (colons === 1) throw OUTSIDE;
  return w;
}
