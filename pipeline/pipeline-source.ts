/**
 * A pipeline as the command line gave it, before validation, and its validation. A run with no
 * pipeline file, no --stage, no --nic and no --view (a format conversion) is resolved here
 * without loading the schema validator, the stages or zod: a large share of such a run's start-up
 * otherwise, and of every batch worker's.
 */
import type { PipelineConfig, PipelineDocument, ResolveOverrides } from './config.js';
import type { EgressOptions } from './egress.js';
import * as vxlan from './wire/vxlan.js';

/** A pipeline as the CLI read it, before validation: plain data (a batch worker rebuilds it from this). */
export interface PipelineSource {
  doc: PipelineDocument;
  /** Name used in configuration errors (the pipeline file, or "--stage"). */
  source: string;
  overrides: ResolveOverrides;
}

/** Nothing to validate: what resolvePipeline makes of it is plainPipelineConfig(). */
export function isPlainSource(s: PipelineSource): boolean {
  const o = s.overrides;
  return Object.keys(s.doc).length === 0 && o.nic === undefined && o.view === undefined && (o.extraStages?.length ?? 0) === 0;
}

/** The egress options' defaults (egressOptions.parse({}) in egress-options.ts). */
const DEFAULT_EGRESS: EgressOptions = { mss: 'auto', mtuPolicy: 'kernel', checksum: { fix: false } };

/** resolvePipeline of an empty document without overrides (a test checks they agree). */
export function plainPipelineConfig(): PipelineConfig {
  return {
    nic: 'none',
    view: 'driver',
    linkLayer: null,
    vxlanPorts: [...vxlan.DEFAULT_PORTS],
    stages: [],
    egress: { ...DEFAULT_EGRESS, checksum: { ...DEFAULT_EGRESS.checksum } },
    faithful: true,
  };
}

/** Validate a pipeline source; config.js (zod, every stage) is loaded only when there is something to validate. */
export async function loadPipelineConfig(s: PipelineSource): Promise<PipelineConfig> {
  if (isPlainSource(s)) return plainPipelineConfig();
  const { resolvePipeline } = await import('./config.js');
  return resolvePipeline(s.doc, s.source, s.overrides);
}
