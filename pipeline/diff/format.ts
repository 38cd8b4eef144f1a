/**
 * How differences read: decoded field values, timestamps, packet summaries and the hex context
 * of the differing bytes. Only called for differences that are listed (never per packet).
 */
import { formatIp } from '../wire/ip-address.js';
import { DIFF_FIELDS, SCOPE, fieldId } from './fields.js';
import type { FrameLayout } from './layout.js';

const hex2 = (x: number): string => x.toString(16).padStart(2, '0');

/** Bytes as `61 62 63`, at most `max` of them, then `…`. */
export function hexBytes(b: Uint8Array, start: number, end: number, max = 16): string {
  const parts: string[] = [];
  for (let i = start; i < end && parts.length < max; i++) parts.push(hex2(b[i]!));
  return parts.join(' ') + (end - start > max ? ' …' : '');
}

const TCP_FLAG_NAMES: readonly (readonly [number, string])[] = [
  [0x100, 'NS'],
  [0x080, 'CWR'],
  [0x040, 'ECE'],
  [0x020, 'URG'],
  [0x010, 'ACK'],
  [0x008, 'PSH'],
  [0x004, 'RST'],
  [0x002, 'SYN'],
  [0x001, 'FIN'],
];

function hexDigits(mask: number, len: number): number {
  if (mask === 0) return len * 2;
  let m = mask >>> 0;
  while ((m & 1) === 0) m >>>= 1;
  return Math.ceil(m.toString(2).length / 4);
}

/** The value of entry i of a layout, as a reviewer reads it. */
export function formatEntry(L: FrameLayout, i: number): string {
  const def = DIFF_FIELDS[L.field[i]!]!;
  const b = L.buf;
  const off = L.off[i]!;
  const len = L.len[i]!;
  switch (def.format) {
    case 'mac':
      return Array.from(b.subarray(off, off + len), hex2).join(':');
    case 'ipv4':
    case 'ipv6':
      return formatIp(b.subarray(off, off + len));
    case 'bytes':
      return len === 0 ? '(none)' : `${hexBytes(b, off, off + len, 24)} (${len} bytes)`;
    case 'payload':
      return `${len} bytes`;
    case 'ipflags': {
      const v = L.value(i);
      const names = [v & 4 ? 'RB' : '', v & 2 ? 'DF' : '', v & 1 ? 'MF' : ''].filter(Boolean);
      return `0x${v.toString(16)}${names.length ? ` (${names.join(',')})` : ''}`;
    }
    case 'tcpflags': {
      const v = L.value(i);
      const names = TCP_FLAG_NAMES.filter(([bit]) => v & bit).map(([, n]) => n);
      return `0x${v.toString(16).padStart(3, '0')}${names.length ? ` (${names.join(',')})` : ''}`;
    }
    case 'hex':
      return `0x${L.value(i).toString(16).padStart(hexDigits(def.mask, len), '0')}`;
    default:
      return String(L.value(i));
  }
}

/** Decimal digits that show a fraction of 1/units exactly (10^n units), else nanoseconds. */
function fractionDigits(units: number): number {
  const log = Math.round(Math.log10(units));
  return 10 ** log === units ? log : 9;
}

export interface TimeLike {
  tsSec: number;
  tsFrac: number;
  tsUnits: number;
}

/** Exact equality of two timestamps in possibly different units. */
export function sameTime(e: TimeLike, a: TimeLike): boolean {
  if (e.tsSec !== a.tsSec) return false;
  if (e.tsUnits === a.tsUnits) return e.tsFrac === a.tsFrac;
  return BigInt(e.tsFrac) * BigInt(a.tsUnits) === BigInt(a.tsFrac) * BigInt(e.tsUnits);
}

/** `1700000000.000000001`: as many decimals as the finer of the two resolutions needs. */
export function formatTime(t: TimeLike, digits: number): string {
  const frac = (BigInt(t.tsFrac) * 10n ** BigInt(digits)) / BigInt(t.tsUnits);
  return digits === 0 ? String(t.tsSec) : `${t.tsSec}.${frac.toString().padStart(digits, '0')}`;
}

