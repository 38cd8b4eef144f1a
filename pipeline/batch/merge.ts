/**
 * Add batch summaries (one per shard, or per machine) into one. Counters add, whatever they are
 * named: every number adds, objects of numbers (drops) add key by key, and per-stage counters
 * add stage by stage. Per-file lists are put back in input order by each file's `index`, so the
 * shards of one batch merge into exactly the summary one process would have printed.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** Per-file lists; each entry has the input's `index`. */
const FILE_LISTS = ['inputs', 'skipped', 'failed'] as const;

export interface NamedSummary {
  name: string;
  summary: unknown;
}

export function mergeSummaries(list: readonly NamedSummary[]): Obj {
  if (list.length === 0) throw new Error('merge-summaries: give at least one summary');
  const objs = list.map(({ name, summary }) => {
    if (!isObj(summary) || !Array.isArray(summary.inputs)) {
      throw new Error(`${name}: not a capflow run --json summary (no "inputs" list)`);
    }
    return { name, s: summary };
  });
  checkShards(objs);

  const merged: Obj = {};
  for (const { name, s } of objs) {
    for (const [k, v] of Object.entries(s)) {
      if (k === 'shard' || k === 'outputs' || (FILE_LISTS as readonly string[]).includes(k)) continue;
      merged[k] = k in merged ? add(merged[k]!, v, `${name}: ${k}`) : clone(v);
    }
  }
  for (const k of FILE_LISTS) {
    const present = objs.some(({ s }) => k in s);
    if (!present) continue;
    const all = objs.flatMap(({ s }) => (Array.isArray(s[k]) ? (s[k] as Json[]) : []));
    merged[k] = stableByIndex(all);
  }
  // One output per input in a batch: outputs follow the inputs' order.
  if (objs.some(({ s }) => 'outputs' in s)) {
    const firstIndex = new Map<string, number>();
    for (const e of merged.inputs as Json[]) {
      if (isObj(e) && typeof e.output === 'string' && !firstIndex.has(e.output)) firstIndex.set(e.output, indexOf(e));
    }
    const outputs = objs.flatMap(({ s }) => (Array.isArray(s.outputs) ? (s.outputs as Json[]) : []));
    merged.outputs = outputs
      .map((o, i) => ({ o, i, at: isObj(o) && typeof o.output === 'string' ? (firstIndex.get(o.output) ?? Infinity) : Infinity }))
      .sort((a, b) => a.at - b.at || a.i - b.i)
      .map((x) => x.o);
  }
  // Keep the key order of a single summary.
  const order = Object.keys(objs[0]!.s).filter((k) => k !== 'shard');
  const out: Obj = {};
  for (const k of order) if (k in merged) out[k] = merged[k]!;
  for (const k of Object.keys(merged)) if (!(k in out)) out[k] = merged[k]!;
  return out;
}

/** Shard summaries must cover 0..N-1 exactly once: a missing shard would silently undercount. */
function checkShards(objs: { name: string; s: Obj }[]): void {
  const shards = objs.map(({ name, s }) => ({ name, shard: s.shard }));
  const withShard = shards.filter((x) => isObj(x.shard));
  if (withShard.length === 0) return;
  if (withShard.length !== shards.length) {
    const plain = shards.find((x) => !isObj(x.shard))!;
    throw new Error(`merge-summaries: ${plain.name} is not a shard summary but others are`);
  }
  const count = (withShard[0]!.shard as Obj).count;
  const seen = new Map<number, string>();
  for (const { name, shard } of withShard) {
    const s = shard as Obj;
    if (s.count !== count) throw new Error(`merge-summaries: ${name} is shard ${s.index}/${s.count}, others are of ${count} shards`);
    const idx = s.index as number;
    if (seen.has(idx)) throw new Error(`merge-summaries: shard ${idx}/${count} given twice (${seen.get(idx)} and ${name})`);
    seen.set(idx, name);
  }
  const missing: number[] = [];
  for (let k = 0; k < (count as number); k++) if (!seen.has(k)) missing.push(k);
  if (missing.length) throw new Error(`merge-summaries: missing shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count}`);
}

function add(a: Json, b: Json, where: string): Json {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return addStages(a, b, where);
  if (isObj(a) && isObj(b)) {
    const out: Obj = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? add(out[k]!, v, `${where}.${k}`) : clone(v);
    return out;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return a;
  throw new Error(`merge-summaries: ${where}: cannot add ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
}

/** Per-stage counters: the same pipeline in every summary, stage by stage. */
function addStages(a: Json[], b: Json[], where: string): Json[] {
  // A shard that converted no file has no stage counters.
  if (a.length === 0) return clone(b) as Json[];
  if (b.length === 0) return a;
  if (a.length !== b.length) throw new Error(`merge-summaries: ${where}: ${a.length} entries against ${b.length} (different pipelines?)`);
  return a.map((x, i) => {
    const y = b[i]!;
    if (isObj(x) && isObj(y) && x.name !== undefined && x.name !== y.name) {
      throw new Error(`merge-summaries: ${where}[${i}]: stage ${JSON.stringify(x.name)} against ${JSON.stringify(y.name)} (different pipelines?)`);
    }
    return add(x, y, `${where}[${i}]`);
  });
}

function stableByIndex(entries: Json[]): Json[] {
  return entries
    .map((e, i) => ({ e, i }))
    .sort((x, y) => indexOf(x.e) - indexOf(y.e) || x.i - y.i)
    .map((x) => x.e);
}

function indexOf(e: Json): number {
  return isObj(e) && typeof e.index === 'number' ? e.index : Infinity;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone(v: Json): Json {
  return structuredClone(v);
}
