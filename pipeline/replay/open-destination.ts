/**
 * `--to DEST`: `-` (stdout) or a FIFO / character device → live capture stream; `iface:NAME` →
 * AF_PACKET; any other path → a capture file (written atomically, timestamps computed).
 */
import { createWriteStream, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../config-error.js';
import { createFileWriter, createStreamWriter, formatFromPath } from '../pcap/writer.js';
import { closedStdoutError, openFifoStream, stdoutClosed } from '../pcap/output.js';
import { CaptureDestination } from './capture-destination.js';
import type { Destination } from './destination.js';
import { IfaceDestination } from './iface-destination.js';
import { ReplayError } from './errors.js';

export type DestinationSpec =
  | { kind: 'stream'; path: string | null }
  | { kind: 'file'; path: string; format: 'pcap' | 'pcapng' | null; gzip: boolean }
  | { kind: 'iface'; ifname: string };

/**
 * Classify `--to`. Paths that exist and are FIFOs or character devices are streams; a directory,
 * a socket or a block device is refused (ConfigError: exit 2 before any work), as `run -o` does.
 */
export function parseDestination(to: string): DestinationSpec {
  if (to === '-') return { kind: 'stream', path: null };
  if (to.startsWith('iface:')) {
    const ifname = to.slice('iface:'.length);
    if (!/^[^\s/:]{1,15}$/.test(ifname)) throw new ConfigError(`replay: --to ${to}: expected iface:NAME with an interface name of 1 to 15 characters`);
    return { kind: 'iface', ifname };
  }
  if (to === '') throw new ConfigError('replay: --to needs a destination: -, a FIFO, a file, or iface:NAME');
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(to);
  } catch {
    st = undefined;
  }
  if (st && (st.isFIFO() || st.isCharacterDevice())) return { kind: 'stream', path: to };
  if (st?.isDirectory()) throw new ConfigError(`replay: --to ${to} is a directory`);
  // open(2) of a socket fails (ENXIO) and a block device is no capture: refused, naming what it is.
  if (st?.isSocket()) throw new ConfigError(`replay: --to ${to} is a socket; a destination is -, a FIFO, a character device, a file or iface:NAME`);
  if (st?.isBlockDevice()) throw new ConfigError(`replay: --to ${to} is a block device; a destination is -, a FIFO, a character device, a file or iface:NAME`);
  const byName = formatFromPath(to);
  return { kind: 'file', path: to, format: byName?.format ?? null, gzip: byName?.gzip ?? false };
}

export interface OpenDestinationOptions {
  input: string;
  /** Output format of a file DEST whose name implies none: the input's (streams: pcapng). */
  inputFormat: 'pcap' | 'pcapng';
  format?: 'pcap' | 'pcapng' | undefined;
  nanosecond: boolean;
  vnetHdr: boolean;
  onWarning: (key: string, message: string) => void;
  /** Override stdout (tests). */
  stdout?: NodeJS.WritableStream | undefined;
  /** Ends a wait for a FIFO's reader. */
  signal?: AbortSignal | undefined;
}

export async function openDestination(spec: DestinationSpec, o: OpenDestinationOptions): Promise<Destination> {
  if (spec.kind !== 'iface' && o.vnetHdr) o.onWarning('vnet-ignored', '--vnet-hdr applies to iface: destinations only; ignored');
  switch (spec.kind) {
    case 'iface':
      return new IfaceDestination({ ifname: spec.ifname, vnetHdr: o.vnetHdr, onWarning: o.onWarning });
    case 'stream': {
      // A live view (Wireshark reading the pipe) keeps capflow's comments: pcapng unless asked.
      const format = o.format ?? 'pcapng';
      let stream: NodeJS.WritableStream;
      // A closed stdout (`>&-`) would swallow the whole replay: refuse it before sending.
      if (spec.path === null && !o.stdout && stdoutClosed()) throw closedStdoutError();
      if (spec.path === null) stream = o.stdout ?? process.stdout;
      else stream = await openStreamPath(spec.path, o);
      const writer = createStreamWriter(stream, { format, nanosecond: o.nanosecond });
      return new CaptureDestination({ kind: 'stream', name: spec.path ?? '-', writer, format, tsUnits: o.nanosecond ? 1e9 : 1e6, onWarning: o.onWarning });
    }
    case 'file': {
      refuseOverwritingInput(o.input, spec.path);
      const format = o.format ?? spec.format ?? o.inputFormat;
      const writer = await createFileWriter(spec.path, { format, nanosecond: o.nanosecond, gzip: spec.gzip });
      return new CaptureDestination({ kind: 'file', name: spec.path, writer, format, tsUnits: o.nanosecond ? 1e9 : 1e6, onWarning: o.onWarning });
    }
  }
}

/**
 * Open a FIFO or device for writing. A FIFO is opened without blocking a thread and waits for
 * its reader until one comes or the signal aborts (a blocked open(2) would outlive SIGTERM).
 */
async function openStreamPath(path: string, o: OpenDestinationOptions): Promise<NodeJS.WritableStream> {
  if (statSync(path).isFIFO()) {
    return openFifoStream(path, { signal: o.signal, onWait: (m) => o.onWarning('fifo-wait', m) }).catch((e: unknown) => {
      if ((e as Error).name === 'AbortError') throw e;
      throw new ReplayError('ERR_REPLAY_DESTINATION', (e as Error).message);
    });
  }
  const s = createWriteStream(path, { flags: 'w' });
  await new Promise<void>((res, rej) => {
    s.once('open', () => res());
    s.once('error', (e) => rej(new ReplayError('ERR_REPLAY_DESTINATION', `${path}: ${(e as Error).message}`)));
  });
  return s;
}

function refuseOverwritingInput(input: string, output: string): void {
  if (input === '-') return;
  if (canonical(input) === canonical(output)) throw new ConfigError(`refusing to write the output over its input ${input}`);
}

function canonical(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}
