/**
 * Command modules return an exit status instead of calling process.exit, so they can run
 * in-process (tests, the library); only cli/main.ts sets process.exitCode.
 */
import type { Argv } from 'yargs';
import { writeSync } from 'node:fs';
import { writeStdout, writeStdoutPaced } from './stdout.js';

export interface CapflowCommand {
  command: string | string[];
  describe: string;
  builder: (y: Argv) => Argv<any>;
  run: (argv: Record<string, any>) => Promise<number>;
  /** Exit status when the command's report cannot be written to stdout (default EXIT.FAILED). */
  outputFailureStatus?: number;
}

/** Exit statuses of the contract. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

const toStdout = (s: string): void => writeStdout(s);

/** Set once a message went through process.stderr: later ones follow it there, in order. */
let stderrStream = false;

/**
 * A message to stderr, written to fd 2 directly: creating process.stderr loads Node's stream
 * modules (and net, for a pipe), a good share of a short run's start-up, for a line or two. What
 * fd 2 does not take at once (a non-blocking pipe that is full, a closed descriptor) goes through
 * the stream, which queues it or reports the error as before.
 */
function toStderr(s: string): void {
  if (!stderrStream) {
    const bytes = Buffer.from(s);
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(2, bytes, done);
      return;
    } catch {
      stderrStream = true;
      process.stderr.write(bytes.subarray(done));
      return;
    }
  }
  process.stderr.write(s);
}

/** Streams the CLI writes to; tests swap them. */
export const io = {
  out: toStdout,
  err: toStderr,
};

/**
 * Write a piece of a long report to stdout (diff streams its report through this), waiting on a
 * full pipe so that a slow reader never lets the report queue in memory. Resolves on 'drain', or
 * when stdout fails or closes (the error is reported where the stream's errors are).
 */
export async function writeOut(s: string): Promise<void> {
  if (io.out !== toStdout) return io.out(s);
  return writeStdoutPaced(s);
}

/**
 * The "Examples:" block of a command's --help, one command line per example with its
 * explanation indented below (yargs' .example() squeezes both into two narrow columns).
 */
export function examples(list: [command: string, what: string][]): string {
  return `Examples:\n${list.map(([c, w]) => `  ${c}\n      ${w}`).join('\n')}`;
}
