/**
 * Byte outputs for the capture writers. A regular file (or a new path) is written atomically:
 * under a temporary name in the same directory, renamed onto the target on close, removed on
 * abort. A FIFO or a character device is written in place (no atomicity is possible there), a
 * symlink is resolved and its target written atomically, stdout and a caller's stream directly;
 * each optionally through gzip. Anything else (a directory, a socket) is refused before work.
 */
import { constants, createWriteStream, fstatSync, writeSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, unlinkSync } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Gzip } from 'node:zlib';
import { ConfigError } from '../config-error.js';
import { giveSlot } from './io-slots.js';
import { systemReason } from './errors.js';

/** Where a writer's bytes go. */
export interface ByteOutput {
  /** The output's name for errors. */
  readonly name: string;
  /**
   * Hand over a chunk: the output reads it until it is written, and the caller must not modify
   * it meanwhile. `reusable`: the chunk starts a buffer of the caller's own that `reusable()`
   * may give back once written (never set it for a view of someone else's memory). `written`:
   * called once the output no longer reads the chunk (written, or failed). False: wait for drain().
   */
  write(chunk: Uint8Array, reusable?: boolean, written?: () => void): boolean;
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

/**
 * Written chunks handed over as `reusable`, kept (at most FILE_WRITES_IN_FLIGHT) for the writer to
 * fill again; a slot of the I/O memory not kept goes back to it, as do the kept ones when the
 * output is finished.
 */
class WrittenBuffers {
  private readonly free: Uint8Array[] = [];

  /** A reusable chunk was completely written: keep the buffer it starts. */
  keep(chunk: Uint8Array): void {
    if (this.free.length < FILE_WRITES_IN_FLIGHT) this.free.push(chunk);
    else giveSlot(chunk);
  }

  /** A kept buffer of `size` bytes, or undefined. */
  take(size: number): Uint8Array | undefined {
    while (this.free.length > 0) {
      const c = this.free.pop()!;
      if (c.buffer.byteLength - c.byteOffset >= size) return new Uint8Array(c.buffer, c.byteOffset, size);
      giveSlot(c);
    }
    return undefined;
  }

  /** The output is finished: nothing will be taken any more. */
  releaseAll(): void {
    for (const c of this.free) giveSlot(c);
    this.free.length = 0;
  }
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

/**
 * Longest part of the output's name kept in its temporary name: the suffix (`.capflow-` pid
 * `-` 8 hex digits `.tmp`, 30 bytes with the leading dot at most) must fit NAME_MAX (255 bytes)
 * with any output name that fits it.
 */
const TEMP_NAME_KEEP = 200;

/** The output's name as its temporary name keeps it: at most TEMP_NAME_KEEP bytes of UTF-8, whole characters. */
function tempStem(name: string): string {
  if (Buffer.byteLength(name) <= TEMP_NAME_KEEP) return name;
  let out = '';
  let bytes = 0;
  for (const ch of name) {
    bytes += Buffer.byteLength(ch);
    if (bytes > TEMP_NAME_KEEP) break;
    out += ch;
  }
  return out;
}

/** capflow's temporary names: `.<stem>.capflow-<pid>-<8 hex>.tmp`. */
const TEMP_NAME = /^\.(.*)\.capflow-([0-9]+)-[0-9a-f]{8}\.tmp$/s;

/**
 * The temporary name a file output is written under: `.<name>.capflow-<pid>-<rand>.tmp`, same
 * directory. The random part only keeps two outputs of one process apart: the file is created
 * exclusively ('wx'), so Math.random serves (node:crypto would cost every run its loading).
 */
export function tempPathFor(path: string): string {
  const rand = Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return join(dirname(path), `.${tempStem(basename(path))}.capflow-${process.pid}-${rand}.tmp`);
}

/** Temporaries of this process not yet renamed or removed (for removal on a signal). */
const liveTemporaries = new Set<string>();

/** Remove this process's temporary outputs now (a signal handler about to exit). */
export function removeTemporariesSync(): void {
  for (const t of liveTemporaries) {
    try {
      unlinkSync(t);
    } catch {
      // Already gone.
    }
  }
  liveTemporaries.clear();
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove temporaries of `path` that a killed capflow left (SIGKILL, a crash): capflow's name
 * pattern for this output with the PID of a process that no longer exists. Returns their names.
 */
export function removeStaleTemporaries(path: string): string[] {
  const dir = dirname(path);
  const stem = tempStem(basename(path));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    if (!m || m[1] !== stem) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      unlinkSync(join(dir, n));
      removed.push(n);
    } catch {
      // Someone else removed it, or it is not ours to remove.
    }
  }
  return removed;
}

/** An output that could not be created, written or committed; `code` is the system error's (EPIPE, ENOSPC, ...). */
export class OutputError extends Error {
  override readonly name = 'OutputError';
  readonly code: string;
  /** The output's name as given (path or '<stdout>'). */
  readonly output: string;

