/**
 * Command-line options of the bench scripts: strict, as capflow's own (a typo such as `--onyl`
 * stops the script before it generates gigabytes of input, instead of running every case).
 */
import { parseArgs } from 'node:util';

/** "1G", "200M", "500k", "1e9": decimal units. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmg]?)b?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size "${s}" (examples: 1G, 200M)`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

export type OptionValues = Record<string, string | boolean | undefined>;

/**
 * Parse `argv` against `options` (name: 'string' or 'boolean'). `--help` prints `usage` and
 * exits 0; an unknown option, a missing value or a stray argument prints the problem and
 * `usage` on stderr and exits 2.
 */
export function benchOptions(argv: string[], options: Record<string, 'string' | 'boolean'>, usage: string): OptionValues {
  const config = Object.fromEntries(Object.entries({ ...options, help: 'boolean' as const }).map(([k, type]) => [k, { type }]));
  let values: OptionValues;
  try {
    values = parseArgs({ args: argv, options: config, strict: true, allowPositionals: false }).values as OptionValues;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return values;
}

/** Exit 2 with `message` and `usage` (a value the options parser accepted but the script cannot use). */
export function usageError(message: string, usage: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}
