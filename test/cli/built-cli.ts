/**
 * Spawn the BUILT capflow (dist/cli/main.js) the way a user runs it: real argv, real stdin pipe,
 * real exit status. Tests of CLI behaviour use this rather than calling main() in-process.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const builtCli = resolve(repoRoot, 'dist', 'cli', 'main.js');
export const samplesDir = resolve(repoRoot, 'samples');
export const haveBuild = existsSync(builtCli);
if (!haveBuild && process.env.CI === 'true') throw new Error('dist/ is missing: npm install builds it (prepare)');
if (!haveBuild) console.warn('[built CLI tests skipped] dist/ is not built (npm run build)');

export interface SpawnOptions {
  cwd?: string;
  /** Bytes written to the child's stdin through a pipe (then closed). */
  input?: Uint8Array | string;
  env?: Record<string, string>;
}

export interface Spawned {
  status: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** Run `capflow ARGS...` and wait for it. */
export function capflow(args: string[], o: SpawnOptions = {}): Spawned {
  const r: SpawnSyncReturns<Buffer> = spawnSync(process.execPath, [builtCli, ...args], {
    cwd: o.cwd,
    input: o.input ?? '',
    env: { ...process.env, CAPFLOW_DEBUG: '', ...o.env },
    maxBuffer: 256 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBytes: r.stdout };
}

/** Run a shell pipeline in which `capflow` is the built CLI (e.g. `cat f | capflow run - -o x`). */
export function shell(script: string, o: SpawnOptions = {}): Spawned {
  const r = spawnSync('sh', ['-c', `capflow() { "${process.execPath}" "${builtCli}" "$@"; }\n${script}`], {
    cwd: o.cwd,
    input: o.input ?? '',
    env: { ...process.env, CAPFLOW_DEBUG: '', ...o.env },
    maxBuffer: 256 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBytes: r.stdout };
}

const PTY_RUNNER = `
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, int(sys.argv[1]), 0, 0))
    os.execvp(sys.argv[2], sys.argv[2:])
out = b''
while True:
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(st))
`;

/** Run capflow on a pseudo-terminal (stdin, stdout and stderr) of `columns` columns; what it printed. */
export function capflowOnTerminal(args: string[], o: { cwd?: string; columns?: number } = {}): Spawned {
  const r = spawnSync('python3', ['-c', PTY_RUNNER, String(o.columns ?? 100), process.execPath, builtCli, ...args], {
    cwd: o.cwd,
    env: { ...process.env, CAPFLOW_DEBUG: '', TERM: 'xterm' },
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBytes: r.stdout };
}

const RSS_RUNNER = `
import resource, subprocess, sys
with open(sys.argv[1], 'wb') as out:
    r = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.PIPE)
sys.stderr.buffer.write(r.stderr)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
`;

/** Run capflow with stdout into `outFile`; its exit status and peak RSS in kB (getrusage of the child). */
export function capflowPeakRss(args: string[], outFile: string): { status: number; maxRssKb: number; stderr: string } {
  const r = spawnSync('python3', ['-c', RSS_RUNNER, outFile, process.execPath, builtCli, ...args], { encoding: 'utf8', env: { ...process.env, CAPFLOW_DEBUG: '' } });
  if (r.error) throw r.error;
  const [status, rss] = r.stdout.trim().split(/\s+/).map(Number);
  return { status: status!, maxRssKb: rss!, stderr: r.stderr };
}
