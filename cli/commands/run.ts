/** capflow run IN... -o OUT | --out-dir DIR */
import { mkdirSync } from 'node:fs';
import type { CapflowCommand } from '../command.js';
import { EXIT, io } from '../command.js';
import { withPipelineOptions, pipelineFromArgs } from '../options.js';
import { reportError } from '../errors.js';
import { runCapture, outputPathFor, type RunSummary, type CaptureFormat } from '../../pipeline/run.js';
import { ConfigError } from '../../pipeline/config-error.js';

export const runCommand: CapflowCommand = {
  command: 'run <inputs..>',
  describe: 'stream each input through the pipeline and write the result',
  builder: (y) =>
    withPipelineOptions(
      y
        .positional('inputs', { type: 'string', array: true, describe: 'input captures (pcap, pcapng, optionally gzip); - for stdin' })
        .option('output', { alias: 'o', type: 'string', describe: 'output capture (.pcap, .pcapng, .gz); - for stdout' })
        .option('out-dir', { type: 'string', describe: 'write one output per input into this directory' })
        .option('format', { choices: ['pcap', 'pcapng'] as const, describe: 'output format (default: from the output name, else the input\'s)' })
        .option('strict', { type: 'boolean', default: false, describe: 'a truncated last record is an error instead of a warning' })
        .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary on stdout' })
        .option('progress', { type: 'boolean', describe: 'progress on stderr (default: when stderr is a terminal)' }),
    ),
  run: async (argv) => {
    try {
      const inputs = (argv.inputs as unknown[]).map(String);
      const config = pipelineFromArgs(argv);
      if (!argv.output && !argv.outDir) throw new ConfigError('run: give -o OUT (one output) or --out-dir DIR (one output per input)');
      if (argv.output && argv.outDir) throw new ConfigError('run: -o and --out-dir exclude each other');
      const showProgress = (argv.progress ?? process.stderr.isTTY) === true;
      const onProgress = showProgress
        ? (p: { file: string; packetsIn: number; bytesIn: number }) =>
            io.err(`\r${p.file}: ${p.packetsIn} packets, ${(p.bytesIn / 1e6).toFixed(1)} MB   `)
        : undefined;
      const onWarning = (m: string) => io.err(`${showProgress ? '\n' : ''}capflow: ${m}\n`);
      const format = argv.format as CaptureFormat | undefined;
      const summaries: RunSummary[] = [];
      if (argv.outDir) {
        mkdirSync(argv.outDir, { recursive: true });
        for (const input of inputs) {
          summaries.push(await runCapture({ inputs: [input], output: outputPathFor(input, argv.outDir), format, config, strict: argv.strict, onWarning, onProgress }));
        }
      } else {
        summaries.push(await runCapture({ inputs, output: argv.output, format, config, strict: argv.strict, onWarning, onProgress }));
      }
      if (showProgress) io.err('\n');
      if (argv.json && argv.output !== '-') io.out(`${JSON.stringify(jsonSummary(summaries), null, 2)}\n`);
      else if (!argv.json) for (const s of summaries) io.err(textSummary(s));
      return EXIT.OK;
    } catch (e) {
      return reportError(e);
    }
  },
};

function jsonSummary(summaries: RunSummary[]) {
  const inputs = summaries.flatMap((s) => s.inputs.map((i) => ({ ...i, output: s.output })));
  const sum = (k: 'packetsIn' | 'packetsOut' | 'forwarded' | 'dropped' | 'nonEthernet' | 'truncated' | 'bytesIn' | 'bytesOut') =>
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
    outputs: summaries.map((s) => ({ output: s.output, format: s.format })),
    inputs,
  };
}

function textSummary(s: RunSummary): string {
  const drops = Object.entries(s.drops).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${s.output}: ${s.packetsIn} in, ${s.forwarded} forwarded, ${s.dropped} dropped${drops ? ` (${drops})` : ''}, ${s.packetsOut} out${s.nonEthernet ? `, ${s.nonEthernet} non-Ethernet passed through` : ''}\n`;
}
