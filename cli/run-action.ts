/**
 * What `capflow run` does once its command line is parsed (by yargs, or by main.ts's fast path
 * for a plain `run IN... -o OUT`). Only what a run needs is loaded: the pipeline validator, zod
 * and the stages when there is a pipeline to validate (pipeline-source.ts).
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isatty } from 'node:tty';
import { EXIT, io } from './command.js';
import { pipelineSourceFromArgs } from './options.js';
import { reportError } from './errors.js';
import { batchArgs } from './batch-args.js';
import { loadPipelineConfig } from '../pipeline/pipeline-source.js';
import { runCapture, RunStopped, type RunSummary, type CaptureFormat, type Progress } from '../pipeline/run.js';
import { ConfigError } from '../pipeline/config-error.js';
import { classifyOutput, closedStdoutError, stdoutClosed } from '../pipeline/pcap/output.js';
import { signalStatus, stopSignals, type StopSignals } from './signals.js';
import { ProgressBar } from './progress.js';
import { addStageCounters, type StageCounters } from '../pipeline/pipeline.js';

/** The run command's handler: the exit status. */
export async function runAction(argv: Record<string, any>): Promise<number> {
  let stop: StopSignals | null = null;
  try {
    const inputs = ([] as unknown[]).concat(argv.inputs ?? []).map(String);
    if (argv.outDir) await prestartBatchWorkers(argv, inputs.length);
    const source = await pipelineSourceFromArgs(argv);
    const config = await loadPipelineConfig(source);
    if (!argv.output && !argv.outDir) throw new ConfigError('run: give -o OUT (one output) or --out-dir DIR (one output per input)');
    if (argv.output && argv.outDir) throw new ConfigError('run: -o and --out-dir exclude each other');
    const batch = batchArgs(argv);
    // The summary would go nowhere: refuse before any work.
    if (argv.json && argv.output !== '-' && stdoutClosed()) throw closedStdoutError();
    // isatty(2), not process.stderr.isTTY: creating the stream costs start-up (command.ts, toStderr).
    const showProgress = (argv.progress ?? isatty(2)) === true;
    const format = argv.format as CaptureFormat | undefined;
    const syncIO = argv.asyncIo !== true;
    if (argv.outDir) {
      const { pipelineDependencies, runBatchCommand } = await import('./run-batch.js');
      return await runBatchCommand(
        { inputs, outDir: argv.outDir, source, dependencies: pipelineDependencies(argv, config.nic), format, strict: argv.strict, syncIO, json: argv.json, showProgress, jsonSummary, textSummary },
        batch,
      );
    }
    const bar = showProgress ? new ProgressBar({ write: io.err, columns: process.stderr.columns }) : null;
    const onProgress = bar ? inputProgress(bar, inputs) : undefined;
    const onWarning = (m: string) => (bar ? bar.log(`capflow: ${m}`) : io.err(`capflow: ${m}\n`));
    stop = stopSignals();
    const summaries: RunSummary[] = [];
    try {
      // Bad checksums are told from complete ones (a sum over every packet) for the JSON summary only.
      const countBadChecksums = argv.json === true && argv.output !== '-';
      summaries.push(await runCapture({ inputs, output: argv.output, format, config, strict: argv.strict, countBadChecksums, syncIO, onWarning, onProgress, signal: stop.signal }));
    } finally {
      bar?.done();
    }
    if (argv.json && argv.output !== '-') io.out(`${JSON.stringify(jsonSummary(summaries), null, 2)}\n`);
    else if (!argv.json) for (const s of summaries) io.err(textSummary(s));
    return EXIT.OK;
  } catch (e) {
    if (e instanceof RunStopped) {
      // What was done, then the stop; the output being written is removed.
      io.err(stoppedSummary(e));
      return signalStatus(stop?.received ?? 'SIGTERM');
    }
    return reportError(e);
  } finally {
    stop?.dispose();
    if (argv.outDir) await (await import('../pipeline/batch/executor.js')).discardPrestartedWorkers();
  }
}

