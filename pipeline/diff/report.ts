/** Renderings of a DiffResult: the reviewer's text (CLI, matcher) and the machine-readable JSON. */
import type { Difference, DiffResult } from './result.js';

/** One line per difference, the packet's hex context after its last listed line, a summary line. */
export function formatDiff(r: DiffResult): string {
  return `${r.differences.map(differenceLines).join('')}${endLines(r)}`;
}

/** A difference's line and, when it has one, its hex context. */
function differenceLines(d: Difference): string {
  return `${formatDifference(d)}\n${d.context ? `${d.context.join('\n')}\n` : ''}`;
}

/** The summary line and the notes. */
function endLines(r: DiffResult): string {
  return `${[summaryLine(r), ...r.notes.map((n) => `note: ${n}`)].join('\n')}\n`;
}

/**
 * A report written as the differences are found (diffCaptures' `onDifferences`), text or JSON,
 * the same as formatDiff / diffJson would print (JSON with `differences` first). `write` may
 * return a promise to apply backpressure.
 */
export function streamReport(json: boolean, write: (s: string) => void | Promise<void>) {
  let any = false;
  return {
    /** Before the comparison starts. */
    begin: async (): Promise<void> => {
      if (json) await write('{\n  "differences": [');
    },
    /** diffCaptures' onDifferences. */
    differences: async (ds: Difference[]): Promise<void> => {
      let text = '';
      for (const d of ds) {
        if (json) text += `${any ? ',' : ''}\n    ${JSON.stringify(differenceJson(d), null, 2).replace(/\n/g, '\n    ')}`;
        else text += differenceLines(d);
        any = true;
      }
      if (text) await write(text);
    },
    /** After it, with its result. */
    end: async (r: DiffResult): Promise<void> => {
      if (!json) return write(endLines(r));
      const { differences: _listed, ...rest } = diffJson(r) as Record<string, unknown>;
      await write(`${any ? '\n  ' : ''}],${JSON.stringify(rest, null, 2).slice(1)}\n`);
    },
  };
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
  const more = r.truncated ? `; ${r.omitted} more not shown (--max ${r.total - r.omitted})` : '';
  return `differ: ${plural(r.total, 'difference')} in ${plural(r.packetsDiffering, 'packet')} (${counts})${more}`;
}

/** The `--json` document: {equal, packets, differences: [{packet, field, expected, actual, ...}], truncated, ...}. */
export function diffJson(r: DiffResult): object {
  return {
    equal: r.equal,
    packets: r.packets,
    differences: r.differences.map(differenceJson),
    truncated: r.truncated,
    omitted: r.omitted,
    total: r.total,
    packetsDiffering: r.packetsDiffering,
    notes: r.notes,
  };
}

/** One difference of the `--json` document. */
function differenceJson(d: Difference): Record<string, unknown> {
  const o: Record<string, unknown> = { packet: d.packet };
  if (d.actualPacket !== undefined) o.actualPacket = d.actualPacket;
  o.kind = d.kind;
  o.field = d.field;
  o.expected = d.expected;
  o.actual = d.actual;
  if (d.note !== undefined) o.note = d.note;
  if (d.offset !== undefined) o.offset = d.offset;
  return o;
}
