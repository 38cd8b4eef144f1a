/** What a comparison returns (`diffCaptures`) and the bounded collector that fills it. */

export interface Difference {
  /**
   * 1-based packet number: in EXPECTED, except for a packet extra in ACTUAL (kind 'extra'),
   * which is numbered in ACTUAL.
   */
  packet: number;
  /** --unordered: the number in ACTUAL of the packet matched with `packet`, when it is another. */
  actualPacket?: number;
  kind: 'field' | 'missing' | 'extra';
  /**
   * Dotted field name (`outer.ipv4.ttl`, `vlan[1].id`, `timestamp`), usable with --ignore; a
   * whole header present on one side only is named by its layer (`inner.tcp`); `packet` for
   * kinds 'missing' and 'extra'.
   */
  field: string;
  /** The field as the reviewer reads it: `outer ipv4.ttl`. */
  label: string;
  /** Decoded values (`64`, `0x1c46`, `10.0.0.1`, `(absent)`); for missing/extra, a packet summary. */
  expected: string;
  actual: string;
  /** Extra detail, e.g. `3 of 1448 bytes differ`. */
  note?: string;
  /** Frame offset of the field in EXPECTED (in ACTUAL when it exists there only). */
  offset?: number;
  /**
   * Hex context of the packet's differing bytes (rendered lines), on the last listed difference
   * of a packet whose bytes differ.
   */
  context?: string[];
}

export interface DiffResult {
  /** No difference (after --ignore). */
  equal: boolean;
  /** Packets read from each side. */
  packets: { expected: number; actual: number };
  /** Differences in the order found, at most `max` of them (empty when they were streamed: `onDifferences`). */
  differences: Difference[];
  /** Every difference found, listed or not. */
  total: number;
  /** More differences were found than listed. */
  truncated: boolean;
  /** total - differences.length. */
  omitted: number;
  /** Packets with at least one difference (missing and extra ones included). */
  packetsDiffering: number;
  /** Things the comparison could not check (e.g. comments against a pcap file). */
  notes: string[];
}

/**
 * Collects up to `max` differences (0 = no limit) and counts the rest. With a `stream` callback
 * the listed differences are handed to it as they are found (drain(), at packet boundaries) and
 * not kept: memory stays bounded however many there are.
 */
export class DiffCollector {
  /** Listed differences (with a stream: only those not handed over yet). */
  readonly differences: Difference[] = [];
  /** Differences listed so far (kept or streamed). */
  listed = 0;
  total = 0;
  packetsDiffering = 0;

  constructor(
    readonly max: number,
    private readonly stream?: (listed: Difference[]) => void | Promise<void>,
  ) {}

  /** Room for another listed difference. */
  get room(): boolean {
    return this.max === 0 || this.listed < this.max;
  }

  add(d: Difference): void {
    this.total++;
    if (this.room) {
      this.differences.push(d);
      this.listed++;
    }
  }

  /** Hand the differences listed since the last call to the stream (no-op without one). */
  async drain(): Promise<void> {
    if (!this.stream || this.differences.length === 0) return;
    await this.stream(this.differences.splice(0));
  }

  /** Count differences that are not listed (found after the list is full). */
  skip(n: number): void {
    this.total += n;
  }

  result(packets: { expected: number; actual: number }, notes: string[]): DiffResult {
    return {
      equal: this.total === 0,
      packets,
      differences: this.differences,
      total: this.total,
      truncated: this.total > this.listed,
      omitted: this.total - this.listed,
      packetsDiffering: this.packetsDiffering,
      notes,
    };
  }
}
