/** Map an error to the contract's exit status and print it. */
import { ConfigError } from '../pipeline/config-error.js';
import { EXIT, io } from './command.js';

export function reportError(e: unknown): number {
  if (e instanceof ConfigError) {
    io.err(`capflow: ${e.message}\n`);
    return EXIT.USAGE;
  }
  const err = e as Error;
  io.err(`capflow: ${err?.message ?? String(e)}\n`);
  if (process.env.CAPFLOW_DEBUG && err?.stack) io.err(`${err.stack}\n`);
  return EXIT.FAILED;
}
