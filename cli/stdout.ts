/**
 * The CLI's stdout: a report that cannot be written is a failure the user sees (one line, no
 * stack), a reader that went away (EPIPE) ends the program quietly as it ends Unix filters, and
 * a closed stdout is refused instead of writing into nothing.
 */
import { closedStdoutError, stdoutClosed } from '../pipeline/pcap/output.js';
import { systemReason } from '../pipeline/pcap/errors.js';

/** 128 + SIGPIPE: the status of a filter whose reader went away. */
export const EXIT_BROKEN_PIPE = 141;

let failure: Error | null = null;
let watching = false;
/** process.stdout was created (by anyone) since watchStdout(). */
let created = false;
let reported = false;

/** A command reported a failed write to stdout itself (a capture on stdout): main says nothing more. */
export function noteStdoutReported(e: unknown): void {
  if ((e as { output?: unknown } | null)?.output === '<stdout>') reported = true;
}

/**
 * Record stdout's write errors instead of letting them crash the process (program entry only).
 * The error handler goes on process.stdout when something first asks for it: creating the stream
 * loads Node's stream modules (and net, for a pipe), a good share of the start-up of a run whose
 * only output is a file.
 */
export function watchStdout(): void {
  if (watching) return;
  watching = true;
  const node = Object.getOwnPropertyDescriptor(process, 'stdout');
  const create = node?.get;
  if (!node || !create || !node.configurable) {
    created = true;
    process.stdout.on('error', onStdoutError);
    return;
  }
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: node.enumerable ?? true,
    get() {
      const out = create.call(process) as NodeJS.WriteStream;
      if (!created) {
        created = true;
        out.on('error', onStdoutError);
      }
      return out;
    },
  });
}

function onStdoutError(e: Error): void {
  failure ??= e;
}

/** Write a report to stdout; a closed stdout records a failure instead. */
export function writeStdout(s: string): void {
  if (stdoutClosed()) {
    failure ??= closedStdoutError();
    return;
  }
  if (failure || process.stdout.destroyed) return;
  process.stdout.write(s);
}

/**
 * Write a piece of a long report and wait while stdout's buffer is over its high-water mark
 * ('drain'), so a slow reader slows the writer instead of the report queueing in memory. Resolves
 * at once when stdout has failed or closed (the failure is reported by settleStdout).
 */
export function writeStdoutPaced(s: string): Promise<void> {
  if (stdoutClosed()) {
    failure ??= closedStdoutError();
    return Promise.resolve();
  }
  const out = process.stdout;
  if (failure || out.destroyed) return Promise.resolve();
  if (out.write(s)) return Promise.resolve();
  return new Promise<void>((res) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('error', done);
      out.off('close', done);
      res();
    };
    out.on('drain', done);
    out.on('error', done);
    out.on('close', done);
  });
}

/** Wait until what was written to stdout is out; the first failure, if any (only when watching). */
export async function settleStdout(): Promise<Error | null> {
  // Nothing asked for stdout: nothing was written there.
  if (!watching || !created || reported) return null;
  if (!failure && !process.stdout.destroyed) {
    await new Promise<void>((res) => process.stdout.write('', () => res()));
  }
  // A failed write's error is emitted on a later tick.
  await new Promise<void>((res) => setImmediate(res));
  return failure;
}

/** True for the error of a pipe whose reader went away. */
export function isBrokenPipe(e: unknown): boolean {
  const err = e as { code?: unknown; cause?: { code?: unknown } } | null;
  return err?.code === 'EPIPE' || err?.cause?.code === 'EPIPE';
}

/** One line for a failed write of a report to stdout. */
export function stdoutFailureMessage(e: Error): string {
  return e.message.startsWith('<stdout>: ') ? e.message : `<stdout>: cannot write: ${systemReason(e)}`;
}
