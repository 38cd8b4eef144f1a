/**
 * `capflow replay`: the same Pipeline as `capflow run`, its output paced in time into a live
 * destination (a pcap stream, a FIFO, a Linux interface) or re-timed into a file.
 *
 *   for each loop: read the input in batches → pipeline.process (sync) → pacer.emit (async,
 *   one await per batch or per sleep) → destination
 *
 * Accounting: the pipeline's counters as in `run` (packetsIn = forwarded + dropped), plus what
 * the destination did with packetsOut: `sent`, `sendErrors` by reason, and `notSent` (left
 * when the replay stopped early: --limit, a signal, the reader of a stream went away).
 */
import type { Packet } from '../packet.js';
import type { PipelineConfig } from '../config.js';
import { Pipeline, checkAccounting, type Counters } from '../pipeline.js';
import { openCapture, type CaptureReader } from '../pcap/reader.js';
import { ConfigError } from '../config-error.js';
import { realClock, VirtualClock, type Clock } from './clock.js';
import type { Destination } from './destination.js';
import { openDestination, parseDestination } from './open-destination.js';
import { Pacer, type RateReport } from './pacer.js';
import type { RateSpec } from './rate.js';
import { Schedule } from './schedule.js';
import { abortable, untilAborted } from '../abortable.js';

export type StopReason = 'end' | 'limit' | 'signal' | 'destination-closed';

export interface ReplayOptions {
  input: string;
  /** '-', a FIFO or device, a file path, or 'iface:NAME'. Ignored when `destination` is given. */
  to: string;
  config: PipelineConfig;
  rate: RateSpec;
  /** Bits per second; spaces packets by their serialization time. */
  linkBps?: number | undefined;
  /** Passes over the input; 0 = until stopped. Default 1. */
  loop?: number | undefined;
  loopGapMs?: number | undefined;
  /** Stop after this many packets sent (0/undefined: all). */
  limit?: number | undefined;
  vnetHdr?: boolean | undefined;
  format?: 'pcap' | 'pcapng' | undefined;
  /** Nanosecond timestamps in the output (default: when the input has them or a link speed is set). */
  nanosecond?: boolean | undefined;
  strict?: boolean | undefined;
  /** Default: the real clock for live destinations, a VirtualClock for files. */
  clock?: Clock | undefined;
  signal?: AbortSignal | undefined;
  onWarning?: ((message: string) => void) | undefined;
  /** A ready destination (library use, tests) instead of `to`. */
  destination?: Destination | undefined;
  /** Stream for `--to -` (default process.stdout). */
  stdout?: NodeJS.WritableStream | undefined;
}

export interface ReplaySummary extends Counters {
  input: string;
  destination: string;
  destinationKind: Destination['kind'];
  loops: number;
  sent: number;
  bytesSent: number;
  sendErrors: Record<string, number>;
  notSent: number;
  stopped: StopReason;
  rate: RateReport;
}

