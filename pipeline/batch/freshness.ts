/**
 * The make rule behind --skip-existing: an output is up to date when it exists and is newer than
 * its input and every file the pipeline was built from (pipeline file, NIC profile file).
 */
import { statSync } from 'node:fs';

function mtimeMs(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

export function isUpToDate(output: string, input: string, dependencies: readonly string[]): boolean {
  if (input === '-' || output === '-') return false;
  const out = mtimeMs(output);
  if (out === null) return false;
  for (const dep of [input, ...dependencies]) {
    const t = mtimeMs(dep);
    // A missing input is not skipped: running it reports the error.
    if (t === null || t >= out) return false;
  }
  return true;
}
