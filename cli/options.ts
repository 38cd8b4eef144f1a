/** Option groups shared by commands (composable builders). */
import type { Argv } from 'yargs';
import { readPipelineFile, parseStageSpec, resolvePipeline, type PipelineConfig } from '../pipeline/config.js';
import type { PipelineSource } from '../pipeline/batch/executor.js';
import type { View } from '../stages/stage.js';

export function withPipelineOptions<T>(y: Argv<T>) {
  return y
    .option('pipeline', { alias: 'p', type: 'string', describe: 'pipeline file (YAML or JSON)' })
    .option('stage', { alias: 's', type: 'string', array: true, describe: 'add a stage: NAME[:key=value,...] (after the file\'s stages)' })
    .option('nic', { type: 'string', describe: 'NIC offload profile: built-in name or profile JSON file (default: none)' })
    .option('view', { choices: ['driver', 'wire'] as const, describe: 'driver: what the kernel hands the driver; wire: what leaves the NIC' });
}

/** Build the pipeline configuration from --pipeline, --stage, --nic and --view. */
export function pipelineFromArgs(argv: PipelineArgs): PipelineConfig {
  const { doc, source, overrides } = pipelineSourceFromArgs(argv);
  return resolvePipeline(doc, source, overrides);
}

type PipelineArgs = { pipeline?: string; stage?: (string | number)[]; nic?: string; view?: string };

/** The pipeline as read (files parsed, not yet validated): plain data a batch worker can rebuild from. */
export function pipelineSourceFromArgs(argv: PipelineArgs): PipelineSource {
  const doc = argv.pipeline ? readPipelineFile(argv.pipeline) : {};
  const specs = (argv.stage ?? []).map(String);
  const extra = specs.map((s) => parseStageSpec(s));
  const source = argv.pipeline ?? '--stage';
  return { doc, source, overrides: { nic: argv.nic, view: argv.view as View | undefined, extraStages: extra, extraSpecs: specs } };
}
