/**
 * Spawn the BUILT capflow (dist/cli/main.js) as a user runs it, for tests of process behaviour:
 * exit status, signals, stdout on a device or a closed pipe, FIFOs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = resolve(repoRoot, 'dist', 'cli', 'main.js');
export const haveCli = existsSync(cliPath);
if (!haveCli && process.env.CI === 'true') throw new Error('dist/ is missing: npm install builds it (prepare)');
if (!haveCli) console.warn('[spawned CLI tests skipped] dist/ is not built (npm run build)');

export interface Finished {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `capflow ARGS` to the end (stdin empty unless `input`). */
export function capflowSync(args: string[], o: { cwd?: string; input?: Uint8Array | string } = {}): Finished {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: o.cwd,
    input: o.input ?? '',
    env: { ...process.env, CAPFLOW_DEBUG: '' },
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/**
 * Run a shell script in which `capflow` is the built CLI, for redirections a spawn can't express
 * (`>/dev/full`, `>&-`, `| head -c 100`). `$?` of a pipeline's first command: use PIPESTATUS in bash.
 */
export function shellSync(script: string, o: { cwd?: string } = {}): Finished {
  const r = spawnSync('bash', ['-c', `capflow() { "${process.execPath}" "${cliPath}" "$@"; }\n${script}`], {
    cwd: o.cwd,
    input: '',
    env: { ...process.env, CAPFLOW_DEBUG: '' },
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/** A running capflow: its process, and a promise of how it ended (killed after `timeoutMs`). */
export function capflowAsync(args: string[], o: { cwd?: string; timeoutMs?: number } = {}): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: o.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CAPFLOW_DEBUG: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const guard = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 20_000);
  const done = new Promise<Finished>((res) => {
    child.on('close', (status, signal) => {
      clearTimeout(guard);
      res({ status, signal, stdout, stderr });
    });
  });
  return { child, done };
}

/** Resolve once `predicate` holds (polled every 20 ms), reject after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('waitUntil: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
