/**
 * The extcap's own log. Wireshark shows any line an extcap writes on stderr as an error dialog
 * ("Error by extcap pipe"), so warnings go here instead; only with --debug also to stderr.
 * Logging never fails a capture: a log that cannot be written is given up silently.
 */
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Start a new log when the old one has grown past this (the old one is kept as `.old`). */
const MAX_LOG_BYTES = 1 << 20;

/** $XDG_STATE_HOME/capflow/extcap.log, else ~/.local/state/capflow/extcap.log. */
export function defaultExtcapLogPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'capflow', 'extcap.log');
}

export class ExtcapLog {
  private ok = true;
  private prepared = false;

  constructor(
    readonly path: string,
    /** Also write each line to stderr (--debug). */
    private readonly toStderr: ((line: string) => void) | null = null,
  ) {}

  /** Append one line (time-stamped) to the log. */
  write(message: string): void {
    const line = message.replace(/\s*\n\s*/g, ' ');
    this.toStderr?.(`capflow: ${line}\n`);
    if (!this.ok) return;
    try {
      if (!this.prepared) this.prepare();
      appendFileSync(this.path, `${new Date().toISOString()} [${process.pid}] ${line}\n`);
    } catch {
      this.ok = false;
    }
  }

  private prepare(): void {
    this.prepared = true;
    mkdirSync(dirname(this.path), { recursive: true });
    try {
      if (statSync(this.path).size > MAX_LOG_BYTES) renameSync(this.path, `${this.path}.old`);
    } catch {
      // no log yet
    }
  }
}
