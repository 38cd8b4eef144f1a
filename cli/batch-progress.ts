/**
 * Batch progress on a terminal: one line on stderr, redrawn at most every 250 ms: files done of
 * total, input bytes done of total, rate and ETA. Behind this small interface so the display can
 * change without touching the batch.
 */
import type { BatchProgress } from '../pipeline/batch/run-batch.js';

export interface BatchProgressView {
  update(p: BatchProgress): void;
  /** Clear the line to print a message above it; the next update redraws it. */
  interrupt(): void;
  finish(p: BatchProgress | null): void;
}

export function terminalBatchProgress(write: (s: string) => void, now: () => number = () => performance.now()): BatchProgressView {
  const started = now();
  let last = -Infinity;
  let drawn = false;
  const draw = (p: BatchProgress) => {
    write(`\r\x1b[K${batchProgressLine(p, (now() - started) / 1000)}`);
    drawn = true;
  };
  return {
    update(p) {
      const t = now();
      if (t - last < 250) return;
      last = t;
      draw(p);
    },
    interrupt() {
      if (drawn) write('\r\x1b[K');
      drawn = false;
      last = -Infinity;
    },
    finish(p) {
      if (p) draw(p);
      if (drawn) write('\n');
      drawn = false;
    },
  };
}

/** "7/20 files, 350.2/1000.0 MB, 210 MB/s, ETA 3 s" (rate and ETA once something was read). */
export function batchProgressLine(p: BatchProgress, elapsedSeconds: number): string {
  const mb = (b: number) => (b / 1e6).toFixed(1);
  let line = `${p.filesDone}/${p.filesTotal} files, ${mb(p.bytesDone)}/${mb(p.bytesTotal)} MB`;
  if (p.bytesDone > 0 && elapsedSeconds > 0) {
    const rate = p.bytesDone / elapsedSeconds;
    line += `, ${(rate / 1e6).toFixed(0)} MB/s`;
    if (p.filesDone < p.filesTotal) line += `, ETA ${duration(Math.max(0, p.bytesTotal - p.bytesDone) / rate)}`;
  }
  if (p.failed) line += `, ${p.failed} failed`;
  return line;
}

function duration(s: number): string {
  if (s < 60) return `${Math.ceil(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
