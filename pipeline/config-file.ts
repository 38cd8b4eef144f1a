/**
 * Reading configuration files (pipeline files, NIC profiles) with bounded memory: regular files
 * only (a device such as /dev/zero or a FIFO would be read forever or block), and no larger than
 * a limit checked before reading and again while reading (a file that grows meanwhile).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

/** Largest pipeline file capflow reads (a 100,000-rule tunnel-key table is about 8 MB of JSON). */
export const PIPELINE_FILE_LIMIT = 16 * 1024 * 1024;
/** Largest NIC profile file capflow reads (the built-in ones are about 1 KB). */
export const PROFILE_FILE_LIMIT = 1024 * 1024;

/** The file is not a regular file or is over the limit; the message says which, for "PATH: ...". */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/** Text of the regular file at `path` (symlinks followed), refused when over `limit` bytes. */
export function readBoundedTextFile(path: string, limit: number): string {
  const st = statSync(path);
  refuseUnlessRegular(st);
  if (st.size > limit) throw tooLarge(st.size, limit);
  // O_NONBLOCK: should the path be swapped for a FIFO after the stat, open must not wait for a writer.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const fst = fstatSync(fd);
    refuseUnlessRegular(fst);
    let buf = Buffer.allocUnsafe(Math.min(fst.size, limit) + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > limit) throw tooLarge(n, limit);
      if (n === buf.length) {
        // The file grew since fstat: keep reading, up to the limit.
        const more = Buffer.allocUnsafe(limit + 1);
        buf.copy(more, 0, 0, n);
        buf = more;
      }
    }
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}

function refuseUnlessRegular(st: Stats): void {
  if (st.isFile()) return;
  const kind = st.isDirectory()
    ? 'a directory'
    : st.isCharacterDevice()
      ? 'a character device'
      : st.isBlockDevice()
        ? 'a block device'
        : st.isFIFO()
          ? 'a FIFO'
          : st.isSocket()
            ? 'a socket'
            : 'not a regular file';
  throw new ConfigFileError(`${kind}, not a regular file`);
}

function tooLarge(size: number, limit: number): ConfigFileError {
  return new ConfigFileError(`${formatSize(size)}, over the ${formatSize(limit)} limit`);
}

function formatSize(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${+(n / (1024 * 1024 * 1024)).toFixed(1)} GiB`;
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