  constructor(output: string, what: string, cause: unknown) {
    super(`${output}: ${what}: ${systemReason(cause)}`, { cause });
    this.output = output;
    this.code = (cause as NodeJS.ErrnoException | null)?.code ?? 'ERR_OUTPUT';
  }
}

/** /dev/null's device number (major 1, minor 3) as fstat reports it on Linux. */
const DEV_NULL_RDEV = (1 << 8) | 3;
let closedStdout: boolean | null = null;

/**
 * True when the program was started with stdout closed (`>&-`). Node then opens /dev/null on
 * fd 1 read-write (PlatformInit in node.cc), which a shell redirection (`>/dev/null`, write-only)
 * never does: that is how the two are told apart.
 */
export function stdoutClosed(): boolean {
  if (closedStdout !== null) return closedStdout;
  closedStdout = false;
  if (process.platform !== 'linux') return closedStdout;
  try {
    const st = fstatSync(1);
    if (!st.isCharacterDevice() || st.rdev !== DEV_NULL_RDEV) return closedStdout;
    const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'));
    closedStdout = flags !== null && (parseInt(flags[1]!, 8) & 3) === 2;
  } catch {
    // No procfs: take stdout as open.
  }
  return closedStdout;
}

/** The error for writing to a closed stdout. */
export function closedStdoutError(): OutputError {
  const e: NodeJS.ErrnoException = new Error('EBADF: stdout is closed, write');
  e.code = 'EBADF';
  e.syscall = 'write';
  return new OutputError('<stdout>', 'cannot write', e);
}

/**
 * Writes into a stream (optionally via gzip). `endStream`: end the stream on end() (not for
 * stdout, which must stay open).
 */
class StreamOutput implements ByteOutput {
  /** What write() writes into: the gzip stream or the destination itself. */
  protected readonly sink: NodeJS.WritableStream;
  protected error: Error | null = null;
  private readonly gzip: Gzip | null;
  /** Writes whose callback has not come yet: end() waits for them (their error is the output's). */
  private pending = 0;
  private idleWaiter: (() => void) | null = null;
  /** Written reusable chunks, for reusable(). */
  private readonly free = new WrittenBuffers();

  constructor(
    readonly name: string,
    protected readonly dest: NodeJS.WritableStream,
    gzip: boolean,
    protected readonly endStream: boolean,
  ) {
    const onError = (err: Error): void => {
      this.error ??= new OutputError(this.name, 'cannot write', err);
    };
    dest.on('error', onError);
    if (gzip) {
      this.gzip = process.getBuiltinModule('node:zlib').createGzip();
      this.gzip.on('error', onError);
      this.gzip.pipe(dest, { end: false });
      this.sink = this.gzip;
    } else {
      this.gzip = null;
      this.sink = dest;
    }
  }

  write(chunk: Uint8Array, reusable = false, written?: () => void): boolean {
    if (this.error) throw this.error;
    this.pending++;
    return this.sink.write(chunk, (err?: Error | null) => {
      if (err) this.error ??= new OutputError(this.name, 'cannot write', err);
      else if (reusable) this.free.keep(chunk);
      written?.();
      if (--this.pending === 0 && this.idleWaiter) {
        const w = this.idleWaiter;
        this.idleWaiter = null;
        w();
      }
    });
  }

  reusable(size: number): Uint8Array | undefined {
    return this.free.take(size);
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
    } else {
      if (d.writableNeedDrain) await waitFor(d, 'drain', () => this.error);
      // A stream left open (stdout): every write must have come back, its error being the output's.
      if (this.pending > 0 && !this.error) {
        await Promise.race([
          new Promise<void>((resolve) => {
            this.idleWaiter = resolve;
          }),
          waitFor(d, 'close', () => this.error),
        ]);
      }
    }
    this.free.releaseAll();
    if (this.error) throw this.error;
  }

