#!/usr/bin/env node
/** capflow command line: parse, dispatch to a command module, set the exit status. */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { CapflowCommand } from './command.js';
import { EXIT, io } from './command.js';
import { runCommand } from './commands/run.js';
import { diffCommand } from './commands/diff.js';
import { nicCommand } from './commands/nic.js';
import { infoCommand } from './commands/info.js';
import { replayCommand } from './commands/replay.js';
import { extcapCommand } from './commands/extcap.js';
import { mergeSummariesCommand } from './commands/merge-summaries.js';
import { EXIT_BROKEN_PIPE, isBrokenPipe, settleStdout, stdoutFailureMessage, watchStdout } from './stdout.js';
import { endBySignal, stopSignalReceived } from './signals.js';

const commands: CapflowCommand[] = [runCommand, diffCommand, infoCommand, nicCommand, replayCommand, extcapCommand, mergeSummariesCommand];

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

/** capflow's own version: its package.json, not the one of a project that depends on it. */
function ownVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Run the CLI with `args` (without node and script); resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
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
    .version(ownVersion())
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .middleware((argv) => {
      for (const k of Object.keys(argv)) (argv as Record<string, unknown>)[k] = restoreStdio(argv[k]);
    }, true)
    .fail((msg, err) => {
      // Throwing (instead of printing and returning) is what stops yargs before the handler:
      // a usage error must not open an input, create an output or send a packet.
      throw err ?? new UsageError(msg);
    });
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
  // A report that did not reach stdout is trouble, not success (nor "different" for diff).
  const stdoutFailure = await settleStdout();
  if (stdoutFailure && status !== EXIT_BROKEN_PIPE) {
    if (isBrokenPipe(stdoutFailure)) return EXIT_BROKEN_PIPE;
    io.err(`capflow: ${stdoutFailureMessage(stdoutFailure)}\n`);
    return (ran as CapflowCommand | null)?.outputFailureStatus ?? EXIT.FAILED;
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
  watchStdout();
  main(hideBin(process.argv)).then((code) => {
    // Stopped by a signal (cleaned up): end by it, whatever is still open (a stdin that never ended).
    const sig = stopSignalReceived();
    if (sig) endBySignal(sig);
    process.exitCode = code;
  });
}
