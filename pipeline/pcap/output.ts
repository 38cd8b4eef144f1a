/**
 * Byte outputs for the capture writers: a file written atomically (temp name in the same
 * directory, renamed on close, removed on abort), stdout, or a caller's stream; each optionally
 * through gzip.
 */
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createGzip } from 'node:zlib';

/** Where a writer's bytes go. */
export interface ByteOutput {
  /** The output's name for errors. */
  readonly name: string;
  /** Hand over a chunk (the output owns it from now on). False: wait for drain(). */
  write(chunk: Uint8Array): boolean;
  /** Resolves when the output can take more; rejects with the output's error. */
  drain(): Promise<void>;
  /** Finish: end (gzip trailer included), wait until everything is written, commit. */
  end(): Promise<void>;
  /** Discard: stop writing and remove what was written (files). */
  abort(): Promise<void>;
}

/** Output format and compression implied by a file name: .pcap .pcapng .cap, each optionally .gz. */
export function formatFromPath(path: string): { format: 'pcap' | 'pcapng'; gzip: boolean } | null {
  const lower = path.toLowerCase();
  const gzip = lower.endsWith('.gz');
  const base = gzip ? lower.slice(0, -3) : lower;
  if (base.endsWith('.pcapng')) return { format: 'pcapng', gzip };
  if (base.endsWith('.pcap') || base.endsWith('.cap')) return { format: 'pcap', gzip };
  return null;
}

/** The temporary name a file output is written under: `.<name>.capflow-<pid>-<rand>.tmp`, same directory. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.capflow-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes into a stream (optionally via gzip). `endStream`: end the stream on end() (not for
 * stdout, which must stay open).
 */
class StreamOutput implements ByteOutput {
  /** What write() writes into: the gzip stream or the destination itself. */
  protected readonly sink: NodeJS.WritableStream;
  protected error: Error | null = null;
  private readonly gzip: ReturnType<typeof createGzip> | null;

  constructor(
    readonly name: string,
    protected readonly dest: NodeJS.WritableStream,
    gzip: boolean,
    private readonly endStream: boolean,
  ) {
    const onError = (err: Error): void => {
      this.error ??= err;
    };
    dest.on('error', onError);
    if (gzip) {
      this.gzip = createGzip();
      this.gzip.on('error', onError);
      this.gzip.pipe(dest, { end: false });
      this.sink = this.gzip;
    } else {
      this.gzip = null;
      this.sink = dest;
    }
  }

  write(chunk: Uint8Array): boolean {
    if (this.error) throw this.error;
    return this.sink.write(chunk);
  }

  async drain(): Promise<void> {
    if (this.error) throw this.error;
    const s = this.sink as NodeJS.WritableStream & { writableNeedDrain?: boolean };
    if (s.writableNeedDrain === false) return;
    await waitFor(s, 'drain', () => this.error);
  }

  async end(): Promise<void> {
    if (this.error) throw this.error;
    if (this.gzip) {
      const done = waitFor(this.gzip, 'end', () => this.error);
      this.gzip.end();
      await done;
    }
    const d = this.dest as NodeJS.WritableStream & { writableNeedDrain?: boolean };
    if (this.endStream) {
      const done = waitFor(d, 'finish', () => this.error);
      d.end();
      await done;
    } else if (d.writableNeedDrain) {
      await waitFor(d, 'drain', () => this.error);
    }
    if (this.error) throw this.error;
  }

  async abort(): Promise<void> {
    this.error ??= new Error(`${this.name}: output aborted`);
    if (this.gzip) {
      this.gzip.unpipe();
      this.gzip.destroy();
    }
  }
}

/** Resolve on `event`; reject on 'error', on 'close' first, or with an error already recorded. */
function waitFor(s: NodeJS.EventEmitter, event: string, recorded: () => Error | null): Promise<void> {
  const err = recorded();
  if (err) return Promise.reject(err);
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      s.off(event, onEvent);
      s.off('error', onError);
      s.off('close', onClose);
    };
    const onEvent = (): void => {
      cleanup();
      resolve();
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const onClose = (): void => {
      cleanup();
      reject(recorded() ?? new Error(`output closed before '${event}'`));
    };
    s.on(event, onEvent);
    s.on('error', onError);
    if (event !== 'close') s.on('close', onClose);
  });
}

/** A file written under a temporary name and renamed onto `path` by end(). */
class FileOutput extends StreamOutput {
  private done = false;

  constructor(
    name: string,
    private readonly path: string,
    private readonly tmp: string,
    file: NodeJS.WritableStream,
    gzip: boolean,
  ) {
    super(name, file, gzip, true);
  }

  override async end(): Promise<void> {
    try {
      await super.end();
      await closed(this.dest);
      await rename(this.tmp, this.path);
      this.done = true;
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  override async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await super.abort();
    const ws = this.dest as NodeJS.WritableStream & { destroy(): void; closed?: boolean };
    ws.destroy();
    await closed(ws).catch(() => {});
    await unlink(this.tmp).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

async function closed(s: NodeJS.WritableStream): Promise<void> {
  const ws = s as NodeJS.WritableStream & { closed?: boolean };
  if (ws.closed) return;
  await waitFor(ws, 'close', () => null);
}

/** Open `path` for atomic writing ('-' = stdout, written directly and left open). */
export async function openFileOutput(path: string, gzip: boolean): Promise<ByteOutput> {
  if (path === '-') return new StreamOutput('<stdout>', process.stdout, gzip, false);
  const tmp = tempPathFor(path);
  const file = createWriteStream(tmp, { flags: 'wx', highWaterMark: 1 << 20 });
  await waitFor(file, 'open', () => null);
  return new FileOutput(path, path, tmp, file, gzip);
}

/** Write into a caller's stream; end() ends it unless it is process.stdout / process.stderr. */
export function streamOutput(stream: NodeJS.WritableStream, gzip: boolean, name = '<stream>'): ByteOutput {
  const endStream = stream !== process.stdout && stream !== process.stderr;
  return new StreamOutput(name, stream, gzip, endStream);
}
