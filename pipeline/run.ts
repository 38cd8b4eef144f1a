/**
 * The async edge: read inputs, run the synchronous Pipeline over each batch, write the output
 * with backpressure. Output is atomic (temp file + rename); a failed or stopped run leaves no
 * OUT behind.
 */
import { realpathSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Packet } from './packet.js';
import type { PipelineConfig } from './config.js';
import { Pipeline, addCounters, checkAccounting, newCounters, type Counters } from './pipeline.js';
import { openCapture, type CaptureInterface, type CaptureReader } from './pcap/reader.js';
import { createFileWriter, formatFromPath, type CaptureWriter } from './pcap/writer.js';
import { PcapWriter } from './pcap/pcap-writer.js';
import { RecordPassthrough } from './pcap/passthrough.js';
import { classifyOutput } from './pcap/output.js';
import { abortable, untilAborted } from './abortable.js';
import { LINKTYPE } from './pcap/link-type.js';
import { writerComments, hasMetadata } from './comments.js';
import { ConfigError } from './config-error.js';
import { CaptureWriteError } from './pcap/errors.js';

export type CaptureFormat = 'pcap' | 'pcapng';

export interface InputSummary extends Counters {
  file: string;
}

export interface RunSummary extends Counters {
  output: string;
  format: CaptureFormat;
  inputs: InputSummary[];
}

export interface Progress {
  file: string;
  packetsIn: number;
  bytesIn: number;
  /** Bytes of the file read so far as stored (compressed for gzip): what a progress bar counts. */
  sourceBytes: number;
  /** The last report of this file: it has been read to its end. */
  done: boolean;
}

export interface RunOptions {
  inputs: string[];
  output: string;
  format?: CaptureFormat | undefined;
  config: PipelineConfig;
  strict?: boolean | undefined;
  /**
   * Tell bad checksums from complete ones and count them (`badChecksums`): a sum over every
   * packet at ingress, so only when asked (the CLI: when the summary is JSON).
   */
  countBadChecksums?: boolean | undefined;
  onWarning?: (message: string) => void;
  onProgress?: (p: Progress) => void;
  /**
   * Stops the run (a signal): the output is discarded and runCapture rejects with RunStopped,
   * whose summary says what was done until then.
   */
  signal?: AbortSignal | undefined;
  /**
   * Read input files and write the output file with synchronous calls on this thread (default:
   * true), or, with false, in libuv's thread pool, overlapped with the packet work. Same bytes
   * either way. Overlapping hands every 1 MiB read and write to another thread and back (a wake-up
   * on each side) and competes with the packet loop for the cores: on the 2-core machine of the
   * README's Performance section it cost 20-60 % more CPU and was slower for copies and most
   * stages, and no faster for the packet-heaviest runs (vxlan-encap), which could use the second
   * core for the kernel's copies. stdin, FIFOs, devices and gzip outputs are streams either way.
   */
  syncIO?: boolean | undefined;
  /**
   * Where the run takes the pipeline of an earlier run to use again, and leaves its own when it
   * ends well: a batch job runs its files through one pipeline, reset before each (Pipeline.reset),
   * so the output is the same as with a new one.
   */
  pipelineSlot?: PipelineSlot | undefined;
}

/** See RunOptions.pipelineSlot. */
export interface PipelineSlot {
  pipeline: Pipeline | null;
}

/**
 * The pipeline a run of `opts` uses: the one in its slot, reset, when built for the same config and
 * options, else a new one. Every packet the pipeline hands out is written (copied into the writer's
 * buffers) or dropped before writeAll returns: the buffers stages made for them can be reused
 * after it (recycleBuffers).
 */
function usablePipeline(opts: RunOptions, warn: (message: string) => void): Pipeline {
  const countBad = opts.countBadChecksums ?? false;
  const p = opts.pipelineSlot?.pipeline;
  // A run that fails leaves its slot empty: its pipeline may hold a packet half done.
  if (opts.pipelineSlot) opts.pipelineSlot.pipeline = null;
  if (p && p.config === opts.config && p.recycles && p.countsBadChecksums === countBad && p.reset(warn)) return p;
  return new Pipeline(opts.config, { onWarning: warn, countBadChecksums: countBad, recycleBuffers: true });
}

/** A run stopped through RunOptions.signal; `reason` is the signal's reason (e.g. 'SIGTERM'). */
export class RunStopped extends Error {
  override readonly name = 'RunStopped';
  constructor(
    readonly reason: string,
    /** What was read and written until the stop; the output itself was removed. */
    readonly summary: RunSummary,
  ) {
    super(`${summary.output}: stopped by ${reason}`);
  }
}

