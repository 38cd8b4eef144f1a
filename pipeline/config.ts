/**
 * The pipeline file (JSON or YAML, one schema) and `--stage NAME[:key=value,...]` specs.
 * Validation happens once here; stages get typed options and never see raw input.
 */
import { createRequire } from 'node:module';
import * as z from 'zod';
import { ConfigError, configErrorFromZod, formatPath } from './config-error.js';
import { PIPELINE_FILE_LIMIT, readBoundedTextFile } from './config-file.js';
import { macAddress, udpPort } from './option-schemas.js';
import { egressOptions, gsoStageOptions, type EgressOptions } from './egress-options.js';
import * as vxlan from './wire/vxlan.js';
import { stageEntry, stageNames } from '../stages/registry.js';
import type { StageDefinition, View } from '../stages/stage.js';

export interface StageSpec {
  name: string;
  definition: StageDefinition<any>;
  options: unknown;
}

export interface PipelineConfig {
  /** Built-in NIC profile name or a profile file path. */
  nic: string;
  /** Where `nic` was given, for errors: `--nic` or `FILE: nic` (absent: the default). */
  nicSource?: string;
  view: View;
  /** Convert non-Ethernet link types to Ethernet so stages see them (else they pass untouched). */
  linkLayer: LinkLayerOptions | null;
  /** UDP destination ports taken as VXLAN by every stage and the egress (top-level `vxlanPorts`). */
  vxlanPorts: number[];
  stages: StageSpec[];
  /** The NIC egress after the last stage (top-level `egress:`, or the older `- stage: gso`). */
  egress: EgressOptions;
  /**
   * No stage, no egress setting, no `nic`, driver view: the run is a format conversion and the
   * egress passes every packet unchanged.
   */
  faithful: boolean;
}

export interface LinkLayerOptions {
  src: string;
  dst: string;
}


const topLevel = z
  .object({
    nic: z.string().min(1).optional(),
    view: z.enum(['driver', 'wire']).optional(),
    linkLayer: z
      .object({
        to: z.literal('ethernet'),
        src: macAddress.default('02:00:00:00:00:01'),
        dst: macAddress.default('02:00:00:00:00:02'),
      })
      .strict()
      .optional(),
    vxlanPorts: z.array(udpPort).min(1, 'expected at least one UDP port').optional(),
    egress: egressOptions.optional(),
    stages: z.array(z.object({ stage: z.string() }).loose()).default([]),
  })
  .strict();

let yamlParse: ((text: string) => unknown) | null = null;

/**
 * Load the yaml package ahead of parsing (readPipelineFile, parseStageSpec). The capflow binary
 * does: its build bundles the package into one chunk, which this import loads in a few
 * milliseconds, where requiring the package (parseYaml's fallback) resolves and compiles its
 * sixty-odd modules (over 100 ms). Without it the package is required on first use.
 */
export async function loadYaml(): Promise<void> {
  if (yamlParse !== null) return;
  // A CommonJS package: Node's import names its exports, a bundle's import has them on `default`.
  const yaml = (await import('yaml')) as typeof import('yaml') & { default?: typeof import('yaml') };
  yamlParse = yaml.parse ?? yaml.default!.parse;
}

/** YAML text to a value; the yaml package is loaded on first use (most runs never need it: start-up). */
function parseYaml(text: string): unknown {
  yamlParse ??= (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse;
  return yamlParse(text);
}

/** A --stage value that is read without YAML: a plain decimal integer, true or false. */
function isPlainSpecValue(raw: string): boolean {
  return /^(?:0|[1-9][0-9]{0,14})$/.test(raw) || raw === 'true' || raw === 'false';
}

/** A --stage value as YAML reads it; plain decimal integers and true/false without loading YAML. */
function parseSpecValue(raw: string): unknown {
  if (!isPlainSpecValue(raw)) return parseYaml(raw);
  return raw === 'true' || raw === 'false' ? raw === 'true' : Number(raw);
}

/** Whether parseStageSpec(spec) reads a value with YAML (the caller may loadYaml() first). */
export function stageSpecNeedsYaml(spec: string): boolean {
  const colon = spec.indexOf(':');
  if (colon < 0) return false;
  return splitTopLevel(spec.slice(colon + 1)).some((part) => {
    const eq = part.indexOf('=');
    return eq > 0 && !isPlainSpecValue(part.slice(eq + 1).trim());
  });
}

/**
 * Keys that reach Object.prototype or a constructor when a document is merged or assigned key by
 * key; refused anywhere in a pipeline document so that no option object can be polluted.
 */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Throw a ConfigError naming the key path of the first prototype key anywhere in `value`. */
export function rejectPrototypeKeys(value: unknown, source: string, path: ReadonlyArray<PropertyKey> = []): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => rejectPrototypeKeys(v, source, [...path, i]));
    return;
  }
  for (const key of Object.keys(value)) {
    if (PROTOTYPE_KEYS.has(key)) {
      throw new ConfigError(`${source}: ${formatPath([...path, key])}: "${key}" is not allowed as a key`);
    }
    rejectPrototypeKeys((value as Record<string, unknown>)[key], source, [...path, key]);
  }
}

