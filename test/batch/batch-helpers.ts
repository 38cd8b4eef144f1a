/** Spawning the built CLI for batch tests, and a directory of small, varied captures. */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { craftFrame, craftVxlan } from '../../pipeline/craft.js';
import { buildPcap } from '../helpers/pcap-build.js';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const builtCli = join(repo, 'dist', 'cli', 'main.js');
export const haveBuild = existsSync(builtCli);
if (!haveBuild && process.env.CI === 'true') throw new Error('dist/ is missing: npm install builds it (prepare)');
if (!haveBuild) console.warn('[batch CLI tests skipped] dist/ is not built (npm run build)');

export interface Spawned {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string;
}

/** `capflow ARGS` through the built binary, synchronously. */
export function capflow(args: string[], o: SpawnOptions = {}): Spawned {
  const r = spawnSync(process.execPath, [builtCli, ...args], { encoding: 'utf8', cwd: o.cwd, env: { ...process.env, ...o.env }, input: o.input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A command line in its own process, without blocking the others (shards run side by side). */
export function spawnAsync(cmd: string, args: string[], o: SpawnOptions = {}): Promise<Spawned> {
  return new Promise((done, fail) => {
    const c = spawn(cmd, args, { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    c.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    c.on('error', fail);
    c.on('close', (status) => done({ status, stdout, stderr }));
  });
}

/**
 * `count` captures under `dir` (some in a subdirectory, so paths relative to a root differ in
 * more than their names): plain TCP over IPv4 and IPv6, VXLAN that vxlan-decap accepts, and
 * VXLAN with bad flags it drops, a different mix and packet count per file.
 */
export function makeInputs(dir: string, count: number): string[] {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const records = [];
    for (let k = 0; k <= i % 4; k++) {
      const v6 = (i + k) % 3 === 0;
      const inner = craftFrame({
        ip: v6 ? { src: '2001:db8::1', dst: '2001:db8::2' } : { src: '198.51.100.1', dst: '198.51.100.2', id: i * 16 + k },
        l4: { kind: 'tcp', srcPort: 40000 + i, dstPort: 80, seq: k * 100, flags: 0x18 },
        payload: 40 + i * 7 + k,
      });
      records.push({ sec: 1_700_000_000 + i, frac: k, data: inner });
      const vx = craftVxlan(inner, { ip: { src: '192.0.2.10', dst: '192.0.2.1', id: k }, srcPort: 49152 + k, vni: 100 + i });
      if ((i + k) % 2 === 0) records.push({ sec: 1_700_000_000 + i, frac: k + 1, data: vx });
      if ((i + k) % 5 === 1) {
        const bad = Uint8Array.from(vx);
        bad[14 + 20 + 8] = 0x00; // VXLAN flags without the I bit: vxlan_rcv drops it
        records.push({ sec: 1_700_000_000 + i, frac: k + 2, data: bad });
      }
    }
    const sub = i % 3 === 2 ? join(dir, 'night-2') : dir;
    mkdirSync(sub, { recursive: true });
    const path = join(sub, `cap-${String(i).padStart(2, '0')}.pcap`);
    writeFileSync(path, buildPcap({ le: true, records }));
    files.push(path);
  }
  return files;
}

export { copyFileSync };