/** Output packets written between two waits for the writer (when it asks for one): bounds memory. */
const STREAM_OUT_PACKETS = 4096;

/** Stream every input through the pipeline into one output. */
export async function runCapture(opts: RunOptions): Promise<RunSummary> {
  const warn = opts.onWarning ?? (() => {});
  // A directory or socket as OUT is refused before any input is opened.
  if (opts.output !== '-') classifyOutput(opts.output);
  refuseOverwritingInput(opts.inputs, opts.output);
  const pipeline = usablePipeline(opts, warn);
  const signal = opts.signal;

  /** Inputs opened so far. */
  let opened = 0;
  let writer: CaptureWriter | null = null;
  const total = newCounters();
  const inputs: InputSummary[] = [];
  let format: CaptureFormat = opts.format ?? 'pcap';
  try {
    for (let i = 0; i < opts.inputs.length; i++) {
      const file = opts.inputs[i]!;
      // Each batch is processed and written (copied into the writer's buffers, or held by the
      // output until written: the passthrough, records left where they were read) before the next
      // is read, and no stage keeps a packet: the reader can reuse its read buffers.
      const reader = await untilAborted(
        openCapture(file, { name: file === '-' ? '<stdin>' : file, strict: opts.strict ?? false, onWarning: warn, recycleChunks: true, syncReads: opts.syncIO !== false, packetPool: pipeline.readerPackets, ioMemory: !pipeline.config.faithful }),
        signal,
      );
      opened++;
      if (!writer) {
        const byName = opts.output === '-' ? null : formatFromPath(opts.output);
        format = opts.format ?? byName?.format ?? reader.format;
        try {
          writer = await createFileWriter(opts.output, {
            format,
            nanosecond: reader.nanosecond,
            gzip: byName?.gzip ?? false,
            signal,
            onWait: warn,
            syncWrites: opts.syncIO !== false,
          });
        } catch (e) {
          // The input is released here: runOne, which closes it otherwise, never runs.
          await reader.close();
          throw e;
        }
      }
      const counters = await runOne(pipeline, reader, writer, format, i, file, opts);
      inputs.push({ file, ...counters });
      addCounters(total, counters);
    }
    if (writer) await untilAborted(writer.close(), signal);
    if (opts.pipelineSlot) opts.pipelineSlot.pipeline = pipeline;
  } catch (e) {
    if (writer) await writer.abort().catch(() => {});
    if (signal?.aborted) {
      // What was done until the stop: the finished inputs and the one being read.
      const current = pipeline.takeCounters();
      if (current.packetsIn > 0 && inputs.length < opened) inputs.push({ file: opts.inputs[inputs.length]!, ...current });
      addCounters(total, current);
      throw new RunStopped(String(signal.reason), { ...total, output: opts.output, format, inputs });
    }
    throw e;
  }
  return { ...total, output: opts.output, format, inputs };
}

/**
 * The output interface of each packet of one input: one per (input interface, link type after
 * conversion), keyed by the number iface·2^16 + linkType (link types are 16-bit); the last hit is
 * checked first. A class rather than a closure per input: the write loop's call then has one
 * target for every input of a run or batch job, and V8 does not throw away its optimized code
 * when the second input starts.
 */
class OutputInterfaces {
  private readonly ids = new Map<number, number>();
  private lastKey = -1;
  private lastId = 0;

  constructor(
    private readonly reader: CaptureReader,
    private readonly writer: CaptureWriter,
    private readonly inputIndex: number,
    private readonly file: string,
    private readonly inputCount: number,
  ) {}

  /** A packet has been given an interface. */
  get used(): boolean {
    return this.lastKey >= 0;
  }

  idOf(pkt: Packet): number {
    const key = pkt.iface * 65536 + pkt.linkType;
    if (key === this.lastKey) return this.lastId;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.add(pkt);
      this.ids.set(key, id);
    }
    this.lastKey = key;
    this.lastId = id;
    return id;
  }

  private add(pkt: Packet): number {
    const src: CaptureInterface | undefined = this.reader.interfaces[pkt.iface];
    const desc: CaptureInterface = {
      linkType: pkt.linkType,
      snapLen: Math.max(src?.snapLen ?? 0, 262144),
      tsUnits: src?.tsUnits ?? pkt.tsUnits,
    };
    const file = this.file;
    const name = src?.name ?? (this.inputIndex > 0 || this.inputCount > 1 ? basename(file) : undefined);
    if (name !== undefined) desc.name = name;
    if (src?.description !== undefined) desc.description = src.description;
    try {
      return this.writer.addInterface(desc);
    } catch (e) {
      // Say which input interface could not be written.
      if (e instanceof CaptureWriteError) {
        const label = `interface #${pkt.iface}${src?.name !== undefined ? ` (${src.name})` : ''} of ${file === '-' ? '<stdin>' : file}`;
        throw new CaptureWriteError(e.code, e.file, `${label}: ${e.message.slice(e.file.length + 2)}`);
      }
      throw e;
    }
  }
}

