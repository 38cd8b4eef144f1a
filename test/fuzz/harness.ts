/**
 * The checks every fuzz case and every corpus file goes through, through the public library API
 * (pipeline/index.ts) and the built CLI:
 *
 * - nothing but a CaptureFormatError (input) or CaptureWriteError (output) escapes, and a
 *   CaptureFormatError names the file and the byte offset;
 * - packetsIn = forwarded + dropped, the drop reasons add up to `dropped`, every packet read is
 *   counted; per stage (the egress last) in = passed + dropped, its drops add up, each stage's
 *   out is the next one's in, and the stages' drops are the run's (but the runner's own);
 * - every output re-reads completely, with as many packets as `packetsOut`;
 * - a failed run leaves neither its output nor a temporary file behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'vitest';
import {
  CaptureFormatError,
  CaptureWriteError,
  Layers,
  Pipeline,
  createStreamWriter,
  decodeFrame,
  diffCaptures,
  readCaptureFromStream,
  resolvePipeline,
  runCapture,
  type CaptureInterface,
  type CaptureWriter,
  type Counters,
  type Packet,
} from '../../pipeline/index.js';
import { captureInfo } from '../../pipeline/info.js';
import { chunked } from '../helpers/pcap-collect.js';
import type { PipelineDesc } from './arbitraries.js';

/**
 * The seed CI runs with: a gate must give the same answer for the same commit, so new cases are
 * explored by local runs (a fresh seed each time) and what they find goes into the corpus.
 */
export const CI_FUZZ_SEED = 20261203;

/**
 * Runs and seed of a fuzz property. CAPFLOW_FUZZ_SEED reproduces a run (CI=true: CI_FUZZ_SEED);
 * CAPFLOW_FUZZ_SCALE multiplies every property's number of cases (0.1 for a quick look, 10 for a
 * long hunt).
 */
export function fuzzSettings(defaultRuns: number): { numRuns: number; seed: number } {
  const given = process.env.CAPFLOW_FUZZ_SEED;
  const seed = given !== undefined ? Number(given) : process.env.CI === 'true' ? CI_FUZZ_SEED : (Date.now() ^ (process.pid << 8)) | 0;
  const scale = process.env.CAPFLOW_FUZZ_SCALE !== undefined ? Number(process.env.CAPFLOW_FUZZ_SCALE) : 1;
  return { numRuns: Math.max(1, Math.round(defaultRuns * scale)), seed };
}

/** An error from reading `file`: a CaptureFormatError whose message starts with the file and offset. */
export function expectInputError(e: unknown, file: string): void {
  if (!(e instanceof CaptureFormatError)) throw e;
  expect(e.file).toBe(file);
  expect(Number.isInteger(e.offset) && e.offset >= 0).toBe(true);
  expect(e.message.startsWith(`${file}: offset ${e.offset}: `)).toBe(true);
}

/** Errors a run may end with: the input's (named, with offset) or the output's (named). */
export function expectRunError(e: unknown, input: string, output: string): void {
  if (e instanceof CaptureWriteError) {
    expect(e.message.startsWith(`${output}: `)).toBe(true);
    expect(['ERR_PCAP_LINKTYPE_MIXED', 'ERR_PCAP_LINKTYPE_UNSUPPORTED', 'ERR_CAPTURE_TIMESTAMP_RANGE']).toContain(e.code);
    return;
  }
  expectInputError(e, input);
}

export function expectBalanced(c: Counters, what = 'run'): void {
  expect(c.packetsIn, `${what}: packetsIn = forwarded + dropped`).toBe(c.forwarded + c.dropped);
  expect(Object.values(c.drops).reduce((a, b) => a + b, 0), `${what}: drop reasons add up`).toBe(c.dropped);
  expect(c.packetsOut, `${what}: something leaves for every forwarded packet`).toBeGreaterThanOrEqual(c.forwarded);
  expectStagesBalanced(c, what);
}

/** The per-stage counters (`stages` of Counters and of `run --json`) add up. */
export function expectStagesBalanced(c: Pick<Counters, 'packetsIn' | 'packetsOut' | 'nonEthernet' | 'drops' | 'stages'>, what = 'run'): void {
  const stages = c.stages;
  const byReason: Record<string, number> = {};
  for (const [i, st] of stages.entries()) {
    const at = `${what}: stage ${i} ${st.name}`;
    expect(st.in, `${at}: in = passed + dropped`).toBe(st.passed + st.dropped);
    expect(st.out, `${at}: out >= passed`).toBeGreaterThanOrEqual(st.passed);
    expect(Object.values(st.drops).reduce((a, b) => a + b, 0), `${at}: drop reasons add up`).toBe(st.dropped);
    if (i + 1 < stages.length) expect(stages[i + 1]!.in, `${at}: out is the next stage's in`).toBe(st.out);
    for (const [k, v] of Object.entries(st.drops)) byReason[k] = (byReason[k] ?? 0) + v;
  }
  if (stages.length === 0) return;
  const runner = c.drops['record-too-large'] ?? 0;
  expect(stages[0]!.in, `${what}: every Ethernet packet enters the first stage`).toBe(c.packetsIn - c.nonEthernet);
  expect(stages.at(-1)!.out, `${what}: what the last stage emits is written (or too large)`).toBe(c.packetsOut - c.nonEthernet + runner);
  expect({ ...byReason, ...(runner ? { 'record-too-large': runner } : {}) }, `${what}: the stages' drops are the run's`).toEqual(c.drops);
}

