/**
 * Where a batch file runs: in this thread, or in a worker thread of its own (its own event loop
 * and heap, so files run on separate cores; each still streams with the constant memory of one
 * `capflow run`). Workers get the pipeline as plain data (the parsed document and overrides) and
 * validate it again themselves: a resolved config holds stage code, which cannot be posted.
 *
 * A worker thread takes a while to start (a Node environment, the worker's modules, and the
 * pipeline validator with zod and the stages when there is a pipeline): the CLI starts the
 * batch's workers first thing (prestartWorkers), before it reads and validates the pipeline
 * itself, so that they start while it does, and hands them their settings when the batch begins.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PipelineConfig } from '../config.js';
import { ConfigError } from '../config-error.js';
import { loadPipelineConfig, type PipelineSource } from '../pipeline-source.js';
import { runCapture, type CaptureFormat, type PipelineSlot, type RunSummary } from '../run.js';

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
  /** The pipeline of the last file, run with again (reset) for the next one. */
  private readonly pipelineSlot: PipelineSlot = { pipeline: null };
  constructor(private readonly settings: JobSettings) {}

  /** Validate the pipeline now (a worker, before its first file); its errors come from run(). */
  prepare(): void {
    this.config ??= loadPipelineConfig(this.settings.source);
    this.config.catch(() => {});
  }

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
      pipelineSlot: this.pipelineSlot,
    });
    return { summary, seconds: (performance.now() - t0) / 1000 };
  }

  async close(): Promise<void> {}
}

/** Messages between the batch and its workers. */
export type ToWorker = { type: 'settings'; settings: JobSettings } | { type: 'job'; job: FileJob } | { type: 'stop'; reason: string };

/** What a worker is started with: whether to load the pipeline validator before its settings come. */
export interface WorkerStart {
  loadValidator: boolean;
}
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
  private settings: JobSettings | null = null;

  constructor(private readonly start: WorkerStart = { loadValidator: false }) {}

  /** Start the worker thread now, ahead of its settings and files. */
  prestart(): this {
    this.worker ??= this.spawn();
    return this;
  }

  /** The batch's settings: the worker validates the pipeline as soon as it has them. */
  configure(settings: JobSettings): this {
    this.settings = settings;
    this.worker?.postMessage({ type: 'settings', settings } satisfies ToWorker);
    return this;
  }

  /**
   * A new worker thread, told its settings when they are known. It does not keep the process
   * alive while it has no file (a prestarted worker the batch never uses, say after a usage error).
   */
  private spawn(): Worker {
    const w = new Worker(workerScript!, { workerData: this.start });
    w.unref();
    if (this.settings) w.postMessage({ type: 'settings', settings: this.settings } satisfies ToWorker);
    return w;
  }

  run(job: FileJob, hooks: JobHooks): Promise<JobOutcome> {
    if (!this.settings) throw new Error('WorkerExecutor.run before configure()');
    const worker = (this.worker ??= this.spawn());
    worker.ref();
    return new Promise<JobOutcome>((resolve, reject) => {
      // A stop reaches the worker as a message: it aborts the file, which removes its temporary.
      const onAbort = () => worker.postMessage({ type: 'stop', reason: String(hooks.signal?.reason) } satisfies ToWorker);
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        worker.unref();
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

/** Workers started ahead of the batch (prestartWorkers), until the batch takes them. */
const prestarted: WorkerExecutor[] = [];

/**
 * Start `count` worker threads now, for a batch about to begin: they start up while this thread
 * reads and validates the pipeline. `loadValidator`: there is a pipeline to validate, so the
 * workers load the validator too.
 */
export function prestartWorkers(count: number, loadValidator: boolean): void {
  if (!workersAvailable) return;
  for (let i = 0; i < count; i++) prestarted.push(new WorkerExecutor({ loadValidator }).prestart());
}

/** A prestarted worker, or a new one (started with its first file). */
export function takeWorker(): WorkerExecutor {
  return prestarted.shift() ?? new WorkerExecutor();
}

/** Stop the prestarted workers no batch took (fewer files than expected, or no batch at all). */
export function discardPrestartedWorkers(): Promise<void> {
  return Promise.all(prestarted.splice(0).map((w) => w.close())).then(() => {});
}