/** Raw (unvalidated) pipeline document, as read from a file or built from --stage specs. */
export type PipelineDocument = Record<string, unknown>;

/** Read a pipeline file; JSON or YAML (YAML is a superset, but JSON errors read better from JSON.parse). */
export function readPipelineFile(path: string): PipelineDocument {
  let text: string;
  try {
    text = readBoundedTextFile(path, PIPELINE_FILE_LIMIT);
  } catch (e) {
    throw new ConfigError(`${path}: cannot read pipeline file: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid ${/^\s*[{[]/.test(text) ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`${path}: (top level): expected a mapping with "stages", got ${Array.isArray(doc) ? 'a list' : typeof doc}`);
  }
  return doc as PipelineDocument;
}

/**
 * Parse `NAME[:key=value,...]`. Values are YAML flow scalars/collections (`ports=[4789,8472]`,
 * `collectMetadata=false`), dotted keys nest (`outerEth.src=02:00:00:00:00:01`).
 */
export function parseStageSpec(spec: string): Record<string, unknown> {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  // No prototype: a dotted key can only ever create own properties.
  const entry: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  entry.stage = name;
  if (colon < 0) return entry;
  for (const part of splitTopLevel(spec.slice(colon + 1))) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--stage ${spec}: "${part}": expected key=value`);
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    const keys = key.split('.');
    const bad = keys.find((k) => PROTOTYPE_KEYS.has(k));
    if (bad !== undefined) throw new ConfigError(`--stage ${spec}: ${key}: "${bad}" is not allowed as a key`);
    let value: unknown;
    try {
      value = parseSpecValue(raw);
    } catch (e) {
      // A list, mapping or quoted string that YAML cannot read is a mistake to name (a missing
      // bracket), not a plain string to hand to the stage; other words YAML refuses stay words.
      if (/^[[{"']/.test(raw)) throw new ConfigError(`--stage ${spec}: ${key}: not valid YAML: ${(e as Error).message.split('\n')[0]!.replace(/:\s*$/, '')}`);
      value = raw;
    }
    rejectPrototypeKeys(value, `--stage ${spec}`, keys);
    setPath(entry, keys, value ?? raw);
  }
  return entry;
}

/** Split on commas that are not inside brackets, braces or quotes. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function setPath(obj: Record<string, unknown>, keys: string[], value: unknown): void {
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    const next = o[k];
    if (typeof next !== 'object' || next === null) o[k] = Object.create(null);
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
}

/**
 * Stages per pipeline. Each stage hands its packet to the next one on the call stack, so the
 * depth is bounded well below what overflows it (about 4,500 mpls-push stages did).
 */
export const MAX_STAGES = 1000;

/** The older spelling of the egress as a stage. */
const GSO_STAGE = 'gso';

export interface ResolveOverrides {
  nic?: string | undefined;
  view?: View | undefined;
  /**
   * Extra stages from --stage, after the file's stages (before its closing egress: a file that ends
   * with `gso` keeps it last, unless a --stage gso replaces it).
   */
  extraStages?: Record<string, unknown>[];
  /** How each extra stage was written (`--stage gso:mss=abc`), to name it in errors. */
  extraSpecs?: string[];
}

/** Validate a pipeline document (plus CLI overrides) into a PipelineConfig. */
export function resolvePipeline(doc: PipelineDocument, source: string, overrides: ResolveOverrides = {}): PipelineConfig {
  rejectPrototypeKeys(doc, source);
  overrides.extraStages?.forEach((s) => rejectPrototypeKeys(s, '--stage'));
  const merged: PipelineDocument = Object.assign(Object.create(null) as PipelineDocument, doc);
  const fileStages = Array.isArray(doc.stages) ? (doc.stages as unknown[]) : [];
  // Where each merged stage came from: an index into the file's stages, or a --stage spec.
  let origins: (number | string)[] = fileStages.map((_, i) => i);
  const extras = overrides.extraStages ?? [];
  if (extras.length) {
    const specs = extras.map((e, i) => `--stage ${overrides.extraSpecs?.[i] ?? String(e.stage)}`);
    const last = fileStages.at(-1) as { stage?: unknown } | undefined;
    const endsWithEgress = last?.stage === 'gso';
    if (endsWithEgress && extras.some((e) => e.stage === 'gso')) {
      // The command line's egress replaces the file's.
      merged.stages = [...fileStages.slice(0, -1), ...extras];
      origins = [...origins.slice(0, -1), ...specs];
    } else if (endsWithEgress) {
      merged.stages = [...fileStages.slice(0, -1), ...extras, last];
      origins = [...origins.slice(0, -1), ...specs, fileStages.length - 1];
    } else {
      merged.stages = [...fileStages, ...extras];
      origins = [...origins, ...specs];
    }
  }
  const top = topLevel.safeParse(merged);
  if (!top.success) throw configErrorFromZod(source, [], top.error);
  const where = (i: number): { source: string; path: (string | number)[] } => {
    const o = origins[i] ?? i;
    return typeof o === 'string' ? { source: o, path: [] } : { source, path: ['stages', o] };
  };
  const label = (i: number, key: string): string => {
    const w = where(i);
    return `${w.source}: ${w.path.length ? `${formatPath(w.path)}.${key}` : key}`;
  };

  if (top.data.stages.length > MAX_STAGES) {
    throw new ConfigError(`${source}: stages: ${top.data.stages.length} stages, at most ${MAX_STAGES} per pipeline`);
  }
  const stages: StageSpec[] = [];
  let egress = top.data.egress;
  let vxlanPorts = top.data.vxlanPorts;
  const last = top.data.stages.length - 1;
  top.data.stages.forEach((raw, i) => {
    const { stage: name, ...rest } = raw;
    if (name === GSO_STAGE) {
      // The older spelling of the egress: the last stage, with the egress options.
      if (i !== last) throw new ConfigError(`${label(i, 'stage')}: "gso" is the NIC egress and must be the last stage (or write it as the top-level egress:)`);
      if (egress) throw new ConfigError(`${label(i, 'stage')}: "gso" and a top-level egress: both configure the NIC egress; keep one`);
      const parsed = gsoStageOptions.safeParse(rest);
      if (!parsed.success) throw configErrorFromZod(where(i).source, where(i).path, parsed.error);
      const { vxlanPorts: ports, ...opts } = parsed.data;
      if (ports && vxlanPorts) throw new ConfigError(`${source}: stages[${i}].vxlanPorts: the top-level vxlanPorts is given too; keep one`);
      vxlanPorts ??= ports;
      egress = opts;
      return;
    }
    const entry = stageEntry(name);
    if (!entry) {
      throw new ConfigError(`${label(i, 'stage')}: unknown stage "${name}" (expected one of: ${[...stageNames(), GSO_STAGE].join(', ')})`);
    }
    if (!entry.definition) {
      throw new ConfigError(`${label(i, 'stage')}: stage "${name}" is not implemented yet`);
    }
    const parsed = entry.definition.options.safeParse(rest);
    if (!parsed.success) throw configErrorFromZod(where(i).source, where(i).path, parsed.error);
    stages.push({ name, definition: entry.definition, options: parsed.data });
  });

  const nic = overrides.nic ?? top.data.nic;
  const view = overrides.view ?? top.data.view ?? 'driver';
  const linkLayer = top.data.linkLayer ? { src: top.data.linkLayer.src, dst: top.data.linkLayer.dst } : null;
  const nicSource = overrides.nic !== undefined ? '--nic' : top.data.nic !== undefined ? `${source}: nic` : undefined;
  return {
    nic: nic ?? 'none',
    ...(nicSource !== undefined ? { nicSource } : {}),
    view,
    linkLayer,
    vxlanPorts: [...(vxlanPorts ?? vxlan.DEFAULT_PORTS)],
    stages,
    egress: egress ?? egressOptions.parse({}),
    faithful: stages.length === 0 && egress === undefined && nic === undefined && view === 'driver',
  };
}
