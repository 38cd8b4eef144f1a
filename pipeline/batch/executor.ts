/**
 * Where a batch file runs: in this thread, or in a worker thread of its own (its own event loop
 * and heap, so files run on separate cores; each still streams with the constant memory of one
 * `capflow run`). Workers get the pipeline as plain data (the parsed document and overrides) and
 * validate it again themselves: a resolved config holds stage code, which cannot be posted.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PipelineConfig } from '../config.js';
import { ConfigError } from '../config-error.js';
import { loadPipelineConfig, type PipelineSource } from '../pipeline-source.js';
import { runCapture, type CaptureFormat, type RunSummary } from '../run.js';

export type { PipelineSource } from '../pipeline-source.js';

export interface FileJob {
  /** Position of the input in the full input list (before sharding or skipping). */
  index: number;
  input: string;
  output: string;
}

export interface JobSettings {
  source: PipelineSource;
  format?: CaptureFormat | undefined;
  strict: boolean;
  /** Tell bad checksums from complete ones (`badChecksums`): a sum over every packet. */
  countBadChecksums?: boolean | undefined;
  /** Files are read and written synchronously on the job's thread (RunOptions.syncIO). */
  syncIO?: boolean | undefined;
}

export interface JobHooks {
  onWarning: (message: string) => void;
  /** Input bytes (packet bytes read) of this file so far. */
  onProgress: (bytesIn: number) => void;
  /** Stops the file (SIGINT/SIGTERM): its temporary output is removed and run() rejects. */
  signal?: AbortSignal | undefined;
}

export interface JobOutcome {
  summary: RunSummary;
  seconds: number;
}

export interface Executor {
  run(job: FileJob, hooks: JobHooks): Promise<JobOutcome>;
  close(): Promise<void>;
}

export class InProcessExecutor implements Executor {
  private config: Promise<PipelineConfig> | null = null;
  constructor(private readonly settings: JobSettings) {}

  async run(job: FileJob, hooks: JobHooks): Promise<JobOutcome> {
    const config = await (this.config ??= loadPipelineConfig(this.settings.source));
    const t0 = performance.now();
    const summary = await runCapture({
      inputs: [job.input],
      output: job.output,
      format: this.settings.format,
      config,
      strict: this.settings.strict,
      countBadChecksums: this.settings.countBadChecksums,
      syncIO: this.settings.syncIO,
      onWarning: hooks.onWarning,
      onProgress: (p) => hooks.onProgress(p.bytesIn),
      signal: hooks.signal,
    });
    return { summary, seconds: (performance.now() - t0) / 1000 };
  }

  async close(): Promise<void> {}
}

/** Messages between the batch and its workers. */
export type ToWorker = { type: 'job'; job: FileJob } | { type: 'stop'; reason: string };
export type FromWorker =
  | { type: 'warning'; message: string }
  | { type: 'progress'; bytesIn: number }
  | { type: 'done'; outcome: JobOutcome }
  | { type: 'failed'; error: PostedError };

export interface PostedError {
  message: string;
  configError: boolean;
  stack?: string | undefined;
}

export function postError(e: unknown): PostedError {
  const err = e instanceof Error ? e : new Error(String(e));
  return { message: err.message, configError: err instanceof ConfigError, stack: err.stack };
}

export function revive(p: PostedError): Error {
  const e = p.configError ? new ConfigError(p.message) : new Error(p.message);
  if (p.stack) e.stack = p.stack;
  return e;
}

/**
 * The compiled worker entry: next to this module in dist/, or seen from the bundled binary
 * (dist/cli, see cli/bundle.mjs); absent when capflow runs from its TypeScript sources (tests).
 */
const workerScript = [new URL('./worker.js', import.meta.url), new URL('../pipeline/batch/worker.js', import.meta.url)].find((u) =>
  existsSync(fileURLToPath(u)),
);
export const workersAvailable = workerScript !== undefined;

export class WorkerExecutor implements Executor {
  private worker: Worker | null = null;

  constructor(private readonly settings: JobSettings) {}

  run(job: FileJob, hooks: JobHooks): Promise<JobOutcome> {
    const worker = (this.worker ??= new Worker(workerScript!, { workerData: this.settings }));
    return new Promise<JobOutcome>((resolve, reject) => {
      // A stop reaches the worker as a message: it aborts the file, which removes its temporary.
      const onAbort = () => worker.postMessage({ type: 'stop', reason: String(hooks.signal?.reason) } satisfies ToWorker);
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        hooks.signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onMessage = (m: FromWorker) => {
        if (m.type === 'warning') hooks.onWarning(m.message);
        else if (m.type === 'progress') hooks.onProgress(m.bytesIn);
        else {
          cleanup();
          if (m.type === 'done') resolve(m.outcome);
          else reject(revive(m.error));
        }
      };
      // A worker that dies takes only its current file with it; the next file gets a new worker.
      const onError = (e: Error) => {
        cleanup();
        this.worker = null;
        reject(e);
      };
      const onExit = (code: number) => {
        cleanup();
        this.worker = null;
        reject(new Error(`worker thread exited (status ${code}) while processing ${job.input}`));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ type: 'job', job } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    // Not awaited: a worker stopped in a read that nothing can cancel (a FIFO with no data)
    // ends only when that read returns, and the process must not wait for it.
    if (w) {
      w.unref();
      w.terminate().catch(() => {});
    }
  }
}
