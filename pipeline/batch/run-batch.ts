/**
 * A batch: one output per input, `jobs` files at a time. A file that fails does not stop the
 * others unless `failFast`; results come back in input order whatever order files finish in.
 */
import { statSync } from 'node:fs';
import type { RunSummary } from '../run.js';
import {
  InProcessExecutor,
  discardPrestartedWorkers,
  takeWorker,
  workersAvailable,
  type Executor,
  type FileJob,
  type JobSettings,
} from './executor.js';

export type FileResult =
  | { job: FileJob; status: 'done'; summary: RunSummary; seconds: number }
  | { job: FileJob; status: 'failed'; error: Error; seconds: number }
  | { job: FileJob; status: 'skipped' };

export interface BatchProgress {
  filesDone: number;
  filesTotal: number;
  /** Input bytes: whole sizes of finished files plus what running files have read. */
  bytesDone: number;
  bytesTotal: number;
  failed: number;
}

export interface BatchOptions extends JobSettings {
  jobs: number;
  failFast: boolean;
  onWarning: (message: string) => void;
  /** Called when a file fails (the batch goes on unless failFast). */
  onFailure?: (result: FileResult & { status: 'failed' }) => void;
  onProgress?: (p: BatchProgress) => void;
  /** Stops the batch (SIGINT/SIGTERM): no file starts, running files are stopped and removed. */
  signal?: AbortSignal | undefined;
  /** Synchronous file I/O in every job (RunOptions.syncIO, default true). */
  syncIO?: boolean | undefined;
}

/** Size of an input file for progress (0 for stdin or when it can't be read: it will fail). */
function sizeOf(input: string): number {
  if (input === '-') return 0;
  try {
    return statSync(input).size;
  } catch {
    return 0;
  }
}

export async function runBatch(jobs: readonly FileJob[], opts: BatchOptions): Promise<FileResult[]> {
  const sizes = jobs.map((j) => sizeOf(j.input));
  const state: BatchProgress = { filesDone: 0, filesTotal: jobs.length, bytesDone: 0, bytesTotal: sizes.reduce((a, b) => a + b, 0), failed: 0 };
  const running = new Map<number, number>(); // job position -> bytes read so far
  let finishedBytes = 0;
  const report = () => {
    if (!opts.onProgress) return;
    let partial = 0;
    for (const [at, b] of running) partial += Math.min(b, sizes[at]!);
    state.bytesDone = finishedBytes + partial;
    opts.onProgress(state);
  };

  const results: (FileResult | undefined)[] = new Array(jobs.length);
  const slots = Math.max(1, Math.min(opts.jobs, jobs.length));
  // stdin can only be read in this thread; with workers it runs here, in its slot's turn.
  const settings: JobSettings = { source: opts.source, format: opts.format, strict: opts.strict, countBadChecksums: opts.countBadChecksums, syncIO: opts.syncIO };
  const inProcess = new InProcessExecutor(settings);
  const executors: Executor[] = [];
  let next = 0;
  let stop = false;

  const slot = async (executor: Executor) => {
    while (!stop && !opts.signal?.aborted && next < jobs.length) {
      const at = next++;
      const job = jobs[at]!;
      running.set(at, 0);
      const t0 = performance.now();
      try {
        const ex = job.input === '-' ? inProcess : executor;
        const outcome = await ex.run(job, {
          onWarning: opts.onWarning,
          onProgress: (bytesIn) => {
            running.set(at, bytesIn);
            report();
          },
          signal: opts.signal,
        });
        results[at] = { job, status: 'done', ...outcome };
      } catch (e) {
        if (opts.signal?.aborted) {
          // Stopped, not failed: the file is simply not done (a resumed batch does it).
          running.delete(at);
          continue;
        }
        const failed = { job, status: 'failed' as const, error: e instanceof Error ? e : new Error(String(e)), seconds: (performance.now() - t0) / 1000 };
        results[at] = failed;
        state.failed++;
        opts.onFailure?.(failed);
        if (opts.failFast) stop = true;
      }
      running.delete(at);
      finishedBytes += sizes[at]!;
      state.filesDone++;
      report();
    }
  };

  try {
    report();
    const loops: Promise<void>[] = [];
    for (let i = 0; i < slots; i++) {
      // This thread is one of the jobs (it only waits on I/O and the workers' rare messages
      // otherwise), so --jobs 1 runs exactly like a plain `capflow run` and --jobs N starts
      // N-1 workers, each costing a module load and a heap.
      const ex = i > 0 && workersAvailable ? takeWorker().configure(settings) : inProcess;
      executors.push(ex);
      loops.push(slot(ex));
    }
    await Promise.all(loops);
  } finally {
    await Promise.all([...new Set([...executors, inProcess])].map((e) => e.close()).concat(discardPrestartedWorkers()));
  }
  return results.filter((r): r is FileResult => r !== undefined);
}