export async function runReplay(o: ReplayOptions): Promise<ReplaySummary> {
  const warned = new Set<string>();
  const warnOnce = (key: string, message: string): void => {
    if (warned.has(key)) return;
    warned.add(key);
    o.onWarning?.(message);
  };
  const loops = o.loop ?? 1;
  if (!Number.isInteger(loops) || loops < 0) throw new ConfigError(`replay: --loop expects a whole number ≥ 0 (0 = until stopped), got ${loops}`);
  if (o.input === '-' && loops !== 1) throw new ConfigError('replay: --loop needs a file input (stdin can be read only once)');
  const gap = o.loopGapMs ?? 0;
  if (!(gap >= 0)) throw new ConfigError(`replay: --loop-gap expects milliseconds ≥ 0, got ${gap}`);

  const pipeline = new Pipeline(o.config, { onWarning: (m) => o.onWarning?.(m) });
  const open = (): Promise<CaptureReader> =>
    openCapture(o.input, { name: o.input === '-' ? '<stdin>' : o.input, strict: o.strict ?? false, onWarning: (m) => o.onWarning?.(m) });

  let reader: CaptureReader | null = await untilAborted(open(), o.signal);
  let dest: Destination;
  try {
    if (o.destination) dest = o.destination;
    else {
      const spec = parseDestination(o.to);
      if (spec.kind === 'file' && o.rate.kind === 'topspeed' && !o.linkBps) {
        warnOnce('topspeed-file', '--topspeed to a file without --link-speed gives every packet the same timestamp');
      }
      dest = await openDestination(spec, {
        input: o.input,
        inputFormat: reader.format,
        format: o.format,
        nanosecond: o.nanosecond ?? (reader.nanosecond || !!o.linkBps),
        vnetHdr: o.vnetHdr ?? false,
        onWarning: warnOnce,
        stdout: o.stdout,
        signal: o.signal,
      });
    }
  } catch (e) {
    await reader.close();
    throw e;
  }

  const clock = o.clock ?? (dest.virtualTime ? new VirtualClock(0, Date.now()) : realClock);
  const pacer = new Pacer({ clock, schedule: new Schedule({ rate: o.rate, linkBps: o.linkBps }), destination: dest, limit: o.limit, signal: o.signal });
  let stopped: StopReason = 'end';
  let loopsDone = 0;
  let packetsOut = 0;
  const out: Packet[] = [];
  try {
    for (let loop = 0; loops === 0 || loop < loops; loop++) {
      if (loop > 0) {
        pacer.nextLoop(gap);
        reader = await untilAborted(open(), o.signal);
      }
      const r = reader!;
      dest.setInputInterfaces(r.interfaces);
      const before = pacer.packets;
      try {
        for await (const batch of abortable(r.batches(), o.signal)) {
          out.length = 0;
          for (let i = 0; i < batch.length; i++) pipeline.process(batch[i]!, out);
          dest.setInputInterfaces(r.interfaces);
          packetsOut += out.length;
          await pacer.emit(out);
          if (pacer.done) break;
        }
        if (!pacer.done) {
          out.length = 0;
          pipeline.flush(out);
          packetsOut += out.length;
          await pacer.emit(out);
        }
      } finally {
        reader = null;
        // Stopped while a read waits (stdin without data): that read is abandoned, not awaited.
        if (o.signal?.aborted) void r.close().catch(() => {});
        else await r.close();
      }
      loopsDone++;
      if (pacer.done) break;
      if (pacer.packets === before) {
        if (loops === 0) warnOnce('loop-empty', 'replay: a pass over the input sent nothing; not looping forever');
        if (loops === 0) break;
      }
    }
    if (o.signal?.aborted) stopped = 'signal';
    else if (pacer.done) stopped = 'limit';
    const rate = await pacer.finish();
    // Stopped by a signal, a file is not finished: it is removed, as `run` removes its output.
    // What went to a live stream or an interface is out already; the stream is closed.
    if (stopped === 'signal' && dest.kind === 'file') await dest.abort();
    else await dest.close();
    const done = summary(rate);
    // A summary that does not add up is a bug (a stage lost packets): an error, never silent.
    checkAccounting(done);
    return done;
  } catch (e) {
    if (o.signal?.aborted && (e as Error).name === 'AbortError') {
      // The signal ended a wait for input: stop as the pacer would have.
      stopped = 'signal';
      await dest.abort().catch(() => {});
      return summary(pacer.report());
    }
    if (isClosedReader(e) && dest.kind === 'stream') {
      // The reader of a live stream went away (wireshark closed, `| head`): stop quietly.
      stopped = 'destination-closed';
      await dest.abort().catch(() => {});
      return summary(pacer.report());
    }
    await dest.abort().catch(() => {});
    throw e;
  } finally {
    if (reader) await reader.close();
  }

  function summary(rate: RateReport): ReplaySummary {
    pipeline.reportWarnings(o.input === '-' ? '<stdin>' : o.input);
    const c = pipeline.takeCounters();
    const s = dest.stats;
    const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
    return {
      ...c,
      packetsOut,
      input: o.input,
      destination: dest.name,
      destinationKind: dest.kind,
      loops: loopsDone,
      sent: s.packets,
      bytesSent: s.bytes,
      sendErrors: { ...s.errors },
      notSent: Math.max(0, packetsOut - s.packets - errors),
      stopped,
      rate,
    };
  }
}

function isClosedReader(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ECONNRESET' || code === 'ERR_STREAM_WRITE_AFTER_END';
}
