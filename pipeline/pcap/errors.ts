/**
 * Boundary errors of capture I/O (aesthetics 8.11): a stable `code`, the file name as given by the
 * caller, and the byte offset (in the decompressed stream) of the record or block at fault.
 * Messages name the file, the offset and both numbers of a failed check.
 */

/** Codes of CaptureFormatError (input side). Stable: the CLI and users' scripts match on them. */
export type CaptureFormatErrorCode =
  /** 0-byte input. */
  | 'ERR_CAPTURE_EMPTY'
  /** The first bytes are neither a pcap magic nor a pcapng Section Header Block. */
  | 'ERR_PCAP_BAD_MAGIC'
  /** pcap record caplen above the 262144-byte limit or above the file's snaplen. */
  | 'ERR_PCAP_CAPLEN'
  /** The input ends inside the file header or (strict mode) inside a record. */
  | 'ERR_CAPTURE_TRUNCATED'
  /** caplen > origlen (strict mode only; otherwise a warning). */
  | 'ERR_CAPTURE_ORIGLEN'
  /** Corrupt or truncated gzip data. */
  | 'ERR_CAPTURE_GZIP'
  /** pcapng block length < 12, not a multiple of 4, above 16 MiB, too short for its type, or trailer ≠ header. */
  | 'ERR_PCAPNG_BLOCK_LEN'
  /** Section Header Block with an unknown byte-order magic or an unsupported major version. */
  | 'ERR_PCAPNG_SECTION'
  /** A packet block names an interface that the section has not defined. */
  | 'ERR_PCAPNG_NO_INTERFACE'
  /** Packet block caplen larger than its data area or above the 262144-byte limit. */
  | 'ERR_PCAPNG_CAPLEN'
  /** An option runs past the end of its block (strict mode only; otherwise a warning). */
  | 'ERR_PCAPNG_OPTION'
  /** if_tsresol that cannot be represented exactly (above 10^15 or 2^52 units per second). */
  | 'ERR_PCAPNG_TSRESOL';

export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
  readonly code: CaptureFormatErrorCode;
  /** The input's name as the caller gave it (path or '<stdin>'). */
  readonly file: string;
  /** Byte offset of the record/block at fault, in the decompressed stream. */
  readonly offset: number;

  constructor(code: CaptureFormatErrorCode, file: string, offset: number, problem: string) {
    super(`${file}: offset ${offset}: ${problem}`);
    this.code = code;
    this.file = file;
    this.offset = offset;
  }
}

/** Codes of CaptureWriteError (output side). */
export type CaptureWriteErrorCode =
  /** pcap output: an interface with a different link type than the first one. */
  | 'ERR_PCAP_LINKTYPE_MIXED'
  /** pcap output: a link type outside the LINKTYPE registry, which pcap readers refuse (pcapng keeps it). */
  | 'ERR_PCAP_LINKTYPE_UNSUPPORTED'
  /** write() with an interface id that addInterface did not return. */
  | 'ERR_CAPTURE_BAD_INTERFACE'
  /** The timestamp does not fit the output format (negative, pcap beyond 2106, pcapng beyond 64 bits). */
  | 'ERR_CAPTURE_TIMESTAMP_RANGE'
  /** write/addInterface after close() or abort(). */
  | 'ERR_CAPTURE_WRITER_CLOSED';

export class CaptureWriteError extends Error {
  override readonly name = 'CaptureWriteError';
  readonly code: CaptureWriteErrorCode;
  /** The output's name (path or '<stdout>' / '<stream>'). */
  readonly file: string;

  constructor(code: CaptureWriteErrorCode, file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.code = code;
    this.file = file;
  }
}

/** An error from the system (ENOENT, EIO, ...), not one of capflow's or a bug. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

/** "no space left on device (ENOSPC)" from a system error; else its message. */
export function systemReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException | null;
  if (isSystemError(err)) {
    // Node's message is "ENOSPC: no space left on device, write": keep the words, name the code.
    const words = /^E[A-Z0-9]+: (.*?)(?:, [a-z]+(?: .*)?)?$/.exec(err.message)?.[1];
    if (words) return `${words} (${err.code})`;
  }
  return err?.message ?? String(e);
}

/**
 * An input file that could not be opened or read: "FILE: cannot open: no such file or directory
 * (ENOENT)", as outputs say it (OutputError); `code` is the system error's (ENOENT, EACCES,
 * EISDIR, EIO, ...).
 */
export class CaptureInputError extends Error {
  override readonly name = 'CaptureInputError';
  readonly code: string;
  /** The input's name as the caller gave it. */
  readonly file: string;

  constructor(file: string, what: 'cannot open' | 'cannot read', cause: unknown) {
    super(`${file}: ${what}: ${systemReason(cause)}`, { cause });
    this.file = file;
    this.code = (cause as NodeJS.ErrnoException | null)?.code ?? 'ERR_CAPTURE_INPUT';
  }
}