class Collector extends PassThrough {
  readonly chunks: Buffer[] = [];
  constructor() {
    super();
    this.on('data', (c: Buffer) => this.chunks.push(c));
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

/** Output interfaces per (input interface, link type), as the file driver assigns them. */
function interfaceMap(writer: CaptureWriter, inputs: () => CaptureInterface[]): (p: Packet) => number {
  const ids = new Map<number, number>();
  return (p) => {
    const key = p.iface * 65536 + p.linkType;
    let id = ids.get(key);
    if (id === undefined) {
      id = writer.addInterface({ linkType: p.linkType, snapLen: 262144, tsUnits: inputs()[p.iface]?.tsUnits ?? p.tsUnits });
      ids.set(key, id);
    }
    return id;
  };
}

export interface InProcessResult {
  counters: Counters | null;
  error: unknown;
  out: Uint8Array | null;
}

/**
 * Reader → decoder → Pipeline (every stage, the egress) → writer → reader again, in memory.
 * `sizes` cuts the input into chunks (records straddling chunks take the reader's other path).
 */
export async function fuzzInProcess(
  bytes: Uint8Array,
  desc: PipelineDesc | Pipeline,
  opts: { outFormat: 'pcap' | 'pcapng'; sizes?: readonly number[]; name?: string },
): Promise<InProcessResult> {
  const name = opts.name ?? 'fuzz.cap';
  const pipeline = desc instanceof Pipeline ? desc : new Pipeline(resolvePipeline(desc as unknown as Record<string, unknown>, 'fuzz.json'));
  pipeline.takeCounters();
  const L = new Layers();
  let reader;
  try {
    reader = await readCaptureFromStream(chunked(bytes, opts.sizes), { name });
  } catch (e) {
    expectInputError(e, name);
    return { counters: null, error: e, out: null };
  }
  const sink = new Collector();
  const writer = createStreamWriter(sink, { format: opts.outFormat, nanosecond: reader.nanosecond });
  const ifaceOf = interfaceMap(writer, () => reader.interfaces);
  const out: Packet[] = [];
  let read = 0;
  let error: unknown = null;
  try {
    for await (const batch of reader.batches()) {
      out.length = 0;
      for (const p of batch) {
        read++;
        decodeFrame(p.buf, p.head, p.tail, L);
        pipeline.process(p, out);
      }
      for (const p of out) {
        decodeFrame(p.buf, p.head, p.tail, L);
        writer.write(p, ifaceOf(p), null);
      }
    }
    out.length = 0;
    pipeline.flush(out);
    for (const p of out) writer.write(p, ifaceOf(p), null);
  } catch (e) {
    expectRunError(e, name, '<stream>');
    error = e;
  }
  const counters = pipeline.takeCounters();
  expect(counters.packetsIn).toBe(read);
  expectBalanced(counters);
  if (error !== null) {
    await writer.abort();
    return { counters, error, out: null };
  }
  await writer.close();
  const written = sink.bytes();
  // Every output re-reads, completely, with every packet that left.
  const again = await readCaptureFromStream(chunked(written), { name: 'out', strict: true });
  let n = 0;
  for await (const batch of again.batches()) n += batch.length;
  expect(n).toBe(counters.packetsOut);
  return { counters, error: null, out: written };
}

/**
 * The file driver (`runCapture`), `diffCaptures` and `captureInfo` on files in `dir`. A failed
 * run leaves nothing in `dir` but its input.
 */
export async function fuzzFiles(dir: string, bytes: Uint8Array, desc: PipelineDesc, outName: string): Promise<void> {
  const input = join(dir, 'in.cap');
  const output = join(dir, outName);
  writeFileSync(input, bytes);
  const config = resolvePipeline(desc as unknown as Record<string, unknown>, 'fuzz.json');
  let summary = null;
  try {
    summary = await runCapture({ inputs: [input], output, config });
  } catch (e) {
    expectRunError(e, input, output);
  }
  if (summary === null) {
    expect(readdirSync(dir)).toEqual(['in.cap']);
  } else {
    expectBalanced(summary);
    for (const i of summary.inputs) expectBalanced(i, i.file);
    expect(existsSync(output)).toBe(true);
    const info = await captureInfo(output, { strict: true });
    expect(info.packets).toBe(summary.packetsOut);
    try {
      const d = await diffCaptures(input, output, { max: 5 });
      expect(typeof d.equal).toBe('boolean');
    } catch (e) {
      expectInputError(e, input);
    }
  }
  try {
    const info = await captureInfo(input);
    if (summary !== null) expect(info.packets).toBe(summary.packetsIn);
  } catch (e) {
    expectInputError(e, input);
  }
}

export const CLI = join(import.meta.dirname, '../../dist/cli/main.js');

export interface Spawned {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function capflow(args: string[], opts: { input?: Uint8Array; cwd?: string } = {}): Spawned {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    ...(opts.input ? { input: opts.input } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A CLI failure is one line (maybe after warnings), "capflow: ...", with no stack trace. */
export function expectCleanFailure(r: Spawned, file: string): void {
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
  expect(r.stderr).not.toMatch(/(TypeError|RangeError|ReferenceError|Maximum call stack)/);
  const last = r.stderr.trimEnd().split('\n').at(-1) ?? '';
  expect(last, r.stderr).toMatch(new RegExp(`^capflow: (diff: )?${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
}
