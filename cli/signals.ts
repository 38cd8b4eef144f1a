/**
 * SIGINT and SIGTERM for commands that write outputs: the command is stopped through an
 * AbortSignal, removes its temporary output and prints what was done; then the process ends by
 * the same signal, so the shell sees 128+signal and a script knows it was interrupted. If the
 * command cannot unwind (a wait nothing can cancel), temporaries are removed and the process
 * ends after a grace period; a second signal does that at once.
 */
import { constants } from 'node:os';
import { removeTemporariesSync } from '../pipeline/pcap/output.js';
import { io } from './command.js';

/** How long a stopped command may take to unwind before the process exits anyway. */
const GRACE_MS = 3000;

type StopSignal = 'SIGINT' | 'SIGTERM';

let received: StopSignal | null = null;

/** The exit status for a stop by `sig`: 128 + its number (130, 143). */
export function signalStatus(sig: StopSignal): number {
  return 128 + constants.signals[sig];
}

/** The signal that stopped this process's command, if any. */
export function stopSignalReceived(): StopSignal | null {
  return received;
}

export interface StopSignals {
  /** Aborts, with the signal's name as reason, on SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal received, if any. */
  readonly received: StopSignal | null;
  /** Stop listening (the command is done). */
  dispose(): void;
}

/**
 * End the process by `sig` after cleaning up. Re-raised with the default action rather than
 * exit(128+n): the parent sees a death by that signal (bash stops a script on a child's SIGINT
 * only then), and it works while a thread-pool thread is blocked (a read from a FIFO), where
 * exit() would wait for that thread forever.
 */
export function endBySignal(sig: StopSignal): void {
  process.removeAllListeners(sig);
  process.kill(process.pid, sig);
  // Should the signal be blocked, still end with its status.
  setTimeout(() => process.exit(signalStatus(sig)), 1000).unref();
}

/** Listen for SIGINT/SIGTERM while a command runs. */
export function stopSignals(): StopSignals {
  const ac = new AbortController();
  let got: StopSignal | null = null;
  let timer: NodeJS.Timeout | null = null;
  const leave = (sig: StopSignal): void => {
    removeTemporariesSync();
    io.err(`capflow: stopped by ${sig}\n`);
    endBySignal(sig);
  };
  const onSignal = (sig: StopSignal): void => {
    if (got) leave(got);
    got = sig;
    received = sig;
    ac.abort(sig);
    timer = setTimeout(() => leave(sig), GRACE_MS);
    timer.unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    get received() {
      return got;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (timer) clearTimeout(timer);
    },
  };
}
