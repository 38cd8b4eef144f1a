/** IPv4/IPv6 address text <-> bytes. Used at configuration and comment boundaries, not per packet. */

/** node:net, loaded when a text is first parsed (a plain run never parses one). */
const net = (): typeof import('node:net') => process.getBuiltinModule('node:net');

/** Parse an IPv4 or IPv6 address; null when it is neither (or has a zone index: no packet field holds one). */
export function parseIp(text: string): Uint8Array | null {
  const { isIPv4, isIPv6 } = net();
  if (isIPv4(text)) {
    return Uint8Array.from(text.split('.').map(Number));
  }
  if (!isIPv6(text) || text.includes('%')) return null;
  let s = text;
  // Embedded IPv4 tail (::ffff:192.0.2.1).
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  const words: number[] = [];
  let v4tail: number[] | null = null;
  if (tail.includes('.')) {
    v4tail = tail.split('.').map(Number);
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = s.includes('::') ? s.split('::') : [s, null];
  const parse = (part: string | null | undefined) => (part ? part.split(':').filter((w) => w !== '').map((w) => parseInt(w, 16)) : []);
  const l = parse(left);
  const r = parse(right);
  const fill = right === null ? 0 : 8 - l.length - r.length;
  words.push(...l, ...new Array<number>(fill).fill(0), ...r);
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = (words[i]! >> 8) & 0xff;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  if (v4tail) out.set(v4tail, 12);
  return out;
}

/** Format 4 or 16 address bytes (RFC 5952 text for IPv6). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // Longest run of zero words (length >= 2) becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parse "addr/len" (or a bare address = host prefix). */
export function parseCidr(text: string): { bytes: Uint8Array; prefixLen: number } | null {
  const slash = text.indexOf('/');
  const bytes = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!bytes) return null;
  const max = bytes.length * 8;
  const prefixLen = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) return null;
  return { bytes, prefixLen };
}