async function runOne(
  pipeline: Pipeline,
  reader: CaptureReader,
  writer: CaptureWriter,
  format: CaptureFormat,
  inputIndex: number,
  file: string,
  opts: RunOptions,
): Promise<Counters> {
  const ifaces = new OutputInterfaces(reader, writer, inputIndex, file, opts.inputs.length);

  // A plain copy to pcap: once this input's first packet has set up its interface, records the
  // writer would reproduce byte for byte skip the packet path (pcap/passthrough.ts).
  let passthrough: RecordPassthrough | null = null;
  let passthroughTried = !(pipeline.config.faithful && format === 'pcap' && writer instanceof PcapWriter && reader.format === 'pcap');
  // The packets written since the last wait for the writer: out[0, outEnd). The list is never
  // emptied (emptying makes V8 drop the array's store and grow it anew), only written over.
  const out: Packet[] = [];
  let outEnd = 0;
  let lastProgress = 0;
  try {
    for await (const batch of abortable(reader.batches(), opts.signal)) {
      if (passthrough && !passedThrough(passthrough, pipeline, reader)) await untilAborted(writer.flush(), opts.signal);
      // Each packet's output is written before the next packet is processed; the writer's
      // backpressure is honoured every STREAM_OUT_PACKETS output packets and at the batch's end
      // (one packet may leave as thousands of segments: mss 48 on a 64 KB super-packet).
      let ok = true;
      // Bytes of this batch's chunk that are dead: the records from spareStart to spareEnd, whose
      // packets were copied into the output or dropped. Lent to the next record's packet as
      // headroom (below its floor), a push into it (vxlan-encap) needs no copy of the frame. Never
      // the bytes of a record the writer output as a view of the chunk (packetsShared: they are
      // referenced until written), nor with a passthrough (its output holds views of the chunk's
      // records); the reader reuses a chunk only after this batch.
      let spareBuf: Uint8Array | null = null;
      let spareStart = 0;
      let spareEnd = 0;
      for (let i = 0; i < batch.length; i++) {
        const pkt = batch[i]!;
        const buf = pkt.buf;
        const floor = pkt.floor;
        const end = pkt.tail;
        const follows = buf === spareBuf && spareEnd <= floor;
        if (follows) pkt.floor = spareStart;
        const from = outEnd;
        const shared = writer.packetsShared;
        outEnd = pipeline.processInto(pkt, out, from);
        if (!writeAll(out, from, outEnd, writer, format, ifaces, pipeline)) ok = false;
        if (outEnd >= STREAM_OUT_PACKETS) {
          outEnd = 0;
          if (!ok) {
            await untilAborted(writer.flush(), opts.signal);
            ok = true;
          }
        }
        if (writer.packetsShared !== shared) {
          // Its record is in the output as it is: the next record's packet gets no bytes below its own.
          spareBuf = buf;
          spareStart = spareEnd = end;
        } else if (follows) spareEnd = end;
        else if (buf !== spareBuf && passthrough === null) {
          spareBuf = buf;
          spareStart = floor;
          spareEnd = end;
        }
      }
      if (!ok) await untilAborted(writer.flush(), opts.signal);
      if (!passthroughTried && ifaces.used) {
        passthroughTried = true;
        if ((writer as PcapWriter).takesRecordsAsIs(reader.nanosecond)) {
          const p = new RecordPassthrough(writer as PcapWriter, reader.chunkKeeper);
          if (reader.passthrough(p)) passthrough = p;
        }
      }
      if (opts.onProgress) {
        const now = Date.now();
        if (now - lastProgress > 100) {
          lastProgress = now;
          progress(opts, file, pipeline, reader, false);
        }
      }
    }
    if (passthrough && !passedThrough(passthrough, pipeline, reader)) await untilAborted(writer.flush(), opts.signal);
    // Once per input: the packets stages held back, after the others.
    out.length = 0;
    pipeline.flush(out);
    if (!writeAll(out, 0, out.length, writer, format, ifaces, pipeline)) await untilAborted(writer.flush(), opts.signal);
    progress(opts, file, pipeline, reader, true);
  } finally {
    // Once per input, with counts: "x.pcap: 12 packets without tunnel metadata passed through ..."
    pipeline.reportWarnings(file === '-' ? '<stdin>' : file);
  }
  const counters = pipeline.takeCounters();
  // A summary that does not add up is a bug: fail the run (its output is removed) instead.
  try {
    checkAccounting(counters);
  } catch (e) {
    (e as Error).message = `${file === '-' ? '<stdin>' : file}: ${(e as Error).message}`;
    throw e;
  }
  return counters;
}

