/** Option groups shared by commands (composable builders). */
import type { Argv } from 'yargs';
import type { PipelineConfig } from '../pipeline/config.js';
import { loadPipelineConfig, type PipelineSource } from '../pipeline/pipeline-source.js';
import type { View } from '../stages/stage.js';

export function withPipelineOptions<T>(y: Argv<T>) {
  return y
    .option('pipeline', { alias: 'p', type: 'string', describe: 'pipeline file (YAML or JSON)' })
    .option('stage', { alias: 's', type: 'string', array: true, describe: 'add a stage: NAME[:key=value,...] (after the file\'s stages)' })
    .option('nic', { type: 'string', describe: 'NIC offload profile: built-in name or profile JSON file (default: none)' })
    .option('view', { choices: ['driver', 'wire'] as const, describe: 'driver: what the kernel hands the driver; wire: what leaves the NIC' });
}

/** Build the pipeline configuration from --pipeline, --stage, --nic and --view. */
export async function pipelineFromArgs(argv: PipelineArgs): Promise<PipelineConfig> {
  return loadPipelineConfig(await pipelineSourceFromArgs(argv));
}

type PipelineArgs = { pipeline?: string; stage?: (string | number)[]; nic?: string; view?: string };

/**
 * The pipeline as read (files parsed, not yet validated): plain data a batch worker can rebuild
 * from. The pipeline-file reader and the --stage parser are loaded only when one is given.
 */
export async function pipelineSourceFromArgs(argv: PipelineArgs): Promise<PipelineSource> {
  const specs = (argv.stage ?? []).map(String);
  const overrides = { nic: argv.nic, view: argv.view as View | undefined, extraStages: [] as Record<string, unknown>[], extraSpecs: specs };
  const source = argv.pipeline ?? '--stage';
  if (!argv.pipeline && specs.length === 0) return { doc: {}, source, overrides };
  const { readPipelineFile, parseStageSpec, loadYaml, stageSpecNeedsYaml } = await import('../pipeline/config.js');
  if (argv.pipeline || specs.some(stageSpecNeedsYaml)) await loadYaml();
  const doc = argv.pipeline ? readPipelineFile(argv.pipeline) : {};
  overrides.extraStages = specs.map((s) => parseStageSpec(s));
  return { doc, source, overrides };
}
