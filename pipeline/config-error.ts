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
  const lines = error.issues.map((i) => `${source}: ${formatPath([...prefix, ...i.path])}: ${describeIssue(i)}`);
  return new ConfigError(lines.join('\n'));
}

type Issue = z.core.$ZodIssue;

/** What was expected, in words: zod's default for a union is a bare "Invalid input". */
function describeIssue(i: Issue): string {
  if (i.code === 'invalid_union' && i.message === 'Invalid input' && i.errors.length > 0) {
    const alternatives = i.errors.map((branch) => branch.map(expectation).find((e) => e !== null) ?? null);
    if (alternatives.every((a) => a !== null)) return `expected ${[...new Set(alternatives)].join(' or ')}`;
  }
  if (i.code === 'unrecognized_keys') {
    // `{vni:42}` in YAML flow syntax is the key "vni:42" (a colon needs a space after it).
    const glued = i.keys.find((k) => /^[\w.-]+:[^\s:]/.test(k));
    if (glued) {
      const at = glued.indexOf(':');
      return `${i.message} (YAML flow syntax needs a space after the colon: ${glued.slice(0, at)}: ${glued.slice(at + 1)})`;
    }
  }
  return i.message;
}

function expectation(i: Issue): string | null {
  if (i.code === 'invalid_value') return i.values.map((v) => JSON.stringify(v)).join(' or ');
  if (i.code === 'invalid_type') return `a${/^[aeiou]/.test(i.expected) ? 'n' : ''} ${i.expected}`;
  return null;
}
