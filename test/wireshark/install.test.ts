/**
 * `capflow wireshark install|uninstall` into a temporary HOME, then Wireshark's own tools: tshark
 * lists the capflow interface, captures from it with options given as -o preferences (the live
 * view carries the dissector's fields), and ends with capflow's message when no input is given.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolGate } from '../cli/cli-helpers.js';
import { defaultFolders, foldersFromTshark } from '../../pipeline/wireshark/folders.js';
import { LUA, REPO, SLOW, buildGate, capflow, cleanHome, envWithHome, withoutRootNotice } from './wireshark-helpers.js';

const tshark = toolGate('tshark');
const build = buildGate();
const homes: string[] = [];
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

function newHome(): string {
  const h = cleanHome('capflow-ws-install-');
  homes.push(h);
  return h;
}

/** tshark as a user runs it, with `home` as HOME; a generous timeout only guards against a hang. */
function tsharkIn(home: string, args: string[]) {
  const r = spawnSync('tshark', args, { env: envWithHome(home), encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: withoutRootNotice(r.stderr) };
}

describe('the personal folders', () => {
  it('Wireshark 4.0 prints no personal extcap folder: "extcap" under the personal configuration', () => {
    const text = [
      'Temp:                \t/tmp',
      'Personal configuration:\t/home/u/.config/wireshark',
      'Global configuration:\t/usr/share/wireshark',
      'Personal Plugins:    \t/home/u/.local/lib/wireshark/plugins/4.0',
      'Personal Lua Plugins:\t/home/u/.local/lib/wireshark/plugins',
      'Global Lua Plugins:\t/usr/lib/x86_64-linux-gnu/wireshark/plugins',
      'Extcap path:         \t/usr/lib/x86_64-linux-gnu/wireshark/extcap',
    ].join('\n');
    expect(foldersFromTshark(text)).toEqual({ extcapDir: '/home/u/.config/wireshark/extcap', luaDir: '/home/u/.local/lib/wireshark/plugins' });
  });

  it('Wireshark ≥ 4.1 prints "Personal Extcap path"', () => {
    const text = [
      'Personal configuration:\t/home/u/.config/wireshark',
      'Personal Plugins:    \t/home/u/.local/lib/wireshark/plugins/4.2',
      'Personal Lua Plugins:\t/home/u/.local/lib/wireshark/plugins',
      'Personal Extcap path:\t/home/u/.local/lib/wireshark/extcap',
      'Global Extcap path:  \t/usr/lib/x86_64-linux-gnu/wireshark/extcap',
    ].join('\n');
    expect(foldersFromTshark(text)).toEqual({ extcapDir: '/home/u/.local/lib/wireshark/extcap', luaDir: '/home/u/.local/lib/wireshark/plugins' });
  });

  it('without tshark: the documented folders of both generations (XDG_CONFIG_HOME respected)', () => {
    expect(defaultFolders({ HOME: '/home/u' })).toEqual({
      extcapDirs: ['/home/u/.config/wireshark/extcap', '/home/u/.local/lib/wireshark/extcap'],
      luaDir: '/home/u/.local/lib/wireshark/plugins',
    });
    expect(defaultFolders({ HOME: '/home/u', XDG_CONFIG_HOME: '/cfg' }).extcapDirs[0]).toBe('/cfg/wireshark/extcap');
  });
});

describe.skipIf(build.skip)(`capflow wireshark install without tshark${build.label}`, SLOW, () => {
  it('falls back to the documented folders, says so, and uninstalls from the same', () => {
    const home = newHome();
    const env = envWithHome(home);
    const r = capflow(['wireshark', 'install', '--tshark', join(home, 'no-tshark')], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/defaults \(.*no-tshark not found/);
    for (const p of ['.config/wireshark/extcap/capflow', '.local/lib/wireshark/extcap/capflow', '.local/lib/wireshark/plugins/capflow.lua']) {
      expect(existsSync(join(home, p)), p).toBe(true);
      expect(r.stdout).toContain(`${join(home, p)} (installed)`);
    }
    const u = capflow(['wireshark', 'uninstall', '--tshark', join(home, 'no-tshark')], { env });
    expect(u.status, u.stderr).toBe(0);
    expect(u.stdout.match(/\(removed\)/g)).toHaveLength(3);
  });

  it('a bad action is a usage error (exit 2) and changes nothing', () => {
    const home = newHome();
    const r = capflow(['wireshark', 'instal'], { env: envWithHome(home) });
    expect(r.status).toBe(2);
    expect(existsSync(join(home, '.local'))).toBe(false);
  });
});

describe.skipIf(tshark.skip || build.skip)(`capflow wireshark install with Debian's tshark${tshark.label}${build.label}`, SLOW, () => {
  const home = newHome();
  const env = envWithHome(home);
  const extcap = join(home, '.config', 'wireshark', 'extcap', 'capflow'); // Wireshark 4.0's personal extcap folder
  const lua = join(home, '.local', 'lib', 'wireshark', 'plugins', 'capflow.lua');

  it('--dry-run prints the folders tshark gives and what it would do, and writes nothing', () => {
    const r = capflow(['wireshark', 'install', '--dry-run'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Wireshark folders from `tshark -G folders` \(Wireshark \d+\.\d+\)$/m);
    expect(r.stdout).toContain(`extcap:    ${extcap} (would install)`);
    expect(r.stdout).toContain(`dissector: ${lua} (would install)`);
    expect(existsSync(extcap) || existsSync(lua)).toBe(false);
  });

  it('install writes the wrapper (executable) and the dissector; a second install changes nothing', () => {
    const r = capflow(['wireshark', 'install'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`extcap:    ${extcap} (installed)`);
    expect(r.stdout).toContain(`dissector: ${lua} (installed)`);
    expect(statSync(extcap).mode & 0o777).toBe(0o755);
    expect(readFileSync(lua, 'utf8')).toBe(readFileSync(LUA, 'utf8'));
    const wrapper = readFileSync(extcap, 'utf8');
    expect(wrapper).toMatch(/^#!\/bin\/sh\n/);
    expect(wrapper).toContain(`'${join(REPO, 'dist', 'cli', 'main.js')}' extcap "$@"`);

    const again = capflow(['wireshark', 'install'], { env });
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(`${extcap} (unchanged)`);
    expect(again.stdout).toContain(`${lua} (unchanged)`);
    expect(readFileSync(extcap, 'utf8')).toBe(wrapper);
  });

  it('uninstall removes exactly capflow\'s files; again: not present; a file capflow did not write is left alone', () => {
    expect(capflow(['wireshark', 'install'], { env }).status).toBe(0);
    const r = capflow(['wireshark', 'uninstall'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${extcap} (removed)`);
    expect(r.stdout).toContain(`${lua} (removed)`);
    expect(existsSync(extcap) || existsSync(lua)).toBe(false);
    const again = capflow(['wireshark', 'uninstall'], { env });
    expect(again.stdout).toContain(`${extcap} (not present)`);
    expect(again.stdout).toContain(`${lua} (not present)`);

    mkdirSync(join(home, '.local', 'lib', 'wireshark', 'plugins'), { recursive: true });
    writeFileSync(lua, '-- somebody else\'s capflow.lua\n');
    const foreign = capflow(['wireshark', 'uninstall'], { env });
    expect(foreign.stdout).toContain(`${lua} (not capflow's: left alone)`);
    expect(existsSync(lua)).toBe(true);
  });
});

describe.skipIf(tshark.skip || build.skip)(`tshark with capflow installed${tshark.label}${build.label}`, SLOW, () => {
  const home = newHome();
  const decap = join(home, 'decap.yaml');
  beforeAll(() => {
    writeFileSync(decap, 'stages:\n  - stage: vxlan-decap\n');
    const r = capflow(['wireshark', 'install'], { env: envWithHome(home) });
    if (r.status !== 0) throw new Error(`install failed: ${r.stderr}`);
  });

  it('tshark -D lists the capflow interface', () => {
    const r = tsharkIn(home, ['-D']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+\. capflow \(capflow replay/m);
  });

  it('tshark -i capflow -o extcap.capflow.input:FILE -c 5 captures 5 packets, with the dissector\'s fields live', () => {
    const input = join(REPO, 'samples', 'vxlan-mixed.pcapng');
    const r = tsharkIn(home, ['-i', 'capflow', '-o', `extcap.capflow.input:${input}`, '-o', `extcap.capflow.pipeline:${decap}`, '-c', '5', '-T', 'fields', '-e', 'frame.number', '-e', 'capflow.tunnel.vni', '-e', 'capflow.tunnel.src']);
    expect(r.signal, 'tshark ended on its own').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.map((x) => x[0])).toEqual(['1', '2', '3', '4', '5']);
    // The metadata of each packet is its input frame's VXLAN header and outer source, as tshark reads them.
    const wire = tsharkIn(home, ['-r', input, '-c', '5', '-T', 'fields', '-E', 'occurrence=f', '-e', 'vxlan.vni', '-e', 'ip.src']);
    expect(rows.map((x) => x.slice(1))).toEqual(wire.stdout.trim().split('\n').map((l) => l.split('\t')));
  });

  it('without an input the same tshark command ends with capflow\'s message', () => {
    const r = tsharkIn(home, ['-i', 'capflow', '-c', '5']);
    expect(r.signal, 'tshark ended on its own').toBeNull();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/capflow: extcap --capture: no input capture given .*-o extcap\.capflow\.input:FILE/);
    expect(r.stdout).toBe('');
  });
});
