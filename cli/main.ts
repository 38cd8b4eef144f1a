#!/usr/bin/env node
/** capflow command line: parse, dispatch to a command module, set the exit status. */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CapflowCommand } from './command.js';
import { EXIT, io } from './command.js';
import { EXIT_BROKEN_PIPE, isBrokenPipe, settleStdout, stdoutFailureMessage, watchStdout } from './stdout.js';
import { endBySignal, stopSignalReceived } from './signals.js';
import { useCodeCaches } from './code-cache.js';

/**
 * Command modules by name, in the order help lists them. Start-up: only the command being run is
 * loaded (with what it imports: zod, the stages, the pcap engine...); all of them only when the
 * first argument names none (help, a typo to suggest a command for).
 */
const commandModules: Record<string, () => Promise<CapflowCommand>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  diff: async () => (await import('./commands/diff.js')).diffCommand,
  info: async () => (await import('./commands/info.js')).infoCommand,
  nic: async () => (await import('./commands/nic.js')).nicCommand,
  replay: async () => (await import('./commands/replay.js')).replayCommand,
  extcap: async () => (await import('./commands/extcap.js')).extcapCommand,
  drops: async () => (await import('./commands/drops.js')).dropsCommand,
  'merge-summaries': async () => (await import('./commands/merge-summaries.js')).mergeSummariesCommand,
  wireshark: async () => (await import('./commands/wireshark.js')).wiresharkCommand,
};

/** The package version, as `--version` prints it (from dist/cli/ or, in tests, from cli/). */
function packageVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'capflow' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

/**
 * `capflow run IN... (-o OUT | --out-dir DIR)` with at most --jobs N, --format, --json, --strict,
 * --[no-]progress, --skip-existing, --fail-fast, --async-io, and the pipeline options --pipeline FILE,
 * --stage SPEC (any number), --nic NAME, --view driver|wire: the arguments as yargs would hand
 * them to the run command, without loading yargs (which takes longer to load than a small run
 * takes). Anything else (another option, one given twice, `--`, a flag followed by true/false, a
 * value yargs would read differently, a word right after a --stage value, which yargs would take
 * as one more stage, no input or no output) returns null and goes through yargs, with its errors.
 */
export function plainRunArgs(args: readonly string[]): Record<string, unknown> | null {
  if (args[0] !== 'run') return null;
  const inputs: string[] = [];
  const stages: string[] = [];
  const values: Record<string, string> = {};
  const flags: Record<string, boolean> = {};
  const VALUES: Record<string, [key: string, accept: (v: string) => boolean]> = {
    '-o': ['output', (v) => v === '-' || !v.startsWith('-')],
    '--output': ['output', (v) => v === '-' || !v.startsWith('-')],
    '--out-dir': ['outDir', (v) => !v.startsWith('-')],
    '-j': ['jobs', (v) => /^[1-9][0-9]{0,5}$/.test(v)],
    '--jobs': ['jobs', (v) => /^[1-9][0-9]{0,5}$/.test(v)],
    '--format': ['format', (v) => v === 'pcap' || v === 'pcapng'],
    '-p': ['pipeline', (v) => !v.startsWith('-')],
    '--pipeline': ['pipeline', (v) => !v.startsWith('-')],
    '--nic': ['nic', (v) => !v.startsWith('-')],
    '--view': ['view', (v) => v === 'driver' || v === 'wire'],
  };
  const FLAGS: Record<string, [key: string, value: boolean]> = {
    '--json': ['json', true],
    '--strict': ['strict', true],
    '--progress': ['progress', true],
    '--no-progress': ['progress', false],
    '--skip-existing': ['skipExisting', true],
    '--fail-fast': ['failFast', true],
    '--async-io': ['asyncIo', true],
  };
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--stage' || a === '-s') {
      // An array option: yargs takes every word after it up to the next option as a stage.
      const v = args[++i];
      const next = args[i + 1];
      if (v === undefined || v === '' || v.startsWith('-') || (next !== undefined && (next === '-' || !next.startsWith('-')))) return null;
      stages.push(v);
    } else if (Object.hasOwn(VALUES, a)) {
      const [key, accept] = VALUES[a]!;
      const v = args[++i];
      if (key in values || v === undefined || v === '' || !accept(v)) return null;
      values[key] = v;
    } else if (Object.hasOwn(FLAGS, a)) {
      const [key, v] = FLAGS[a]!;
      // yargs reads `--json false` as the flag's value.
      if (key in flags || args[i + 1] === 'true' || args[i + 1] === 'false') return null;
      flags[key] = v;
    } else if (a === '-' || (a !== '' && !a.startsWith('-'))) {
      inputs.push(a);
    } else {
      return null;
    }
  }
  if (inputs.length === 0 || (values.output === undefined) === (values.outDir === undefined)) return null;
  const argv: Record<string, unknown> = { _: ['run'], inputs, json: flags.json ?? false, strict: flags.strict ?? false, progress: flags.progress };
  if (values.output !== undefined) argv.output = argv.o = values.output;
  if (values.outDir !== undefined) argv.outDir = argv['out-dir'] = values.outDir;
  if (values.jobs !== undefined) argv.jobs = argv.j = Number(values.jobs);
  if (values.format !== undefined) argv.format = values.format;
  if (flags.skipExisting) argv.skipExisting = argv['skip-existing'] = true;
  if (flags.failFast) argv.failFast = argv['fail-fast'] = true;
  if (flags.asyncIo) argv.asyncIo = argv['async-io'] = true;
  if (stages.length > 0) argv.stage = argv.s = stages;
  if (values.pipeline !== undefined) argv.pipeline = argv.p = values.pipeline;
  if (values.nic !== undefined) argv.nic = values.nic;
  if (values.view !== undefined) argv.view = values.view;
  return argv;
}