  async abort(): Promise<void> {
    this.error ??= new Error(`${this.name}: output aborted`);
    this.free.releaseAll();
    if (this.gzip) {
      this.gzip.unpipe();
      this.gzip.destroy();
    }
    // A FIFO or device opened for this output: close it (a reader that stopped reading must not hold us).
    if (this.endStream) (this.dest as NodeJS.WritableStream & { destroy?(): void }).destroy?.();
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
      // The output's own listener (registered first) has recorded it, wrapped with the output's name.
      reject(recorded() ?? e);
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
      await commit(this.name, this.tmp, this.path);
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
    await removeTemporary(this.tmp);
  }
}

/** Rename the finished temporary onto the target: the moment the output appears, whole. */
async function commit(name: string, tmp: string, path: string): Promise<void> {
  try {
    await rename(tmp, path);
  } catch (e) {
    throw new OutputError(name, 'cannot rename the finished temporary onto it', e);
  }
  liveTemporaries.delete(tmp);
}

async function removeTemporary(tmp: string): Promise<void> {
  await unlink(tmp).catch((err: NodeJS.ErrnoException) => {
    // ENOENT: never created or already gone (its folder removed meanwhile).
    if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR') throw err;
  });
  liveTemporaries.delete(tmp);
}

async function closed(s: NodeJS.WritableStream): Promise<void> {
  const ws = s as NodeJS.WritableStream & { closed?: boolean };
  if (ws.closed) return;
  await waitFor(ws, 'close', () => null);
}

/**
 * Chunks a file output lets be queued (written by the thread pool, one after the other) before
 * write() says wait: with the writers' 1 MiB chunks (and reader chunks of at most 1 MiB), 8 MiB at most.
 */
export const FILE_WRITES_IN_FLIGHT = 8;