/** Both timestamps, and how far ACTUAL is from EXPECTED. */
export function formatTimes(e: TimeLike, a: TimeLike): { expected: string; actual: string; note: string } {
  const digits = Math.max(fractionDigits(e.tsUnits), fractionDigits(a.tsUnits));
  const ns = (t: TimeLike): bigint => BigInt(t.tsSec) * 1_000_000_000n + (BigInt(t.tsFrac) * 1_000_000_000n) / BigInt(t.tsUnits);
  const d = ns(a) - ns(e);
  const sign = d < 0n ? '-' : '+';
  const abs = d < 0n ? -d : d;
  const note =
    abs < 1_000_000n
      ? `${sign}${abs} ns`
      : `${sign}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, '0')} s`;
  return { expected: formatTime(e, digits), actual: formatTime(a, digits), note };
}

export function formatComments(list: readonly string[]): string {
  return list.length === 0 ? '(none)' : list.map((c) => JSON.stringify(c)).join(', ');
}

const IPV4_SRC = fieldId('ipv4.src');
const IPV6_SRC = fieldId('ipv6.src');
const VXLAN_VNI = fieldId('vxlan.vni');
const ETH_TYPE = fieldId('eth.type');

/** One line about a packet, tshark-like: `10.0.0.1 → 10.0.0.2 tcp 40000 → 80, 66 bytes`. */
export function summarize(L: FrameLayout): string {
  const scope = L.tunnelled ? SCOPE.INNER : SCOPE.OUTER;
  let text = '';
  for (let i = 0; i < L.count; i++) {
    if (L.field[i] === VXLAN_VNI) text += `vxlan vni ${L.value(i)}: `;
  }
  const ip = ipIndex(L, scope);
  if (ip >= 0) {
    text += `${formatEntry(L, ip)} → ${formatEntry(L, ip + 1)}`;
    const l4 = l4Index(L, scope);
    if (l4 >= 0) {
      const def = DIFF_FIELDS[L.field[l4]!]!;
      const ports = def.layer === 'tcp' || def.layer === 'udp';
      text += ` ${def.layer}${ports ? ` ${L.value(l4)} → ${L.value(l4 + 1)}` : ` type ${L.value(l4)}`}`;
    }
  } else {
    const t = L.find(ETH_TYPE, scope, -1, 0);
    text += t >= 0 ? `eth type ${formatEntry(L, t)}` : 'undecoded frame';
  }
  return `${text}, ${L.tail - L.head} bytes`;
}

function ipIndex(L: FrameLayout, scope: number): number {
  for (let i = 0; i < L.count; i++) {
    if (L.scope[i] === scope && (L.field[i] === IPV4_SRC || L.field[i] === IPV6_SRC)) return i;
  }
  return -1;
}

function l4Index(L: FrameLayout, scope: number): number {
  for (let i = 0; i < L.count; i++) {
    if (L.scope[i] !== scope) continue;
    const layer = DIFF_FIELDS[L.field[i]!]!.layer;
    if (layer === 'tcp' || layer === 'udp' || layer === 'icmp' || layer === 'icmpv6') return i;
  }
  return -1;
}

/** Lines of the hex context at most. */
export const CONTEXT_LINES = 4;

/**
 * Hex context: the 16-byte lines of both frames that hold a marked byte, EXPECTED above ACTUAL,
 * marked bytes underlined with ^^. `marks` holds frame offsets (sorted or not).
 */
export function hexContext(e: Uint8Array, a: Uint8Array, marks: ReadonlySet<number>): string[] {
  const rows = [...new Set([...marks].map((m) => m >> 4))].sort((x, y) => x - y);
  const out: string[] = [];
  const cell = (b: Uint8Array, k: number): string => (k < b.length ? hex2(b[k]!) : '--');
  for (const row of rows.slice(0, CONTEXT_LINES)) {
    const base = row << 4;
    const exp: string[] = [];
    const got: string[] = [];
    const mark: string[] = [];
    for (let k = base; k < base + 16 && (k < e.length || k < a.length); k++) {
      const sep = k - base === 8 ? ' ' : '';
      exp.push(sep + cell(e, k));
      got.push(sep + cell(a, k));
      mark.push(sep + (marks.has(k) ? '^^' : '  '));
    }
    const off = `0x${base.toString(16).padStart(4, '0')}`;
    out.push(`    ${off}  exp: ${exp.join(' ')}`);
    out.push(`            got: ${got.join(' ')}`);
    out.push(`                 ${mark.join(' ').trimEnd()}`);
  }
  if (rows.length > CONTEXT_LINES) out.push(`    (${rows.length - CONTEXT_LINES} more lines with differing bytes)`);
  return out;
}
