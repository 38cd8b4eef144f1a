/**
 * `capflow run IN... --out-dir DIR`: the batch. One output per input, --jobs files at a time,
 * the rest of the batch going on when one file fails, finished outputs skipped on request, and
 * one stable shard of the inputs when the work is split across machines.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EXIT, io } from './command.js';
import { reportError } from './errors.js';
import { terminalBatchProgress } from './batch-progress.js';
import { signalStatus, stopSignals, type StopSignals } from './signals.js';
import { ConfigError } from '../pipeline/config-error.js';
import { outDirPlan, type CaptureFormat, type RunSummary } from '../pipeline/run.js';
import { selectShard, type Shard } from '../pipeline/batch/shard.js';
import type { BatchArgs } from './batch-args.js';
import { isUpToDate } from '../pipeline/batch/freshness.js';
import { runBatch, type FileResult } from '../pipeline/batch/run-batch.js';
import type { FileJob, PipelineSource } from '../pipeline/batch/executor.js';

export interface BatchContext {
  inputs: string[];
  outDir: string;
  source: PipelineSource;
  /** Files the pipeline was built from: an output older than one of them is out of date. */
  dependencies: string[];
  format: CaptureFormat | undefined;
  strict: boolean;
  /** Files read and written synchronously on each job's thread (RunOptions.syncIO; false: --async-io). */
  syncIO: boolean;
  json: boolean;
  showProgress: boolean;
  /** The single-run JSON shape, which the batch extends. */
  jsonSummary: (summaries: RunSummary[]) => Record<string, unknown>;
  textSummary: (s: RunSummary) => string;
}

export async function runBatchCommand(ctx: BatchContext, args: BatchArgs): Promise<number> {
  // Every input's output, checked over the whole batch (all shards) before anything is written:
  // two inputs never share an output, none replaces an input.
  const outputs = outDirPlan(ctx.inputs, ctx.outDir, ctx.format).map((p) => p.output);
  const picked = args.shard ? selectShard(ctx.inputs, args.shard, args.root) : ctx.inputs.map((input, index) => ({ input, index }));
  mkdirSync(ctx.outDir, { recursive: true });

  const results: FileResult[] = [];
  const jobs: FileJob[] = [];
  // A resumed batch (a retried pod) keeps the counters of the files it skips from the summary the
  // earlier run wrote, so the per-shard summaries still add up to the whole batch.
  const previous = args.skipExisting && args.summary ? previousSummary(args.summary) : new Map<string, CarriedInput>();
  const carried = new Map<number, CarriedInput>();
  for (const { input, index } of picked) {
    const job = { index, input, output: outputs[index]! };
    if (args.skipExisting && isUpToDate(job.output, input, ctx.dependencies)) {
      results.push({ job, status: 'skipped' });
      const before = previous.get(carryKey(input, job.output));
      if (before) carried.set(index, before);
    } else jobs.push(job);
  }

  const stop = stopSignals();
  try {
    return await runJobs(ctx, args, jobs, results, carried, stop);
  } finally {
    stop.dispose();
  }
}

