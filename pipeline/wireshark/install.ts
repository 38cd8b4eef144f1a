/**
 * `capflow wireshark install|uninstall`: the extcap wrapper and the capflow dissector in the
 * personal folders the installed Wireshark reads (see folders.ts). Idempotent: a file that is
 * already what would be written is left alone; uninstall removes only files capflow wrote.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WiresharkFolders } from './folders.js';

export const EXTCAP_FILE = 'capflow';
export const DISSECTOR_FILE = 'capflow.lua';
/** Both files carry this, so uninstall never removes a file it did not write. */
const EXTCAP_MARK = 'Wireshark extcap wrapper for capflow';
const DISSECTOR_MARK = 'capflow.lua: Wireshark post-dissector';

export type Action = 'install' | 'update' | 'unchanged' | 'remove' | 'absent' | 'foreign';

export interface Step {
  what: 'extcap' | 'dissector';
  path: string;
  action: Action;
}

/** The capflow package folder (holds package.json), from this module's place in src or dist. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'capflow') return dir;
    } catch {
      // not here: go up
    }
    dir = dirname(dir);
  }
  throw new Error('capflow: cannot find the capflow package folder (package.json)');
}

/** The dissector shipped with capflow. */
export function dissectorSource(): string {
  return readFileSync(join(packageRoot(), 'pipeline', 'wireshark', DISSECTOR_FILE), 'utf8');
}

interface Wanted {
  what: Step['what'];
  path: string;
  content: string;
  mode: number;
}

function wanted(folders: WiresharkFolders, wrapper: string): Wanted[] {
  const out: Wanted[] = folders.extcapDirs.map((d) => ({ what: 'extcap' as const, path: join(d, EXTCAP_FILE), content: wrapper, mode: 0o755 }));
  out.push({ what: 'dissector', path: join(folders.luaDir, DISSECTOR_FILE), content: dissectorSource(), mode: 0o644 });
  return out;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function planInstall(folders: WiresharkFolders, wrapper: string): Array<Step & { content: string; mode: number }> {
  return wanted(folders, wrapper).map((w) => {
    const now = readOrNull(w.path);
    let action: Action = 'install';
    if (now !== null) {
      const modeOk = (statSync(w.path).mode & 0o777) === w.mode;
      action = now === w.content && modeOk ? 'unchanged' : 'update';
    }
    return { ...w, action };
  });
}

export function planUninstall(folders: WiresharkFolders): Step[] {
  const steps: Step[] = [];
  for (const d of folders.extcapDirs) steps.push(removal('extcap', join(d, EXTCAP_FILE), EXTCAP_MARK));
  steps.push(removal('dissector', join(folders.luaDir, DISSECTOR_FILE), DISSECTOR_MARK));
  return steps;
}

function removal(what: Step['what'], path: string, mark: string): Step {
  if (!existsSync(path)) return { what, path, action: 'absent' };
  const text = readOrNull(path);
  return { what, path, action: text !== null && text.includes(mark) ? 'remove' : 'foreign' };
}

/** Carry out a plan (atomically per file: written beside the target, then renamed). */
export function applyInstall(steps: ReturnType<typeof planInstall>): void {
  for (const s of steps) {
    if (s.action === 'unchanged') continue;
    mkdirSync(dirname(s.path), { recursive: true });
    const tmp = `${s.path}.capflow-${process.pid}.tmp`;
    try {
      writeFileSync(tmp, s.content, { mode: s.mode });
      chmodSync(tmp, s.mode); // the umask may have narrowed it
      renameSync(tmp, s.path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }
}

export function applyUninstall(steps: Step[]): void {
  for (const s of steps) if (s.action === 'remove') rmSync(s.path, { force: true });
}
