/**
 * The progress bar of long commands, on stderr when it is a terminal:
 *
 *   [#########-----------]  45%  120.5 MB/267.3 MB  38.2 MB/s  ETA 0:04  file 2/3  b.pcap
 *
 * Percent and ETA are of input bytes (as stored: a gzip input counts its compressed bytes);
 * without a known total (stdin, a FIFO) it shows bytes and rate only. The caller drives it with
 * snapshots (files done/total, bytes done/total), so a batch of parallel jobs can drive one bar
 * as well as a single run. Messages go through log(), which clears the bar, prints the line and
 * draws the bar again, so warnings never end up glued to a half-drawn bar.
 *
 * Hand-made (about a hundred lines) rather than a dependency: the few progress libraries that are
 * kept up draw through their own timers and streams, where capflow needs a bar it redraws from its
 * own batch loop and can interleave with its messages.
 */

export interface ProgressSnapshot {
  /** Inputs finished so far, and how many there are. */
  filesDone: number;
  filesTotal: number;
  /** The input being read (shown after `file k/N`), if any. */
  file?: string | undefined;
  /** Input bytes read so far over all inputs, and their total when known (null: unknown). */
  bytesDone: number;
  bytesTotal: number | null;
}

export interface ProgressTarget {
  write(s: string): unknown;
  columns?: number | undefined;
}

export interface ProgressOptions {
  /** Milliseconds between redraws (default 100). */
  intervalMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

export class ProgressBar {
  private readonly start: number;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private last: ProgressSnapshot | null = null;
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(
    private readonly out: ProgressTarget,
    opts: ProgressOptions = {},
  ) {
    this.now = opts.now ?? (() => Date.now());
    this.intervalMs = opts.intervalMs ?? 100;
    this.start = this.now();
  }

  /** New state; the bar is redrawn at most every intervalMs (and always when a file ends). */
  update(s: ProgressSnapshot): void {
    const fileEnded = this.last !== null && s.filesDone !== this.last.filesDone;
    this.last = s;
    const t = this.now();
    if (!fileEnded && t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    this.draw();
  }

  /** Print a message line (e.g. a warning) above the bar. */
  log(line: string): void {
    this.clear();
    this.out.write(line.endsWith('\n') ? line : `${line}\n`);
    if (this.last) this.draw();
  }

  /** Remove the bar (at the end, before the summary). */
  done(): void {
    this.clear();
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }

  private draw(): void {
    if (!this.last) return;
    const width = Math.max(40, (this.out.columns || 80) - 1);
    this.out.write(`\r${formatProgress(this.last, this.now() - this.start, width)}\x1b[K`);
    this.drawn = true;
  }
}

/** One line of progress, at most `width` characters. */
export function formatProgress(s: ProgressSnapshot, elapsedMs: number, width = 80): string {
  const rate = elapsedMs > 0 ? (s.bytesDone * 1000) / elapsedMs : 0;
  const parts: string[] = [];
  const known = s.bytesTotal !== null && s.bytesTotal > 0;
  const fraction = known ? Math.min(1, s.bytesDone / s.bytesTotal!) : 0;
  if (known) {
    parts.push(`${(fraction * 100).toFixed(0).padStart(3)}%`);
    parts.push(`${size(s.bytesDone)}/${size(s.bytesTotal!)}`);
  } else {
    parts.push(size(s.bytesDone));
  }
  parts.push(`${size(rate)}/s`);
  if (known && rate > 0) parts.push(`ETA ${clock((s.bytesTotal! - Math.min(s.bytesDone, s.bytesTotal!)) / rate)}`);
  if (s.filesTotal > 1) parts.push(`file ${Math.min(s.filesDone + 1, s.filesTotal)}/${s.filesTotal}`);
  let text = parts.join('  ');
  // A bar of 20 cells in front when there is room; the file name last, cut when there is not.
  const cells = 20;
  if (known && width - text.length >= cells + 3) {
    const full = Math.round(fraction * cells);
    text = `[${'#'.repeat(full)}${'-'.repeat(cells - full)}] ${text}`;
  }
  if (s.file) text += `  ${s.file}`;
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** Bytes in kB, MB or GB (decimal, like the run summary), one decimal. */
function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e3).toFixed(1)} kB`;
}

/** Seconds as m:ss or h:mm:ss. */
function clock(seconds: number): string {
  const t = Math.max(0, Math.round(seconds));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
