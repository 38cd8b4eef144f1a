/** capflow run IN... -o OUT | --out-dir DIR (the batch: ../run-batch.ts) */
import { statSync } from 'node:fs';
import type { CapflowCommand } from '../command.js';
import { EXIT, examples, io } from '../command.js';
import { withPipelineOptions, pipelineSourceFromArgs } from '../options.js';
import { reportError } from '../errors.js';
import { batchArgs, pipelineDependencies, runBatchCommand } from '../run-batch.js';
import { resolveSource } from '../../pipeline/batch/executor.js';
import { runCapture, RunStopped, type RunSummary, type CaptureFormat, type Progress } from '../../pipeline/run.js';
import { ConfigError } from '../../pipeline/config-error.js';
import { classifyOutput, closedStdoutError, stdoutClosed } from '../../pipeline/pcap/output.js';
import { signalStatus, stopSignals, type StopSignals } from '../signals.js';
import { ProgressBar } from '../progress.js';
import { stageNames } from '../../stages/registry.js';

const EXAMPLES = examples([
  ['capflow run samples/vxlan-mixed.pcapng --pipeline samples/reencap.yaml -o out.pcapng', 'decapsulate, map each VNI to a new tunnel, encapsulate again'],
  ['capflow run samples/tso-host.pcap --stage gso:mss=1000 --nic none --view wire -o wire.pcap', 'segment TSO super-packets in software, as a NIC without offloads gets them'],
  ['capflow run a.pcap b.pcap.gz --out-dir out/ --format pcapng', 'one output per input: out/a.pcapng, out/b.pcapng.gz'],
]);

export const runCommand: CapflowCommand = {
  command: 'run <inputs..>',
  describe: 'stream each input through the pipeline and write the result',
  builder: (y) =>
    withPipelineOptions(
      y
        .usage(
          `$0 run IN... (-o OUT | --out-dir DIR) [options]\n\n` +
            `Stream each input capture through the pipeline and write the result.\n` +
            `IN: input captures (pcap, pcapng, optionally gzip); - for stdin`,
        )
        .string('inputs')
        .epilogue(
          `${EXAMPLES}\n\n` +
            `Stages: ${stageNames().join(', ')}, gso (the NIC egress; also the top-level egress: of a pipeline file).\n` +
            `Add them with --stage NAME[:key=value,...] or list them in a pipeline file (--pipeline).\n` +
            `Their options and kernel counterparts: README, sections "Stages" and "The pipeline file".`,
        )
        .option('output', { alias: 'o', type: 'string', describe: 'output capture (.pcap, .pcapng, .gz); - for stdout' })
        .option('out-dir', { type: 'string', describe: 'write one output per input into this directory' })
        .option('format', { choices: ['pcap', 'pcapng'] as const, describe: 'output format (default: from the output name, else the input\'s)' })
        .option('strict', { type: 'boolean', default: false, describe: 'a truncated last record is an error instead of a warning' })
        .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary on stdout' })
        .option('progress', { type: 'boolean', describe: 'progress on stderr (default: when stderr is a terminal)' })
        .option('jobs', { alias: 'j', type: 'number', describe: 'with --out-dir: files processed in parallel (default: the number of cores)' })
        .option('fail-fast', { type: 'boolean', describe: 'with --out-dir: stop at the first file that fails (default: finish the others, then exit 1)' })
        .option('skip-existing', { type: 'boolean', describe: 'with --out-dir: leave outputs newer than their input and the pipeline file alone (resume a batch)' })
        .option('shard', { type: 'string', describe: 'with --out-dir: process only shard K of N (K/N, 0-based) of the inputs' })
        .option('shards', { type: 'number', describe: 'with --out-dir: N shards, K from JOB_COMPLETION_INDEX (Kubernetes Indexed Job)' })
        .option('root', { type: 'string', describe: 'with --shard/--shards: inputs are hashed by their path relative to this directory (default: .)' })
        .option('summary', { type: 'string', describe: 'with --out-dir: also write the JSON summary to this file' }),
    ),
  run: async (argv) => {
    let stop: StopSignals | null = null;
    try {
      const inputs = ([] as unknown[]).concat(argv.inputs ?? []).map(String);
      const source = pipelineSourceFromArgs(argv);
      const config = resolveSource(source);
      if (!argv.output && !argv.outDir) throw new ConfigError('run: give -o OUT (one output) or --out-dir DIR (one output per input)');
      if (argv.output && argv.outDir) throw new ConfigError('run: -o and --out-dir exclude each other');
      const batch = batchArgs(argv);
      // The summary would go nowhere: refuse before any work.
      if (argv.json && argv.output !== '-' && stdoutClosed()) throw closedStdoutError();
      const showProgress = (argv.progress ?? process.stderr.isTTY) === true;
      const format = argv.format as CaptureFormat | undefined;
      if (argv.outDir) {
        return await runBatchCommand(
          { inputs, outDir: argv.outDir, source, dependencies: pipelineDependencies(argv, config.nic), format, strict: argv.strict, json: argv.json, showProgress, jsonSummary, textSummary },
          batch,
        );
      }
      const bar = showProgress ? new ProgressBar({ write: io.err, columns: process.stderr.columns }) : null;
      const onProgress = bar ? inputProgress(bar, inputs) : undefined;
      const onWarning = (m: string) => (bar ? bar.log(`capflow: ${m}`) : io.err(`capflow: ${m}\n`));
      stop = stopSignals();
      const summaries: RunSummary[] = [];
      try {
        summaries.push(await runCapture({ inputs, output: argv.output, format, config, strict: argv.strict, onWarning, onProgress, signal: stop.signal }));
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
    }
  },
};

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
  const sum = (k: 'packetsIn' | 'packetsOut' | 'forwarded' | 'dropped' | 'nonEthernet' | 'truncated' | 'bytesIn' | 'bytesOut' | 'trailerBytes') =>
    summaries.reduce((a, s) => a + s[k], 0);
  const drops: Record<string, number> = {};
  for (const s of summaries) for (const [k, v] of Object.entries(s.drops)) drops[k] = (drops[k] ?? 0) + v;
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
    outputs: summaries.map((s) => ({ output: s.output, format: s.format })),
    inputs,
  };
}

export function textSummary(s: RunSummary): string {
  const drops = Object.entries(s.drops).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${s.output}: ${s.packetsIn} in, ${s.forwarded} forwarded, ${s.dropped} dropped${drops ? ` (${drops})` : ''}, ${s.packetsOut} out${s.nonEthernet ? `, ${s.nonEthernet} non-Ethernet passed through` : ''}${s.trailerBytes ? `, ${s.trailerBytes} trailer bytes cut before segmenting` : ''}\n`;
}
