/** Run the CLI in-process and capture what it prints. */
import { spawnSync } from 'node:child_process';
import { main } from '../../cli/main.js';
import { io } from '../../cli/command.js';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[]): Promise<CliResult> {
  const saved = { out: io.out, err: io.err };
  let stdout = '';
  let stderr = '';
  io.out = (s) => {
    stdout += s;
  };
  io.err = (s) => {
    stderr += s;
  };
  try {
    const status = await main(args);
    return { status, stdout, stderr };
  } finally {
    io.out = saved.out;
    io.err = saved.err;
  }
}

/** True when a command-line tool is on PATH. */
export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** Skip (with a printed reason) unless CI=true, where a missing tool fails the suite. */
export function toolGate(tool: string): { skip: boolean; label: string } {
  const ok = have(tool);
  const ci = process.env.CI === 'true';
  if (!ok && !ci) console.warn(`[${tool} tests skipped] ${tool} not found in PATH`);
  if (!ok && ci) throw new Error(`${tool} is required when CI=true`);
  return { skip: !ok, label: ok ? '' : ` (skipped: ${tool} not installed)` };
}
