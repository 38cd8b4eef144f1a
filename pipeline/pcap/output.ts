/**
 * Byte outputs for the capture writers: a file written atomically (temp name in the same
 * directory, renamed on close, removed on abort), stdout, or a caller's stream; each optionally
 * through gzip.
 */
import { createWriteStream } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createGzip } from 'node:zlib';

/** Where a writer's bytes go. */
export interface ByteOutput {
  /** The output's name for errors. */
  readonly name: string;
  /**
   * Hand over a chunk: the output reads it until it is written, and the caller must not modify
   * it meanwhile. `reusable`: the chunk starts a buffer of the caller's own that `reusable()`
   * may give back once written (never set it for a view of someone else's memory). False: wait
   * for drain().
   */
  write(chunk: Uint8Array, reusable?: boolean): boolean;
  /**
   * Optional: a buffer of exactly `size` bytes, handed over earlier with `reusable` and
   * completely written, that the caller may fill again; else undefined.
   */
  reusable?(size: number): Uint8Array | undefined;
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

/**
 * Chunks a file output lets be in flight (written by the thread pool) before write() says wait:
 * with the writers' 1 MiB chunks (and reader chunks of at most 1 MiB), 8 MiB at most.
 */
export const FILE_WRITES_IN_FLIGHT = 8;

/**
 * An uncompressed file written under a temporary name and renamed onto `path` by end(). Each
 * chunk is written at its own file position as soon as it is handed over, without waiting for
 * earlier writes, so writing overlaps with the caller's work; write() returns false once
 * FILE_WRITES_IN_FLIGHT chunks are in flight, and drain() waits until one of them is done.
 */
class DirectFileOutput implements ByteOutput {
  private position = 0;
  private inFlight = 0;
  private error: Error | null = null;
  private waiter: (() => void) | null = null;
  /** end() or abort() was called: no more writes. */
  private finished = false;
  private closed = false;
  /** Renamed onto the target (end) or removed (abort). */
  private done = false;
  /** Backing stores of written chunks, for reusable(). */
  private readonly free: ArrayBuffer[] = [];

  constructor(
    readonly name: string,
    private readonly path: string,
    private readonly tmp: string,
    private readonly fh: FileHandle,
  ) {}

  write(chunk: Uint8Array, reusable = false): boolean {
    if (this.error) throw this.error;
    if (this.finished) throw new Error(`${this.name}: write after end`);
    const at = this.position;
    this.position += chunk.length;
    this.inFlight++;
    this.writeAll(chunk, at).then(
      () => {
        if (reusable && this.free.length < FILE_WRITES_IN_FLIGHT) this.free.push(chunk.buffer as ArrayBuffer);
        this.settled();
      },
      (err: Error) => {
        this.error ??= err;
        this.settled();
      },
    );
    return this.inFlight < FILE_WRITES_IN_FLIGHT;
  }

  reusable(size: number): Uint8Array | undefined {
    while (this.free.length > 0) {
      const ab = this.free.pop()!;
      if (ab.byteLength >= size) return Buffer.from(ab, 0, size);
    }
    return undefined;
  }

  async drain(): Promise<void> {
    while (this.inFlight >= FILE_WRITES_IN_FLIGHT && !this.error) await this.nextSettled();
    if (this.error) throw this.error;
  }

  async end(): Promise<void> {
    if (this.done) return;
    try {
      this.finished = true;
      await this.idle();
      if (this.error) throw this.error;
      this.closed = true;
      await this.fh.close();
      await rename(this.tmp, this.path);
      this.done = true;
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.finished = true;
    this.error ??= new Error(`${this.name}: output aborted`);
    await this.idle();
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => {});
    }
    await unlink(this.tmp).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  private async writeAll(chunk: Uint8Array, at: number): Promise<void> {
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, done, chunk.length - done, at + done);
      done += bytesWritten;
    }
  }

  private settled(): void {
    this.inFlight--;
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private nextSettled(): Promise<void> {
    return new Promise<void>((resolve) => {
      const prev = this.waiter;
      this.waiter = prev
        ? () => {
            prev();
            resolve();
          }
        : resolve;
    });
  }

  private async idle(): Promise<void> {
    while (this.inFlight > 0) await this.nextSettled();
  }
}

/** Open `path` for atomic writing ('-' = stdout, written directly and left open). */
export async function openFileOutput(path: string, gzip: boolean): Promise<ByteOutput> {
  if (path === '-') return new StreamOutput('<stdout>', process.stdout, gzip, false);
  const tmp = tempPathFor(path);
  if (!gzip) return new DirectFileOutput(path, path, tmp, await open(tmp, 'wx'));
  const file = createWriteStream(tmp, { flags: 'wx', highWaterMark: 1 << 20 });
  await waitFor(file, 'open', () => null);
  return new FileOutput(path, path, tmp, file, gzip);
}

/** Write into a caller's stream; end() ends it unless it is process.stdout / process.stderr. */
export function streamOutput(stream: NodeJS.WritableStream, gzip: boolean, name = '<stream>'): ByteOutput {
  const endStream = stream !== process.stdout && stream !== process.stderr;
  return new StreamOutput(name, stream, gzip, endStream);
}
