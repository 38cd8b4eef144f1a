/**
 * Network-namespace plumbing for the kernel reference harness.
 *
 * Everything runs inside namespaces named `cf-<tag>-<pid>-<n>`; nothing is routed outside them.
 * Every namespace created here is recorded and removed by `destroyAllNetns()` (also run on
 * process exit), so a failing test cannot leak namespaces.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the python injector shipped next to this file. */
export const INJECT_PY = join(dirname(fileURLToPath(import.meta.url)), 'inject.py');

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

let toolsCache: { ok: boolean; why?: string } | undefined;

/**
 * Can this process build namespaces and capture in them? Checks root, `ip`, `tcpdump`,
 * `python3`, `ethtool`, and actually creates + deletes a namespace with a veth pair.
 */
export function haveKernelTools(): { ok: boolean; why?: string } {
  if (toolsCache) return toolsCache;
  const r = ((): { ok: boolean; why?: string } => {
    if (process.platform !== 'linux') return { ok: false, why: `platform is ${process.platform}, not linux` };
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { ok: false, why: 'not running as root' };
    for (const t of ['ip', 'tcpdump', 'python3', 'ethtool']) {
      if (!which(t)) return { ok: false, why: `\`${t}\` not found in PATH` };
    }
    const name = `cf-probe-${process.pid}`;
    try {
      execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
    } catch (e) {
      return { ok: false, why: `cannot create a network namespace: ${errText(e)}` };
    }
    try {
      execFileSync('ip', ['-n', name, 'link', 'add', 'cfp0', 'type', 'veth', 'peer', 'name', 'cfp1'], { stdio: 'pipe' });
    } catch (e) {
      return { ok: false, why: `cannot create a veth pair: ${errText(e)}` };
    } finally {
      spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    }
    return { ok: true };
  })();
  toolsCache = r;
  return r;
}

function errText(e: unknown): string {
  const x = e as { stderr?: Buffer | string; message?: string };
  const s = x.stderr ? x.stderr.toString().trim() : '';
  return s || x.message || String(e);
}

const live = new Set<Netns>();
let seq = 0;
let exitHookInstalled = false;

/** Remove every namespace this process created and has not destroyed yet. */
export function destroyAllNetns(): void {
  for (const ns of [...live]) ns.destroy();
}

export class Netns {
  private constructor(readonly name: string) {}

