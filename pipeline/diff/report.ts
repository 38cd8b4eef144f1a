/** Renderings of a DiffResult: the reviewer's text (CLI, matcher) and the machine-readable JSON. */
import type { Difference, DiffResult } from './result.js';

/** One line per difference, the packet's hex context after its last listed line, a summary line. */
export function formatDiff(r: DiffResult): string {
  const lines: string[] = [];
  for (const d of r.differences) {
    lines.push(formatDifference(d));
    if (d.context) lines.push(...d.context);
  }
  lines.push(summaryLine(r));
  for (const n of r.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}

/** `#17 outer ipv4.ttl: expected 64, got 63`. */
export function formatDifference(d: Difference): string {
  const at = d.actualPacket !== undefined ? `#${d.packet} (ACTUAL #${d.actualPacket})` : `#${d.packet}`;
  if (d.kind === 'missing') return `${at} missing in ACTUAL: ${d.expected}`;
  if (d.kind === 'extra') return `${at} extra in ACTUAL: ${d.actual}`;
  return `${at} ${d.label}: expected ${d.expected}, got ${d.actual}${d.note ? ` (${d.note})` : ''}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function summaryLine(r: DiffResult): string {
  const counts = `EXPECTED ${plural(r.packets.expected, 'packet')}, ACTUAL ${plural(r.packets.actual, 'packet')}`;
  if (r.equal) return `equal: ${counts}`;
  const more = r.truncated ? `; ${r.omitted} more not shown (--max ${r.differences.length})` : '';
  return `differ: ${plural(r.total, 'difference')} in ${plural(r.packetsDiffering, 'packet')} (${counts})${more}`;
}

/** The `--json` document: {equal, packets, differences: [{packet, field, expected, actual, ...}], truncated, ...}. */
export function diffJson(r: DiffResult): object {
  return {
    equal: r.equal,
    packets: r.packets,
    differences: r.differences.map((d) => {
      const o: Record<string, unknown> = { packet: d.packet };
      if (d.actualPacket !== undefined) o.actualPacket = d.actualPacket;
      o.kind = d.kind;
      o.field = d.field;
      o.expected = d.expected;
      o.actual = d.actual;
      if (d.note !== undefined) o.note = d.note;
      if (d.offset !== undefined) o.offset = d.offset;
      return o;
    }),
    truncated: r.truncated,
    omitted: r.omitted,
    total: r.total,
    packetsDiffering: r.packetsDiffering,
    notes: r.notes,
  };
}
