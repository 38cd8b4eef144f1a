#!/usr/bin/env node
/** capflow command line: parse, dispatch to a command module, set the exit status. */
import { realpathSync } from 'node:fs';
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
import { wiresharkCommand } from './commands/wireshark.js';

const commands: CapflowCommand[] = [runCommand, diffCommand, infoCommand, nicCommand, replayCommand, extcapCommand, mergeSummariesCommand, wiresharkCommand];

/** Run the CLI with `args` (without node and script); resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  let status: number = EXIT.OK;
  let ran: CapflowCommand | null = null;
  let failed = false;
  let parser = yargs(args)
    .scriptName('capflow')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, 'give a command')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      failed = true;
      if (err) throw err;
      io.err(`capflow: ${msg}\nRun "capflow --help" for usage.\n`);
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
    io.err(`capflow: ${(e as Error).message}\n`);
    return EXIT.USAGE;
  }
  // A report that did not reach stdout is trouble, not success (nor "different" for diff).
  const stdoutFailure = await settleStdout();
  if (stdoutFailure && status !== EXIT_BROKEN_PIPE) {
    if (isBrokenPipe(stdoutFailure)) return EXIT_BROKEN_PIPE;
    io.err(`capflow: ${stdoutFailureMessage(stdoutFailure)}\n`);
    return (ran as CapflowCommand | null)?.outputFailureStatus ?? EXIT.FAILED;
  }
  return failed ? EXIT.USAGE : status;
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
