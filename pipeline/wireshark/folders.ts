/**
 * Where the installed Wireshark looks for a personal extcap and personal Lua plugins.
 *
 * Asked of Wireshark itself: `tshark -G folders` prints "Personal Lua Plugins:" and, from 4.1 on,
 * "Personal Extcap path:". Wireshark 4.0 and older print no personal extcap folder: they look in
 * "extcap" under the personal configuration folder (~/.config/wireshark/extcap). Without a working
 * tshark, the documented personal folders of both generations are used.
 */
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface WiresharkFolders {
  /** Where the folders come from. */
  source: 'tshark' | 'defaults';
  /** Why the defaults were used, or which Wireshark answered. */
  detail: string;
  /** Personal extcap folders (one when tshark answered; both generations' otherwise). */
  extcapDirs: string[];
  /** Personal Lua plugin folder. */
  luaDir: string;
}

/** Parse `tshark -G folders`: "Name:<tabs/spaces>value" lines. */
export function parseFolders(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const hit = /^([^:\t]+):\s+(\S.*)$/.exec(line.trimEnd());
    if (hit && !m.has(hit[1]!)) m.set(hit[1]!, hit[2]!);
  }
  return m;
}

/** The folders from `tshark -G folders` output; null when it lacks what is needed. */
export function foldersFromTshark(text: string): { extcapDir: string; luaDir: string } | null {
  const m = parseFolders(text);
  const lua = m.get('Personal Lua Plugins');
  // ≥ 4.1 (extcap.c get_extcap_pers_dir); 4.0: the personal configuration folder's "extcap".
  const extcap = m.get('Personal Extcap path') ?? (m.has('Personal configuration') ? join(m.get('Personal configuration')!, 'extcap') : undefined);
  if (!lua || !extcap) return null;
  return { extcapDir: extcap, luaDir: lua };
}

/** The documented personal folders on Linux and macOS (Wireshark's "Folders" help page). */
export function defaultFolders(env: NodeJS.ProcessEnv = process.env): { extcapDirs: string[]; luaDir: string } {
  const home = env.HOME || homedir();
  const config = env.XDG_CONFIG_HOME ? join(env.XDG_CONFIG_HOME, 'wireshark') : join(home, '.config', 'wireshark');
  return {
    extcapDirs: [join(config, 'extcap'), join(home, '.local', 'lib', 'wireshark', 'extcap')],
    luaDir: join(home, '.local', 'lib', 'wireshark', 'plugins'),
  };
}

export function findWiresharkFolders(opts: { tshark?: string; env?: NodeJS.ProcessEnv } = {}): WiresharkFolders {
  const env = opts.env ?? process.env;
  const tshark = opts.tshark ?? 'tshark';
  const r = spawnSync(tshark, ['-G', 'folders'], { env, encoding: 'utf8', timeout: 60_000 });
  const fromTshark = r.status === 0 ? foldersFromTshark(r.stdout) : null;
  if (fromTshark) {
    // The binary-plugin folder ends in the major.minor version (plugins/4.0): no second tshark run needed.
    const version = /[\\/](\d+\.\d+)$/.exec(parseFolders(r.stdout).get('Personal Plugins') ?? '')?.[1];
    return { source: 'tshark', detail: version ? `Wireshark ${version}` : tshark, extcapDirs: [fromTshark.extcapDir], luaDir: fromTshark.luaDir };
  }
  const why = r.error ? `${tshark} not found` : `\`${tshark} -G folders\` gave no personal folders`;
  const d = defaultFolders(env);
  return { source: 'defaults', detail: `${why}: using the personal folders of Wireshark 4.0 and ≥ 4.1`, ...d };
}
