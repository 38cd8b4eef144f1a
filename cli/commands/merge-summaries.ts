/** capflow merge-summaries SUMMARY... : add the JSON summaries of shards into one */
import { readFileSync } from 'node:fs';
import type { CapflowCommand } from '../command.js';
import { EXIT, io } from '../command.js';
import { reportError } from '../errors.js';
import { writeAtomically } from '../run-batch.js';
import { mergeSummaries } from '../../pipeline/batch/merge.js';

export const mergeSummariesCommand: CapflowCommand = {
  command: 'merge-summaries <summaries..>',
  describe: 'add `capflow run --json` summaries (one per shard) into one',
  builder: (y) =>
    y
      .positional('summaries', { type: 'string', array: true, describe: 'JSON summaries (capflow run --json or --summary); - for stdin' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the merged summary to this file instead of stdout' }),
  run: async (argv) => {
    try {
      const names = (argv.summaries as unknown[]).map(String);
      const list = names.map((name) => {
        const text = name === '-' ? readFileSync(0, 'utf8') : readFileSync(name, 'utf8');
        try {
          return { name, summary: JSON.parse(text) as unknown };
        } catch (e) {
          throw new Error(`${name}: not JSON (${(e as Error).message})`);
        }
      });
      const text = `${JSON.stringify(mergeSummaries(list), null, 2)}\n`;
      if (argv.output && argv.output !== '-') writeAtomically(argv.output, text);
      else io.out(text);
      return EXIT.OK;
    } catch (e) {
      return reportError(e);
    }
  },
};