/** A rejected command line: thrown from yargs' fail hook so that no command handler runs. */
class UsageError extends Error {}

/**
 * yargs-parser reads a lone `-` as an empty short-option group and drops it (a positional `-`
 * becomes '' or vanishes from an array). It is swapped for this token before parsing and back
 * to '-' before validation, so `-` means stdin/stdout in every command and option.
 */
const STDIO_TOKEN = '\u0000capflow-stdio\u0000';

function restoreStdio(v: unknown): unknown {
  if (v === STDIO_TOKEN) return '-';
  if (Array.isArray(v)) return v.map(restoreStdio);
  return v;
}

/** Run the CLI with `args` (without node and script); resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  // `capflow --version` needs nothing else (yargs alone takes longer to load than the answer).
  if (args.length === 1 && args[0] === '--version') {
    io.out(`${packageVersion()}\n`);
    return settled(EXIT.OK, null);
  }
  const plainRun = plainRunArgs(args);
  if (plainRun) {
    const { runAction } = await import('./run-action.js');
    return settled(await runAction(plainRun), null);
  }
  const named = Object.hasOwn(commandModules, args[0] ?? '') ? commandModules[args[0]!]! : null;
  const commands = await Promise.all(named ? [named()] : Object.values(commandModules).map((load) => load()));
  const { default: yargs } = await import('yargs');
  let status: number = EXIT.OK;
  let ran: CapflowCommand | null = null;
  let parser = yargs(args.map((a) => (a === '-' ? STDIO_TOKEN : a)))
    .scriptName('capflow')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, 'give a command')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .middleware((argv) => {
      for (const k of Object.keys(argv)) (argv as Record<string, unknown>)[k] = restoreStdio(argv[k]);
    }, true)
    .fail((msg, err) => {
      // Throwing (instead of printing and returning) is what stops yargs before the handler:
      // a usage error must not open an input, create an output or send a packet.
      throw err ?? new UsageError(msg);
    });
  // yargs renders the whole help text (word-wrapping every description) each time a command runs,
  // only to cache it for a later showHelp() that capflow never calls: on a short run that was a
  // large share of the start-up. Help asked for with --help is rendered as before.
  (parser as unknown as { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } })
    .getInternalMethods()
    .getUsageInstance().cacheHelpMessage = () => {};
  for (const c of commands) {
    parser = parser.command(c.command, c.describe, c.builder, async (argv) => {
      ran = c;
      status = await c.run(argv as Record<string, any>);
    });
  }
  try {
    await parser.parseAsync();
  } catch (e) {
    if (e instanceof UsageError) io.err(`capflow: ${e.message}\nRun "capflow --help" for usage.\n`);
    else io.err(`capflow: ${(e as Error).message}\n`);
    return EXIT.USAGE;
  }
  return settled(status, ran);
}

/** The exit status once stdout has settled: a report that did not reach stdout is trouble, not success (nor "different" for diff). */
async function settled(status: number, ran: CapflowCommand | null): Promise<number> {
  const stdoutFailure = await settleStdout();
  if (stdoutFailure && status !== EXIT_BROKEN_PIPE) {
    if (isBrokenPipe(stdoutFailure)) return EXIT_BROKEN_PIPE;
    io.err(`capflow: ${stdoutFailureMessage(stdoutFailure)}\n`);
    return ran?.outputFailureStatus ?? EXIT.FAILED;
  }
  return status;
}

/** True when this module is the program (node dist/cli/main.js, or the `capflow` bin link npm makes). */
function invokedDirectly(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  // The bundled binary (its folder is CommonJS: cli/bundle.mjs) compiles its chunks from the
  // code caches the build wrote.
  if (typeof require === 'function') useCodeCaches(dirname(fileURLToPath(import.meta.url)), process.env['CAPFLOW_BUILD_CODE_CACHE'] === '1');
  watchStdout();
  main(process.argv.slice(2)).then((code) => {
    // Stopped by a signal (cleaned up): end by it, whatever is still open (a stdin that never ended).
    const sig = stopSignalReceived();
    if (sig) endBySignal(sig);
    process.exitCode = code;
  });
}
