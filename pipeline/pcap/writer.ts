/**
 * Capture writers: pcap or pcapng, optionally gzip-compressed, to a file (atomically), stdout or
 * a caller's stream.
 *
 * write() is synchronous and buffered; it returns false when the output wants the caller to
 * `await flush()` (backpressure). close() finishes the file (temp name renamed onto the target);
 * abort() discards it.
 */
import type { Packet } from '../packet.js';
import type { CaptureInterface } from './capture-interface.js';
import { type ByteOutput, formatFromPath, openFileOutput, streamOutput } from './output.js';
import { PcapWriter } from './pcap-writer.js';
import { PcapngWriter } from './pcapng-writer.js';

export type { CaptureInterface } from './capture-interface.js';
export { formatFromPath };

export interface WriteOptions {
  format: 'pcap' | 'pcapng';
  /** pcap only: nanosecond magic and timestamps (default µs). */
  nanosecond?: boolean;
  /** gzip the output. */
  gzip?: boolean;
  /** Cut packets to this many bytes (origLen kept); also the snaplen written. 0/undefined: no cut. */
  snapLen?: number;
  /** Files only: ends a wait for a FIFO's reader. */
  signal?: AbortSignal | undefined;
  /** Files only: told once when a FIFO has no reader yet. */
  onWait?: ((message: string) => void) | undefined;
  /** Files only: write an uncompressed regular file synchronously on this thread (see openFileOutput). */
  syncWrites?: boolean | undefined;
}

/**
 * A comment whose text the writer has written from its fields instead of taking a string:
 * capflow's tunnel metadata (TunnelInfo), one per packet on decapsulated output.
 */
export interface CommentSource {
  /** Most bytes writeComment writes (≤ 65535). */
  readonly maxCommentBytes: number;
  /** Write the comment's UTF-8 bytes at buf[at...]; returns the position after them. */
  writeComment(buf: Uint8Array, at: number): number;
}

/** One pcapng opt_comment: its text, or a source that writes the text's bytes itself. */
export type PacketComment = string | CommentSource;

export interface CaptureWriter {
  /**
   * Register an output interface and return its id. pcapng: writes an IDB (if_tsresol from
   * tsUnits, if_name, if_description, snaplen). pcap: the first one fixes link type and snaplen;
   * later ones must have the same link type (else ERR_PCAP_LINKTYPE_MIXED) and all return 0.
   */
  addInterface(iface: CaptureInterface): number;
  /**
   * Append one packet (sync, buffered). comments: pcapng opt_comment options, all of them, read
   * during the call only; ignored for pcap. Returns false when the caller should `await flush()`.
   *
   * Ownership: the writer may keep reading the packet's bytes after write() returns (a pcap
   * record the reader handed out zero-copy is written straight from its read chunk), until
   * close() resolves: do not modify a packet once it is written.
   */
  write(pkt: Packet, ifaceId: number, comments: readonly PacketComment[] | null): boolean;
  /** Push buffered bytes to the output and wait until it has room. */
  flush(): Promise<void>;
  /** Finish: flush, end the output; for files, rename the temp file onto the target. */
  close(): Promise<void>;
  /** Discard: stop writing; for files, remove the temp file. */
  abort(): Promise<void>;
  readonly packetsWritten: number;
  /**
   * Of those, packets written as a view of their read chunk, not copied (their bytes, record
   * header included, are referenced until written: see Ownership above). The run loop lends no
   * such record's bytes to a later packet as headroom.
   */
  readonly packetsShared: number;
  /** Capture bytes produced (before gzip). */
  readonly bytesWritten: number;
}

function makeWriter(out: ByteOutput, opts: WriteOptions): CaptureWriter {
  return opts.format === 'pcapng' ? new PcapngWriter(out, opts) : new PcapWriter(out, opts);
}

/**
 * A writer for `path` ('-' = stdout). Regular files are written to
 * `.<name>.capflow-<pid>-<rand>.tmp` in the same directory and renamed by close(); FIFOs and
 * character devices are written in place (see openFileOutput). Rejects when the output cannot
 * be opened.
 */
export async function createFileWriter(path: string, opts: WriteOptions): Promise<CaptureWriter> {
  return makeWriter(await openFileOutput(path, opts.gzip ?? false, { signal: opts.signal, onWait: opts.onWait, syncWrites: opts.syncWrites }), opts);
}

/** A writer into `stream`; close() ends the stream (except process.stdout / stderr). */
export function createStreamWriter(stream: NodeJS.WritableStream, opts: WriteOptions): CaptureWriter {
  return makeWriter(streamOutput(stream, opts.gzip ?? false), opts);
}