/**
 * A batch of several jobs: its worker threads are started before anything else (they start up
 * while this thread reads and validates the pipeline); the batch takes them when it begins. A
 * --jobs that is not a whole number starts none (batchArgs refuses it below).
 */
async function prestartBatchWorkers(argv: Record<string, any>, inputs: number): Promise<void> {
  const jobs = argv.jobs === undefined ? availableParallelism() : Number(argv.jobs);
  const workers = Math.min(jobs, inputs) - 1;
  if (!Number.isSafeInteger(workers) || workers < 1) return;
  const { prestartWorkers } = await import('../pipeline/batch/executor.js');
  prestartWorkers(workers, !!(argv.pipeline || argv.stage?.length || argv.nic || argv.view));
}

function stoppedSummary(e: RunStopped): string {
  const s = e.summary;
  const inPlace = s.output === '-' || classifyOutput(s.output).kind !== 'file';
  const fate = inPlace ? 'what was written before the stop stays (written in place)' : `${s.output} not written (temporary removed)`;
  return `${s.output}: stopped by ${e.reason} after ${s.packetsIn} in, ${s.forwarded} forwarded, ${s.dropped} dropped, ${s.packetsOut} out; ${fate}\n`;
}

/** Drive the bar from the runner's per-file reports: bytes of all inputs, `file k/N`. */
function inputProgress(bar: ProgressBar, inputs: string[]): (p: Progress) => void {
  const sizes = inputs.map(storedSize);
  const bytesTotal = sizes.every((n) => n !== null) ? sizes.reduce((a: number, n) => a + n!, 0) : null;
  let filesDone = 0;
  let bytesBefore = 0;
  return (p) => {
    const bytesDone = bytesBefore + p.sourceBytes;
    if (p.done) {
      filesDone++;
      bytesBefore = bytesDone;
    }
    bar.update({ filesDone, filesTotal: inputs.length, file: p.done ? undefined : p.file === '-' ? '<stdin>' : p.file, bytesDone, bytesTotal });
  };
}

/** Size of a regular file; null for stdin, a FIFO or a device (no total: no percent, no ETA). */
function storedSize(input: string): number | null {
  if (input === '-') return null;
  try {
    const st = statSync(input);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

export function jsonSummary(summaries: RunSummary[]) {
  const inputs = summaries.flatMap((s) => s.inputs.map((i) => ({ ...i, output: s.output })));
  const sum = (k: 'packetsIn' | 'packetsOut' | 'forwarded' | 'dropped' | 'nonEthernet' | 'truncated' | 'bytesIn' | 'bytesOut' | 'trailerBytes' | 'badChecksums') =>
    summaries.reduce((a, s) => a + (s[k] ?? 0), 0);
  const drops: Record<string, number> = {};
  for (const s of summaries) for (const [k, v] of Object.entries(s.drops)) drops[k] = (drops[k] ?? 0) + v;
  // Every summary comes from the same pipeline: its stages add up stage by stage.
  const stages: StageCounters[] = [];
  for (const s of summaries) addStageCounters(stages, s.stages ?? []);
  return {
    packetsIn: sum('packetsIn'),
    packetsOut: sum('packetsOut'),
    forwarded: sum('forwarded'),
    dropped: sum('dropped'),
    drops,
    nonEthernet: sum('nonEthernet'),
    truncated: sum('truncated'),
    bytesIn: sum('bytesIn'),
    bytesOut: sum('bytesOut'),
    trailerBytes: sum('trailerBytes'),
    badChecksums: sum('badChecksums'),
    stages,
    outputs: summaries.map((s) => ({ output: s.output, format: s.format })),
    inputs,
  };
}

export function textSummary(s: RunSummary): string {
  const drops = Object.entries(s.drops).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${s.output}: ${s.packetsIn} in, ${s.forwarded} forwarded, ${s.dropped} dropped${drops ? ` (${drops})` : ''}, ${s.packetsOut} out${s.nonEthernet ? `, ${s.nonEthernet} non-Ethernet passed through` : ''}${s.trailerBytes ? `, ${s.trailerBytes} trailer bytes cut before segmenting` : ''}\n`;
}
