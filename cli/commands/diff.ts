/**
 * capflow diff EXPECTED ACTUAL: packet-by-packet comparison for golden files.
 *
 * Exit status (diff(1) / cmp(1) convention): 0 equal, 1 the captures differ, 2 trouble: bad
 * usage, an unknown --ignore field, or an input that could not be read (missing, not a capture,
 * corrupt). So 1 always means "compared, and different", never "could not compare".
 */
import type { CapflowCommand } from '../command.js';
import { EXIT, examples, io, writeOut } from '../command.js';
import { describeFields } from '../../pipeline/diff/fields.js';

const EPILOGUE = `Fields (--ignore takes these; prefix outer./inner. to pick one side of a VXLAN tunnel, [i] for one
VLAN tag or MPLS label of a stack, layer.* for a whole header):
${describeFields()}

Ignoring a field also drops the difference of every checksum whose covered bytes differ only in
ignored fields (e.g. --ignore outer.udp.srcport also silences the outer udp.checksum).

Exit status: 0 equal, 1 the captures differ, 2 bad usage or an input that could not be read.`;

const EXAMPLES = examples([
  ['capflow diff golden.pcapng out.pcapng', 'list the differences (a missing or extra packet is reported as such)'],
  ['capflow diff golden.pcapng out.pcapng --ignore ipv4.id,outer.udp.srcport --json', 'mask fields that may vary, JSON report'],
  ['capflow run in.pcap -p p.yaml -o - | capflow diff golden.pcapng -', 'check a pipeline\'s output without a file'],
]);

export const diffCommand: CapflowCommand = {
  command: 'diff <expected> <actual>',
  // 1 means "compared and different": a report that could not be written is trouble.
  outputFailureStatus: EXIT.USAGE,
  describe: 'packet-by-packet comparison for golden files; exit 0 only when equal',
  builder: (y) =>
    y
      .usage(
        `$0 diff EXPECTED ACTUAL [options]\n\n` +
          `Packet-by-packet comparison for golden files; exit 0 only when equal.\n` +
          `EXPECTED: the golden capture, ACTUAL: the capture to check (pcap, pcapng, optionally gzip); either may be - for stdin`,
      )
      .string(['expected', 'actual'])
      .option('ignore', { alias: 'i', type: 'string', array: true, describe: 'fields to mask before comparing: FIELD[,FIELD...] (repeatable)' })
      .option('unordered', { type: 'boolean', default: false, describe: 'match packets regardless of order (keeps EXPECTED\'s hashes in memory)' })
      .option('max', { type: 'number', default: 20, describe: 'list at most N differences, count the rest (0: list all)' })
      .option('json', { type: 'boolean', default: false, describe: 'print a JSON document instead of text' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print nothing; only the exit status tells' })
      .option('vxlan-port', { type: 'number', array: true, describe: 'UDP ports decoded as VXLAN (default 4789 8472)' })
      .option('strict', { type: 'boolean', default: false, describe: 'a truncated last record is an error instead of a warning' })
      .epilogue(`${EXAMPLES}\n\n${EPILOGUE}`),
  run: async (argv) => {
    const max = Number(argv.max);
    if (!Number.isInteger(max) || max < 0) {
      io.err(`capflow: diff: --max ${String(argv.max)}: expected a whole number >= 0\n`);
      return EXIT.USAGE;
    }
    const ports = (argv.vxlanPort as unknown[] | undefined)?.map(Number);
    if (ports && ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) {
      io.err(`capflow: diff: --vxlan-port: expected port numbers 0-65535\n`);
      return EXIT.USAGE;
    }
    const { diffCaptures, streamReport } = await import('../../pipeline/diff/index.js');
    try {
      // The report is written as differences are found (bounded memory with --max 0); -q needs
      // only the verdict.
      const report = argv.json || !argv.quiet ? streamReport(argv.json === true, writeOut) : null;
      const expected = String(argv.expected);
      const actual = String(argv.actual);
      if (expected === '-' && actual === '-') throw new Error('EXPECTED and ACTUAL cannot both be stdin');
      let begun = false;
      const result = await diffCaptures(expected, actual, {
        ignore: ((argv.ignore as unknown[] | undefined) ?? []).map(String),
        unordered: argv.unordered === true,
        max: report ? max : 1,
        ...(ports ? { vxlanPorts: ports } : {}),
        strict: argv.strict === true,
        onWarning: (m) => io.err(`capflow: ${m}\n`),
        ...(report
          ? {
              onDifferences: async (ds) => {
                if (!begun) await report.begin();
                begun = true;
                await report.differences(ds);
              },
            }
          : {}),
      });
      if (report) {
        if (!begun) await report.begin();
        await report.end(result);
      }
      return result.equal ? EXIT.OK : EXIT.FAILED;
    } catch (e) {
      const err = e as Error;
      io.err(`capflow: diff: ${err?.message ?? String(e)}\n`);
      if (process.env.CAPFLOW_DEBUG && err?.stack) io.err(`${err.stack}\n`);
      return EXIT.USAGE;
    }
  },
};