  /** Create `cf-<tag>-<pid>-<n>` with loopback up. */
  static create(tag: string): Netns {
    if (!/^[a-z0-9]{1,12}$/.test(tag)) throw new Error(`netns tag must be short lowercase alnum: ${tag}`);
    const name = `cf-${tag}-${process.pid}-${seq++}`;
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
    const ns = new Netns(name);
    live.add(ns);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', destroyAllNetns);
    }
    ns.exec(['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Run a command inside the namespace; a string runs through `sh -c`. Returns stdout; throws with stderr. */
  exec(cmd: string[] | string, opts: { input?: Buffer | string; timeoutMs?: number } = {}): string {
    const argv = typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
    try {
      return execFileSync('ip', ['netns', 'exec', this.name, ...argv], {
        stdio: ['pipe', 'pipe', 'pipe'],
        input: opts.input,
        timeout: opts.timeoutMs ?? 30_000,
        maxBuffer: 64 << 20,
      }).toString();
    } catch (e) {
      throw new Error(`[${this.name}] ${argv.join(' ')}: ${errText(e)}`);
    }
  }

  /** Like exec but returns status instead of throwing. */
  tryExec(cmd: string[] | string): { ok: boolean; out: string; err: string } {
    const argv = typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
    const r = spawnSync('ip', ['netns', 'exec', this.name, ...argv], { stdio: 'pipe', timeout: 30_000 });
    return { ok: r.status === 0, out: r.stdout?.toString() ?? '', err: r.stderr?.toString() ?? '' };
  }

  /** `ip` inside the namespace: ns.ip('link', 'set', 'x', 'up'). */
  ip(...args: string[]): string {
    return this.exec(['ip', ...args]);
  }

  /** Write a sysctl (dotted or slashed key) inside the namespace. */
  sysctl(key: string, value: string | number): void {
    const path = `/proc/sys/${key.replace(/\./g, '/')}`;
    this.exec(['sh', '-c', `echo ${String(value)} > ${path}`]);
  }

  readSysctl(key: string): string {
    return this.exec(['cat', `/proc/sys/${key.replace(/\./g, '/')}`]).trim();
  }

  /** Run the python injector inside the namespace; returns its parsed JSON report. */
  inject(args: string[]): { sent: Array<Record<string, number | string>> } {
    const out = this.exec(['python3', INJECT_PY, ...args], { timeoutMs: 60_000 });
    const last = out.trim().split('\n').pop() ?? '{}';
    return JSON.parse(last) as { sent: Array<Record<string, number | string>> };
  }

  /** Device counters (`ip -s -j link show`): stats64 rx/tx objects. */
  linkStats(dev: string): { rx: Record<string, number>; tx: Record<string, number> } {
    const j = JSON.parse(this.exec(['ip', '-s', '-s', '-j', 'link', 'show', 'dev', dev])) as Array<{
      stats64: { rx: Record<string, number>; tx: Record<string, number> };
    }>;
    return j[0]!.stats64;
  }

  /** Selected protocol MIB counters from /proc/net/snmp and /proc/net/snmp6 (e.g. "Udp.InCsumErrors", "Udp6InCsumErrors"). */
  snmp(): Record<string, number> {
    const out: Record<string, number> = {};
    const s = this.exec(['cat', '/proc/net/snmp']).trim().split('\n');
    for (let i = 0; i + 1 < s.length; i += 2) {
      const h = s[i]!.split(/\s+/);
      const v = s[i + 1]!.split(/\s+/);
      const proto = h[0]!.replace(':', '');
      for (let k = 1; k < h.length; k++) out[`${proto}.${h[k]}`] = Number(v[k]);
    }
    const r6 = this.tryExec(['cat', '/proc/net/snmp6']);
    if (r6.ok) {
      for (const line of r6.out.trim().split('\n')) {
        const [k, v] = line.trim().split(/\s+/);
        if (k && v !== undefined) out[k] = Number(v);
      }
    }
    return out;
  }

  destroy(): void {
    if (!live.has(this)) return;
    live.delete(this);
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
  }
}

/**
 * Make a namespace quiet so captures hold only test traffic.
 * ipv6=false: IPv6 disabled entirely (all + default, so devices created later inherit it).
 * ipv6=true: IPv6 on, but no DAD, no router solicitations, no RA processing, no link-local
 * address generation (fewer MLD reports). Captures should still use a BPF filter.
 */
export function quietNetns(ns: Netns, opts: { ipv6: boolean }): void {
  if (!opts.ipv6) {
    ns.sysctl('net.ipv6.conf.all.disable_ipv6', 1);
    ns.sysctl('net.ipv6.conf.default.disable_ipv6', 1);
    return;
  }
  for (const scope of ['all', 'default']) {
    ns.sysctl(`net.ipv6.conf.${scope}.accept_dad`, 0);
    ns.sysctl(`net.ipv6.conf.${scope}.dad_transmits`, 0);
    ns.sysctl(`net.ipv6.conf.${scope}.router_solicitations`, 0);
    ns.sysctl(`net.ipv6.conf.${scope}.accept_ra`, 0);
    ns.sysctl(`net.ipv6.conf.${scope}.addr_gen_mode`, 1);
  }
}

export interface VethOpts {
  macA?: string;
  macB?: string;
  mtu?: number;
}

/** veth pair nameA@a <-> nameB@b (a and b may be the same namespace); both ends up. */
export function vethPair(a: Netns, nameA: string, b: Netns, nameB: string, o: VethOpts = {}): void {
  const args = ['link', 'add', nameA];
  if (o.macA) args.push('address', o.macA);
  if (o.mtu) args.push('mtu', String(o.mtu));
  args.push('type', 'veth', 'peer', 'name', nameB);
  if (o.macB) args.push('address', o.macB);
  if (o.mtu) args.push('mtu', String(o.mtu));
  if (b !== a) args.push('netns', b.name);
  a.ip(...args);
  a.ip('link', 'set', nameA, 'up');
  b.ip('link', 'set', nameB, 'up');
}

/** `ethtool -K dev feature on|off ...`. */
export function ethtoolK(ns: Netns, dev: string, features: Record<string, boolean>): void {
  const args = ['ethtool', '-K', dev];
  for (const [k, v] of Object.entries(features)) args.push(k, v ? 'on' : 'off');
  ns.exec(args);
}

/** `ethtool -k dev` as a name → on/off map. */
export function ethtoolFeatures(ns: Netns, dev: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const line of ns.exec(['ethtool', '-k', dev]).split('\n')) {
    const m = /^\s*([a-z0-9-]+):\s+(on|off)/.exec(line);
    if (m) out[m[1]!] = m[2] === 'on';
  }
  return out;
}

export interface Capture {
  file: string;
  /** Let in-flight packets land, SIGINT tcpdump, wait for it to exit. Returns tcpdump's counts. */
  stop(settleMs?: number): Promise<{ captured: number; droppedByKernel: number; stderr: string }>;
}

/**
 * Start `tcpdump -U --immediate-mode -s 0 -w file -i dev [filter]` inside the namespace and wait
 * until it reports listening. `bufferKiB` sets tcpdump's capture buffer (`-B`): a live transfer
 * of TSO super-packets overruns the default 2 MiB on a busy machine.
 */
export async function capture(ns: Netns, dev: string, file: string, filter?: string, opts: { bufferKiB?: number } = {}): Promise<Capture> {
  const args = ['netns', 'exec', ns.name, 'tcpdump', '-U', '--immediate-mode', '-Z', 'root', '-s', '0', '-i', dev, '-w', file];
  if (opts.bufferKiB) args.push('-B', String(opts.bufferKiB));
  if (filter) args.push(filter);
  const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tcpdump on ${ns.name}/${dev} did not start: ${stderr}`));
    }, 10_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/listening on/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump on ${ns.name}/${dev} exited early (${code}): ${stderr}`));
    });
  });
  return {
    file,
    async stop(settleMs = 150) {
      await new Promise((r) => setTimeout(r, settleMs));
      if (child.exitCode === null) child.kill('SIGINT');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(kill);
      if (!existsSync(file)) throw new Error(`tcpdump wrote no file ${file}: ${stderr}`);
      const captured = Number(/(\d+) packets? captured/.exec(stderr)?.[1] ?? NaN);
      const dropped = Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? 0);
      return { captured, droppedByKernel: dropped, stderr };
    },
  };
}

/** True when a required kernel facility is missing and the test should be skipped (outside CI). */
export function mustRunKernelTests(): boolean {
  return process.env.CI === 'true';
}
