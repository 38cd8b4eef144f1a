/**
 * capflow run IN... -o OUT | --out-dir DIR: the command line (what it does: ../run-action.ts; the
 * batch: ../run-batch.ts).
 */
import type { CapflowCommand } from '../command.js';
import { examples } from '../command.js';
import { withPipelineOptions } from '../options.js';
import { runAction } from '../run-action.js';
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
            `Their options and kernel counterparts: README, sections "Stages" and "The pipeline file".\n` +
            `Drop reasons counted in the summary (--json: drops, and per stage under stages): capflow drops`,
        )
        .option('output', { alias: 'o', type: 'string', describe: 'output capture (.pcap, .pcapng, .gz); - for stdout' })
        .option('out-dir', { type: 'string', describe: 'write one output per input into this directory' })
        .option('format', { choices: ['pcap', 'pcapng'] as const, describe: 'output format (default: from the output name, else the input\'s)' })
        .option('strict', { type: 'boolean', default: false, describe: 'a truncated last record is an error instead of a warning' })
        .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary on stdout (with per-stage counts and badChecksums)' })
        .option('progress', { type: 'boolean', describe: 'progress on stderr (default: when stderr is a terminal)' })
        .option('async-io', { type: 'boolean', describe: "read and write files in Node's I/O thread pool, overlapped with the packet work (default: synchronous calls on the run's own thread, which cost less CPU)" })
        .option('jobs', { alias: 'j', type: 'number', describe: 'with --out-dir: files processed in parallel (default: the number of cores)' })
        .option('fail-fast', { type: 'boolean', describe: 'with --out-dir: stop at the first file that fails (default: finish the others, then exit 1)' })
        .option('skip-existing', { type: 'boolean', describe: 'with --out-dir: leave outputs newer than their input and the pipeline file alone (resume a batch)' })
        .option('shard', { type: 'string', describe: 'with --out-dir: process only shard K of N (K/N, 0-based) of the inputs' })
        .option('shards', { type: 'number', describe: 'with --out-dir: N shards, K from JOB_COMPLETION_INDEX (Kubernetes Indexed Job)' })
        .option('root', { type: 'string', describe: 'with --shard/--shards: inputs are hashed by their path relative to this directory (default: .)' })
        .option('summary', { type: 'string', describe: 'with --out-dir: also write the JSON summary to this file' }),
    ),
  run: runAction,
};