/**
 * An uncompressed file written under a temporary name and renamed onto `path` by end(). Chunks
 * are written at their file positions by the thread pool, one write (of every chunk queued
 * meanwhile) at a time, so writing overlaps with the caller's work; write() returns false once FILE_WRITES_IN_FLIGHT chunks are
 * queued, and drain() waits until one of them is done. With `sync` (OpenOutputOptions.syncWrites)
 * write() writes the chunk on this thread before it returns instead.
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
  /** Written reusable chunks, for reusable(). */
  private readonly free = new WrittenBuffers();
  /** Chunks handed over and not yet given to the thread pool (file order, contiguous). */
  private queue: { chunk: Uint8Array; reusable: boolean; written: (() => void) | undefined }[] = [];
  /** File position of queue[0]. */
  private queueAt = 0;
  /** A write is in the thread pool. */
  private writing = false;

  constructor(
    readonly name: string,
    private readonly path: string,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    private readonly sync = false,
  ) {}

  write(chunk: Uint8Array, reusable = false, written?: () => void): boolean {
    if (this.error) throw this.error;
    if (this.finished) throw new Error(`${this.name}: write after end`);
    const at = this.position;
    this.position += chunk.length;
    if (this.sync) {
      this.writeNow(chunk, at);
      if (reusable) this.free.keep(chunk);
      written?.();
      return true;
    }
    this.inFlight++;
    if (this.queue.length === 0) this.queueAt = at;
    this.queue.push({ chunk, reusable, written });
    if (!this.writing) this.writeQueued();
    return this.inFlight < FILE_WRITES_IN_FLIGHT;
  }

  reusable(size: number): Uint8Array | undefined {
    return this.free.take(size);
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
      this.free.releaseAll();
      if (this.error) throw this.error;
      this.closed = true;
      await this.fh.close().catch((e: unknown) => {
        throw new OutputError(this.name, 'cannot write', e);
      });
      await commit(this.name, this.tmp, this.path);
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
    this.free.releaseAll();
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => {});
    }
    await removeTemporary(this.tmp);
  }

  /**
   * One write at a time, of everything queued since the last one began (one writev): concurrent
   * writes to one file only contend for its inode lock (ext4 serializes buffered writes; the
   * waiters spun in rwsem_spin_on_owner, 13 % of a batch's CPU), and one chunk per write would
   * leave the thread idle whenever the event loop is busy with a batch when a write completes.
   */
  private writeQueued(): void {
    const batch = this.queue;
    const at = this.queueAt;
    this.queue = [];
    this.writing = true;
    this.writevAll(
      batch.map((b) => b.chunk),
      at,
    ).then(
      () => this.writtenQueued(batch, null),
      (err: Error) => this.writtenQueued(batch, err),
    );
  }

  private writtenQueued(batch: { chunk: Uint8Array; reusable: boolean; written: (() => void) | undefined }[], err: Error | null): void {
    if (err) this.error ??= new OutputError(this.name, 'cannot write', err);
    this.writing = false;
    for (const b of batch) {
      if (!err && b.reusable) this.free.keep(b.chunk);
      b.written?.();
    }
    if (this.queue.length > 0) this.writeQueued();
    for (let i = 0; i < batch.length; i++) this.settled();
  }

  /** Write `chunks` one after the other from file position `at` (a short writev goes on where it stopped). */
  private async writevAll(chunks: Uint8Array[], at: number): Promise<void> {
    if (chunks.length === 1) return this.writeAll(chunks[0]!, at);
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const { bytesWritten } = await this.fh.writev(chunks, at);
    if (bytesWritten === total) return;
    // Short write: the rest chunk by chunk.
    let skip = bytesWritten;
    let pos = at;
    for (const c of chunks) {
      if (skip >= c.length) {
        skip -= c.length;
        pos += c.length;
        continue;
      }
      await this.writeAll(c.subarray(skip), pos + skip);
      pos += c.length;
      skip = 0;
    }
  }

  /** Write `chunk` at `at` on this thread (a short write goes on where it stopped). */
  private writeNow(chunk: Uint8Array, at: number): void {
    try {
      for (let done = 0; done < chunk.length; ) done += writeSync(this.fh.fd, chunk, done, chunk.length - done, at + done);
    } catch (e) {
      this.error ??= new OutputError(this.name, 'cannot write', e);
      throw this.error;
    }
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

/** Where an output goes, decided before any work. */
export type OutputTarget =
  /** Written atomically to `path` (a regular file, a new path, or a symlink's target). */
  | { kind: 'file'; path: string }
  /** Written in place: a FIFO (waits for a reader) or a character device. */
  | { kind: 'fifo' | 'device'; path: string }
  /** An inherited descriptor: stdout for '-', /dev/stdout, /dev/fd/1, /proc/self/fd/1. */
  | { kind: 'fd'; fd: number };

/** The descriptor a /dev/stdout-like path names, or null. */
function inheritedFd(path: string): number | null {
  if (path === '-' || path === '/dev/stdout') return 1;
  if (path === '/dev/stderr') return 2;
  const m = /^\/(?:dev\/fd|proc\/self\/fd)\/([0-9]+)$/.exec(path);
  return m ? Number(m[1]) : null;
}

/** Follow a chain of symlinks as far as it goes (the last path may not exist yet). */
function followLinks(path: string): string {
  let p = path;
  for (let hops = 0; hops < 40; hops++) {
    let target: string;
    try {
      if (!lstatSync(p).isSymbolicLink()) return p;
      target = readlinkSync(p);
    } catch {
      return p;
    }
    p = resolve(dirname(p), target);
  }
  return p;
}

/**
 * Classify an output path: '-' and /dev/stdout-like paths are inherited descriptors; a regular
 * file or a new path is written atomically, through a symlink onto its target; FIFOs and
 * character devices in place. A directory, a socket or a block device is a ConfigError.
 */
export function classifyOutput(path: string): OutputTarget {
  const fd = inheritedFd(path);
  if (fd !== null) return { kind: 'fd', fd };
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    // A new path (or a dangling symlink: the file is created where it points).
    return { kind: 'file', path: followLinks(path) };
  }
  if (st.isFile()) return { kind: 'file', path: followLinks(path) };
  if (st.isFIFO()) return { kind: 'fifo', path };
  if (st.isCharacterDevice()) return { kind: 'device', path };
  const what = st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : st.isBlockDevice() ? 'a block device' : 'not a file';
  throw new ConfigError(`${path}: is ${what}; an output is a file, a FIFO, a character device or - (stdout)`);
}

