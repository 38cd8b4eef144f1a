/** Map an error to the contract's exit status and print it. */
import { ConfigError } from '../pipeline/config-error.js';
import { EXIT, io } from './command.js';
import { EXIT_BROKEN_PIPE, isBrokenPipe, noteStdoutReported } from './stdout.js';

export function reportError(e: unknown): number {
  noteStdoutReported(e);
  // The reader of our output went away (`| head`): end quietly, as a filter killed by SIGPIPE.
  if (isBrokenPipe(e)) return EXIT_BROKEN_PIPE;
  if (e instanceof ConfigError) {
    io.err(`capflow: ${e.message}\n`);
    return EXIT.USAGE;
  }
  const err = e as Error;
  io.err(`capflow: ${err?.message ?? String(e)}\n`);
  if (process.env.CAPFLOW_DEBUG && err?.stack) io.err(`${err.stack}\n`);
  return EXIT.FAILED;
}
