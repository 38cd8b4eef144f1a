/** capflow drops: every drop reason a run can count, who drops for it and what it means */
import type { CapflowCommand } from '../command.js';
import { EXIT, examples, io } from '../command.js';
import { reportError } from '../errors.js';
import { DROP_REASONS } from '../../pipeline/drop-reasons.js';

const EXAMPLES = examples([
  ['capflow drops', 'every drop reason, who drops for it and what it means'],
  ['capflow drops --json | jq -r \'.[] | select(.by | contains("egress")) | .reason\'', 'the reasons the NIC egress drops for'],
]);

export const dropsCommand: CapflowCommand = {
  command: 'drops',
  describe: 'list the drop reasons a run counts (summary `drops`, per stage under `stages`)',
  builder: (y) =>
    y
      .usage(
        `$0 drops [--json]\n\n` +
          `Every reason a packet can be dropped for, the stage (or the egress, or the runner) that\n` +
          `drops for it, and what it means. \`capflow run --json\` counts drops by these reasons.`,
      )
      .epilogue(EXAMPLES)
      .option('json', { type: 'boolean', default: false, describe: 'JSON output: [{reason, by, meaning}]' }),
  run: async (argv) => {
    try {
      const rows = Object.entries(DROP_REASONS).map(([reason, d]) => ({ reason, by: d.by, meaning: d.meaning }));
      if (argv.json) {
        io.out(`${JSON.stringify(rows, null, 2)}\n`);
        return EXIT.OK;
      }
      const w1 = Math.max(...rows.map((r) => r.reason.length));
      const w2 = Math.max(...rows.map((r) => r.by.length));
      for (const r of rows) io.out(`${r.reason.padEnd(w1)}  ${r.by.padEnd(w2)}  ${r.meaning}\n`);
      return EXIT.OK;
    } catch (e) {
      return reportError(e);
    }
  },
};
