/** Helpers for the Wireshark tests: the built CLI, the shipped dissector, tshark in a clean HOME. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILT = join(REPO, 'dist', 'cli', 'main.js');
export const LUA = join(REPO, 'pipeline', 'wireshark', 'capflow.lua');

/**
 * Tests that start tshark: a generous per-test timeout, only a guard against a hang (tshark
 * alone takes seconds to start on a busy machine; nothing here asserts on time).
 */
export const SLOW = { timeout: 240_000 } as const;

/** The built CLI is required under CI (npm install builds it); elsewhere its absence skips. */
export function buildGate(): { skip: boolean; label: string } {
  const ok = existsSync(BUILT);
  if (!ok && process.env.CI === 'true') throw new Error('dist/ is missing: npm install builds it (prepare)');
  if (!ok) console.warn('[wireshark CLI tests skipped] dist/ is not built (npm run build)');
  return { skip: !ok, label: ok ? '' : ' (skipped: dist/ not built)' };
}

/** An empty HOME, so no personal Wireshark configuration or plugin of the machine interferes. */
export function cleanHome(prefix = 'capflow-ws-home-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Environment for Wireshark tools and capflow with `home` as HOME (XDG folders derived from it). */
export function envWithHome(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  for (const k of ['XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_STATE_HOME', 'WIRESHARK_CONFIG_DIR']) delete env[k];
  return env;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** tshark with the capflow dissector loaded by -X lua_script (not installed). */
export function tsharkLua(home: string, args: string[]): Run {
  // -G (a report) must come first.
  const argv = args[0] === '-G' ? [...args.slice(0, 2), '-X', `lua_script:${LUA}`, ...args.slice(2)] : ['-X', `lua_script:${LUA}`, ...args];
  const r = spawnSync('tshark', argv, { env: envWithHome(home), encoding: 'utf8', timeout: 60_000, maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: withoutRootNotice(r.stderr) };
}

/** Per frame: the values of `fields` (tab-separated by tshark, several values joined by ","). */
export function tsharkFields(home: string, file: string, fields: string[], filter?: string): string[][] {
  const args = ['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of fields) args.push('-e', f);
  if (filter) args.push('-Y', filter);
  const r = tsharkLua(home, args);
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

/** tshark prints a notice when run as root; it is no error. */
export function withoutRootNotice(s: string): string {
  return s
    .split('\n')
    .filter((l) => !/^Running as user "root"/.test(l))
    .join('\n');
}

/** Run the built capflow CLI. */
export function capflow(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): Run {
  const r = spawnSync(process.execPath, [BUILT, ...args], { env: opts.env ?? process.env, input: opts.input, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