/** Count the records a passthrough wrote since the last call as forwarded; false: wait for the writer. */
function passedThrough(p: RecordPassthrough, pipeline: Pipeline, reader: CaptureReader): boolean {
  const ok = p.flush();
  const c = pipeline.counters;
  c.packetsIn += p.packets;
  c.bytesIn += p.bytes;
  c.truncated += p.truncated;
  c.forwarded += p.packets;
  c.packetsOut += p.packets;
  c.bytesOut += p.bytes;
  // A faithful pipeline passes other link types untouched (Pipeline.process).
  if (reader.interfaces[0]?.linkType !== LINKTYPE.ETHERNET) c.nonEthernet += p.packets;
  p.packets = p.bytes = p.truncated = 0;
  return ok;
}

function progress(opts: RunOptions, file: string, pipeline: Pipeline, reader: CaptureReader, done: boolean): void {
  opts.onProgress?.({ file, packetsIn: pipeline.counters.packetsIn, bytesIn: pipeline.counters.bytesIn, sourceBytes: reader.sourceBytesRead, done });
}

/** Write out[from, end) (then those packets are gone); false when the writer asks the caller to wait for drain. */
function writeAll(
  out: Packet[],
  from: number,
  end: number,
  writer: CaptureWriter,
  format: CaptureFormat,
  ifaces: OutputInterfaces,
  pipeline: Pipeline,
): boolean {
  let ok = true;
  for (let i = from; i < end; i++) {
    const p = out[i]!;
    if (format === 'pcap' && hasMetadata(p)) {
      pipeline.warnOnce('pcap-metadata', 'carry metadata (tunnel info, GSO notes) that pcap output cannot hold; write .pcapng to keep it');
    }
    if (!writer.write(p, ifaces.idOf(p), format === 'pcapng' ? writerComments(p) : null)) ok = false;
  }
  // Writers copy every byte of a pipeline-made buffer (only read chunks are written zero-copy).
  pipeline.recycleBuffers();
  return ok;
}

/** capflow never writes over one of its inputs. */
function refuseOverwritingInput(inputs: string[], output: string): void {
  if (output === '-') return;
  const target = canonical(output);
  for (const i of inputs) {
    if (i !== '-' && canonical(i) === target) {
      throw new ConfigError(`refusing to write the output over its input ${i}`);
    }
  }
}

function canonical(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/**
 * Output path for an input in --out-dir mode: the input's base name (`-`: stdin.pcapng). With a
 * `format`, the extension says it: x.pcap → x.pcapng, x.pcap.gz → x.pcapng.gz, trace → trace.pcapng.
 */
export function outputPathFor(input: string, outDir: string, format?: CaptureFormat): string {
  const name = input === '-' ? 'stdin.pcapng' : basename(input);
  return join(outDir, format ? withFormatExtension(name, format) : name);
}

function withFormatExtension(name: string, format: CaptureFormat): string {
  const gz = /\.gz$/i.test(name);
  const stem = (gz ? name.slice(0, -3) : name).replace(/\.(pcapng|pcap|cap)$/i, '');
  return `${stem}.${format}${gz ? '.gz' : ''}`;
}

/**
 * The output of every input in --out-dir mode, checked before anything is read or written: two
 * inputs that would share an output (a/x.pcap and b/x.pcap) or an output that would replace one
 * of the inputs are refused (ConfigError, exit 2), naming the inputs.
 */
export function outDirPlan(inputs: string[], outDir: string, format?: CaptureFormat): { input: string; output: string }[] {
  const plan = inputs.map((input) => ({ input, output: outputPathFor(input, outDir, format) }));
  const byOutput = new Map<string, string>();
  const inputPaths = new Map(inputs.filter((i) => i !== '-').map((i) => [canonical(i), i]));
  for (const { input, output } of plan) {
    const key = canonical(output);
    const earlier = byOutput.get(key);
    if (earlier !== undefined) {
      throw new ConfigError(`run --out-dir: ${earlier} and ${input} would both be written to ${output}; give inputs with different names (or run them into different directories)`);
    }
    byOutput.set(key, input);
    const overwritten = inputPaths.get(key);
    if (overwritten !== undefined) throw new ConfigError(`run --out-dir: the output of ${input} would replace the input ${overwritten} (${output})`);
  }
  return plan;
}

export { LINKTYPE };