async function runJobs(
  ctx: BatchContext,
  args: BatchArgs,
  jobs: FileJob[],
  results: FileResult[],
  carried: Map<number, CarriedInput>,
  stop: StopSignals,
): Promise<number> {
  const progress = ctx.showProgress ? terminalBatchProgress(io.err) : null;
  let lastProgress = null as Parameters<NonNullable<typeof progress>['update']>[0] | null;
  const say = (m: string) => {
    progress?.interrupt();
    io.err(m);
  };
  results.push(
    ...(await runBatch(jobs, {
      jobs: args.jobs,
      failFast: args.failFast,
      source: ctx.source,
      format: ctx.format,
      strict: ctx.strict,
      syncIO: ctx.syncIO,
      // A JSON summary (--json, --summary) counts bad checksums: a sum over every packet.
      countBadChecksums: ctx.json || args.summary !== undefined,
      onWarning: (m) => say(`capflow: ${m}\n`),
      onFailure: (r) => {
        if (!args.failFast) say(`capflow: ${failureLine(r.job, r.error)}\n`);
      },
      onProgress: progress
        ? (p) => {
            lastProgress = { ...p };
            progress.update(p);
          }
        : undefined,
      signal: stop.signal,
    })),
  );
  progress?.finish(lastProgress);
  results.sort((a, b) => a.job.index - b.job.index);
  const done = results.filter((r): r is FileResult & { status: 'done' } => r.status === 'done');
  const json = () => batchJson(ctx, done, results, args.shard, carried);

  if (stop.received) {
    // What was finished stays (and its summary, for --skip-existing to resume from); the files
    // being converted were stopped and their temporaries removed.
    if (args.summary) writeAtomically(args.summary, `${JSON.stringify(json(), null, 2)}\n`);
    for (const r of done) io.err(ctx.textSummary(r.summary));
    const total = jobs.length + results.filter((r) => r.status === 'skipped').length;
    io.err(`capflow: stopped by ${stop.received}: ${done.length} of ${total} files converted; rerun with --skip-existing to convert the rest\n`);
    return signalStatus(stop.received);
  }

  const failed = results.filter((r): r is FileResult & { status: 'failed' } => r.status === 'failed');
  if (args.failFast && failed.length) return reportError(failed[0]!.error);

  const summary = json();
  if (args.summary) writeAtomically(args.summary, `${JSON.stringify(summary, null, 2)}\n`);
  if (ctx.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    for (const r of done) io.err(ctx.textSummary(r.summary));
    const skipped = results.length - done.length - failed.length;
    if (skipped) io.err(`${skipped} up-to-date output${skipped > 1 ? 's' : ''} skipped (--skip-existing)\n`);
  }
  if (failed.length) {
    io.err(`capflow: ${failed.length} of ${results.length} input${results.length > 1 ? 's' : ''} failed:\n`);
    for (const r of failed) io.err(`  ${failureLine(r.job, r.error)}\n`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

/** The error, naming the input unless the message already does. */
function failureLine(job: FileJob, e: Error): string {
  return e.message.includes(job.input) ? e.message : `${job.input}: ${e.message}`;
}

/**
 * The single-run summary plus, per input, its position in the input list (`index`, what
 * merge-summaries orders by) and wall time; `skipped` and `failed` lists; `shard` when sharded.
 */
function batchJson(
  ctx: BatchContext,
  done: (FileResult & { status: 'done' })[],
  all: FileResult[],
  shard: Shard | null,
  carried: Map<number, CarriedInput>,
): Record<string, unknown> {
  const counted = [
    ...done.map((r) => ({ index: r.job.index, summary: r.summary, seconds: Math.round(r.seconds * 1000) / 1000 })),
    ...[...carried].map(([index, c]) => ({ index, summary: c.summary, seconds: c.seconds })),
  ].sort((a, b) => a.index - b.index);
  const json = ctx.jsonSummary(counted.map((c) => c.summary));
  const inputs = json.inputs as Record<string, unknown>[];
  // One input per output in a batch: entry j belongs to counted[j].
  json.inputs = inputs.map((e, j) => ({ ...e, index: counted[j]!.index, seconds: counted[j]!.seconds }));
  json.skipped = all.filter((r) => r.status === 'skipped').map((r) => ({ file: r.job.input, output: r.job.output, index: r.job.index }));
  json.failed = all
    .filter((r): r is FileResult & { status: 'failed' } => r.status === 'failed')
    .map((r) => ({ file: r.job.input, output: r.job.output, index: r.job.index, error: r.error.message }));
  if (shard) json.shard = { index: shard.index, count: shard.count };
  return json;
}

/** A skipped file's entry in an earlier summary, as a one-input run summary. */
interface CarriedInput {
  summary: RunSummary;
  seconds: unknown;
}

const carryKey = (input: string, output: string) => `${input}\0${output}`;

/** The per-input entries of the summary an earlier run wrote at `path` (none when unreadable). */
function previousSummary(path: string): Map<string, CarriedInput> {
  const found = new Map<string, CarriedInput>();
  let json: any;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return found;
  }
  if (!Array.isArray(json?.inputs)) return found;
  const formats = new Map<string, unknown>();
  if (Array.isArray(json.outputs)) for (const o of json.outputs) formats.set(o?.output, o?.format);
  for (const e of json.inputs) {
    if (typeof e?.file !== 'string' || typeof e?.output !== 'string') continue;
    const { file, output, index: _index, seconds, ...counters } = e;
    const summary = { ...counters, output, format: formats.get(output) ?? 'pcap', inputs: [{ file, ...counters }] } as RunSummary;
    found.set(carryKey(file, output), { summary, seconds });
  }
  return found;
}

/** Write a small file atomically (temp name in the same directory, then rename). */
export function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path) || '.', { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.capflow-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Files a pipeline was read from: the pipeline file, and the NIC profile when it is a file. */
export function pipelineDependencies(argv: { pipeline?: string; nic?: string }, nic: string): string[] {
  const deps: string[] = [];
  if (argv.pipeline && argv.pipeline !== '-') deps.push(argv.pipeline);
  if (existsSync(nic) && isFile(nic)) deps.push(nic);
  return deps;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