export interface OpenOutputOptions {
  /** Ends a wait for a FIFO's reader (and nothing else). */
  signal?: AbortSignal | undefined;
  /** Told once when a FIFO has no reader yet. */
  onWait?: ((message: string) => void) | undefined;
  /**
   * An uncompressed regular file is written with synchronous writes on this thread, each chunk
   * when handed over, instead of in libuv's thread pool: for a thread with a core to itself (a
   * batch with a job on every core), where overlapping writes with its work buys nothing and each
   * hand-off costs wake-ups. Other outputs (gzip, FIFOs, devices, stdout) stay streams.
   */
  syncWrites?: boolean | undefined;
}

/** How often to retry opening a FIFO that has no reader yet. */
const FIFO_RETRY_MS = 50;

/**
 * Open a FIFO for writing without blocking a thread: open(2) with O_NONBLOCK fails with ENXIO
 * while no reader exists (fifo(7)), so retry until one comes or `signal` aborts. A blocking open
 * would sit in the thread pool where no signal handler can end it (the process cannot exit).
 */
export async function openFifo(path: string, o: OpenOutputOptions = {}): Promise<number> {
  let told = false;
  for (;;) {
    try {
      return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw new OutputError(path, 'cannot open', e);
    }
    if (!told) {
      told = true;
      o.onWait?.(`${path}: waiting for a reader of the FIFO (SIGINT/SIGTERM to stop)`);
    }
    await process.getBuiltinModule('node:timers/promises').setTimeout(FIFO_RETRY_MS, undefined, { signal: o.signal });
  }
}

/** A writable stream on a FIFO: non-blocking, through the event loop (as a pipe on stdout is). */
export async function openFifoStream(path: string, o: OpenOutputOptions = {}): Promise<NodeJS.WritableStream> {
  const { Socket } = process.getBuiltinModule('node:net');
  return new Socket({ fd: await openFifo(path, o), readable: false, writable: true });
}

/** Open a character device in place (no O_CREAT, no O_TRUNC: the node stays what it is). */
function openDevice(path: string): NodeJS.WritableStream {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY);
  } catch (e) {
    throw new OutputError(path, 'cannot open', e);
  }
  return createWriteStream('', { fd });
}

/**
 * Open an output ('-' = stdout, left open). Regular files and new paths are written atomically
 * (stale temporaries of dead capflow processes removed first); see classifyOutput for the rest.
 */
export async function openFileOutput(path: string, gzip: boolean, o: OpenOutputOptions = {}): Promise<ByteOutput> {
  const target = classifyOutput(path);
  const name = path === '-' ? '<stdout>' : path;
  switch (target.kind) {
    case 'fd':
      if (target.fd === 1) {
        if (stdoutClosed()) throw closedStdoutError();
        return new StreamOutput(name, process.stdout, gzip, false);
      }
      return new StreamOutput(name, createWriteStream('', { fd: target.fd, autoClose: false }), gzip, true);
    case 'fifo':
      return new StreamOutput(name, await openFifoStream(target.path, o), gzip, true);
    case 'device':
      return new StreamOutput(name, openDevice(target.path), gzip, true);
    case 'file':
      break;
  }
  removeStaleTemporaries(target.path);
  const tmp = tempPathFor(target.path);
  if (!gzip) {
    let fh: FileHandle;
    try {
      fh = await open(tmp, 'wx');
    } catch (e) {
      throw new OutputError(name, 'cannot create its temporary file', e);
    }
    liveTemporaries.add(tmp);
    return new DirectFileOutput(name, target.path, tmp, fh, o.syncWrites === true);
  }
  const file = createWriteStream(tmp, { flags: 'wx', highWaterMark: 1 << 20 });
  try {
    await waitFor(file, 'open', () => null);
  } catch (e) {
    throw new OutputError(name, 'cannot create its temporary file', e);
  }
  liveTemporaries.add(tmp);
  return new FileOutput(name, target.path, tmp, file, gzip);
}

/** Write into a caller's stream; end() ends it unless it is process.stdout / process.stderr. */
export function streamOutput(stream: NodeJS.WritableStream, gzip: boolean, name = '<stream>'): ByteOutput {
  const endStream = stream !== process.stdout && stream !== process.stderr;
  return new StreamOutput(name, stream, gzip, endStream);
}
