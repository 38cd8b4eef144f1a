/** Bad pipeline configuration: the CLI maps it to exit status 2. */
import type { z } from 'zod';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'ERR_CAPFLOW_CONFIG';
  constructor(message: string) {
    super(message);
  }
}

/** "stages[1].ports[0]" from a zod issue path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s ? `.${String(p)}` : String(p);
  }
  return s || '(top level)';
}

/** Turn zod issues into one ConfigError naming the source, the key path and what was expected. */
export function configErrorFromZod(source: string, prefix: ReadonlyArray<PropertyKey>, error: z.ZodError): ConfigError {
  const lines = error.issues.map((i) => `${source}: ${formatPath([...prefix, ...i.path])}: ${i.message}`);
  return new ConfigError(lines.join('\n'));
}
