/**
 * npm run bench: throughput and memory of capflow on synthetic captures generated here (nothing
 * large is kept in git). Every measured run is a separate `node dist/cli/main.js` process, so the
 * numbers include start-up and file I/O exactly as a user sees them; peak RSS comes from the
 * child's own resource usage. editcap runs on the same file when installed, side by side.
 *
 *   npm run bench                  # 256 MiB inputs
 *   npm run bench -- --mib 1024    # 1 GiB inputs (the constant-memory check)
 *   npm run bench -- --only passthrough,gso
 *   npm run bench -- --reps 5          # passthrough and editcap alternated 5 times, best of each
 *   npm run bench -- --only batch      # a batch of 20 files of 50 MB: --jobs 2 against --jobs 1
 *   npm run bench -- --only batch --batch-files 40 --batch-mib 25
 *
 * Inputs are fsync'ed after generation so their writeback does not land in the first measured
 * run; every output is a new file (both tools pay the same page-cache costs).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, openSync, writeSync, closeSync, existsSync, fsyncSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { craftFrame, craftVxlan } from '../../pipeline/craft.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const rssHook = join(root, 'test', 'bench', 'rss-hook.mjs');

const args = process.argv.slice(2);
const mib = Number(argValue('--mib') ?? 256);
const only = argValue('--only')?.split(',');
const keep = args.includes('--keep');
const reps = Math.max(1, Number(argValue('--reps') ?? 3));
const batchFiles = Number(argValue('--batch-files') ?? 20);
const batchMib = Number(argValue('--batch-mib') ?? 50);

function argValue(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

interface Result {
  name: string;
  seconds: number;
  mbPerSec: number;
  pps: number;
  peakRssMb: number;
}

/** Write a pcap (µs, LE) of `frames` repeated until `bytes`; returns the packet count. */
function writeSynthetic(path: string, frames: Uint8Array[], bytes: number): number {
  const fd = openSync(path, 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(1, 20);
  writeSync(fd, hdr);
  const chunk = Buffer.alloc(8 << 20);
  let used = 0;
  let written = 24;
  let n = 0;
  while (written < bytes) {
    const f = frames[n % frames.length]!;
    if (used + 16 + f.length > chunk.length) {
      writeSync(fd, chunk, 0, used);
      used = 0;
    }
    chunk.writeUInt32LE(1_763_700_000 + Math.floor(n / 100_000), used);
    chunk.writeUInt32LE((n % 100_000) * 10, used + 4);
    chunk.writeUInt32LE(f.length, used + 8);
    chunk.writeUInt32LE(f.length, used + 12);
    chunk.set(f, used + 16);
    used += 16 + f.length;
    written += 16 + f.length;
    n++;
  }
  writeSync(fd, chunk, 0, used);
  fsyncSync(fd);
  closeSync(fd);
  return n;
}

/** Run a command, returning wall seconds and the child's peak RSS (MB). */
function timed(cmd: string, cmdArgs: string[], env: Record<string, string> = {}): { seconds: number; rssMb: number; cpuSeconds: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (${r.status}): ${r.stderr}`);
  const m = /capflow-peak-rss-kb=(\d+)/.exec(r.stderr ?? '');
  const cpu = /capflow-cpu-us=(\d+)/.exec(r.stderr ?? '');
  return { seconds, rssMb: m ? Number(m[1]) / 1024 : NaN, cpuSeconds: cpu ? Number(cpu[1]) / 1e6 : NaN, stdout: r.stdout };
}

/** One capflow run (a fresh output file, removed afterwards so its writeback does not pile up). */
function capflowOnce(name: string, input: string, output: string, extra: string[], packets: number, bytes: number): Result {
  rmSync(output, { force: true });
  const { seconds, rssMb } = timed(process.execPath, ['--import', rssHook, cli, 'run', input, '-o', output, ...extra]);
  rmSync(output, { force: true });
  return { name, seconds, mbPerSec: bytes / 1e6 / seconds, pps: packets / seconds, peakRssMb: rssMb };
}

/** Best of `reps` runs: every comparison in the report is best against best. */
function capflow(name: string, input: string, output: string, extra: string[], packets: number, bytes: number): Result {
  let r: Result | null = null;
  for (let i = 0; i < reps; i++) r = best(r, capflowOnce(name, input, output, extra, packets, bytes));
  return r!;
}

/** The faster of two results (peak RSS: the larger seen). */
function best(a: Result | null, b: Result): Result {
  if (a === null) return b;
  const r = a.seconds <= b.seconds ? { ...a } : { ...b };
  r.peakRssMb = Math.max(a.peakRssMb, b.peakRssMb);
  return r;
}

function fmt(r: Result): string {
  return `${r.name.padEnd(44)} ${r.seconds.toFixed(2).padStart(7)} s ${r.mbPerSec.toFixed(0).padStart(6)} MB/s ${(r.pps / 1e3).toFixed(0).padStart(6)} kpps ${Number.isNaN(r.peakRssMb) ? '   -' : r.peakRssMb.toFixed(0).padStart(4)} MB RSS`;
}

const want = (k: string) => !only || only.includes(k);

async function main(): Promise<void> {
  if (!existsSync(cli)) {
    console.error('bench: dist/ is missing: run `npm run build` first');
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'capflow-bench-'));
  const results: Result[] = [];
  const notes: string[] = [];
  console.log(`capflow bench: ${mib} MiB inputs, node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
  try {
    const bytes = mib * 2 ** 20;
    // MTU-sized TCP frames (1514 bytes).
    const mtuFrames = [0, 1, 2, 3].map((i) =>
      craftFrame({ ip: { src: '203.0.113.1', dst: '203.0.113.2', id: i }, l4: { kind: 'tcp', srcPort: 40000 + i, dstPort: 5001, seq: i * 1448, flags: 0x10 }, payload: 1460 }),
    );
    const plain = join(dir, 'mtu.pcap');
    const nPlain = writeSynthetic(plain, mtuFrames, bytes);
    const plainBytes = statSync(plain).size;

    if (want('passthrough')) {
      const info = timed(process.execPath, ['--import', rssHook, cli, 'info', plain]);
      results.push({ name: 'read only (capflow info)', seconds: info.seconds, mbPerSec: plainBytes / 1e6 / info.seconds, pps: nPlain / info.seconds, peakRssMb: info.rssMb });
      // Start-up: the same command on a one-packet capture (module loading, argument parsing).
      const tiny = join(dir, 'tiny.pcap');
      writeSynthetic(tiny, mtuFrames, 25);
      let startup = Infinity;
      for (let i = 0; i < reps; i++) startup = Math.min(startup, timed(process.execPath, [cli, 'run', tiny, '-o', join(dir, `tiny-out-${i}.pcap`)]).seconds);
      const hasEditcap = spawnSync('editcap', ['-h']).status === 0;
      // Side by side: capflow and editcap alternate, each on a new output file; best of `reps`.
      let pass: Result | null = null;
      let er: Result | null = null;
      for (let i = 0; i < reps; i++) {
        pass = best(pass, capflowOnce('passthrough pcap -> pcap', plain, join(dir, 'out.pcap'), [], nPlain, plainBytes));
        if (hasEditcap) {
          const out = join(dir, 'editcap.pcap');
          rmSync(out, { force: true });
          const e = timed('editcap', ['-F', 'pcap', plain, out]);
          er = best(er, { name: 'editcap -F pcap (same file)', seconds: e.seconds, mbPerSec: plainBytes / 1e6 / e.seconds, pps: nPlain / e.seconds, peakRssMb: NaN });
        }
      }
      results.push(pass!);
      results.push(capflow('passthrough pcap -> pcapng', plain, join(dir, 'out.pcapng'), [], nPlain, plainBytes));
      const net = pass!.seconds - startup;
      notes.push(`capflow start-up (run on a 1-packet file): ${(startup * 1000).toFixed(0)} ms; passthrough without it: ${(plainBytes / 1e6 / net).toFixed(0)} MB/s`);
      if (er) {
        results.push(er);
        notes.push(`passthrough vs editcap (best of ${reps} each, alternated): capflow ${(er.seconds / pass!.seconds).toFixed(2)}x faster (target >= 1.5x)`);
      } else notes.push('editcap not installed: no side-by-side comparison');
    }

    if (want('vxlan')) {
      // Inner frames sized so the encapsulated frame is 1514 bytes.
      const fixed = [0, 1, 2, 3].map((i) =>
        craftFrame({ ip: { src: '198.51.100.1', dst: '198.51.100.2', id: i }, l4: { kind: 'tcp', srcPort: 40000 + i, dstPort: 80, flags: 0x10 }, payload: 1464 - 54 }),
      );
      const vx = fixed.map((f, i) => craftVxlan(f, { ip: { src: '192.0.2.10', dst: '192.0.2.1', id: i }, srcPort: 49152 + i, vni: 42 }));
      const vxIn = join(dir, 'vxlan.pcap');
      const nVx = writeSynthetic(vxIn, vx, bytes);
      const vxBytes = statSync(vxIn).size;
      const base = capflow('passthrough (VXLAN input)', vxIn, join(dir, 'vx-pass.pcap'), [], nVx, vxBytes);
      results.push(base);
      const decap = capflow('vxlan-decap (collect metadata) -> pcapng', vxIn, join(dir, 'vx-decap.pcapng'), ['--stage', 'vxlan-decap'], nVx, vxBytes);
      results.push(decap);
      const decapPcapng = capflow('passthrough (VXLAN input) -> pcapng', vxIn, join(dir, 'vx-pass.pcapng'), [], nVx, vxBytes);
      results.push(decapPcapng);
      notes.push(`vxlan-decap cost: ${(decap.seconds / decapPcapng.seconds).toFixed(2)}x passthrough to pcapng (target <= 1.2x)`);
      const innerIn = join(dir, 'inner.pcap');
      const nInner = writeSynthetic(innerIn, fixed, bytes);
      const innerBytes = statSync(innerIn).size;
      const ibase = capflow('passthrough (inner frames)', innerIn, join(dir, 'in-pass.pcap'), [], nInner, innerBytes);
      results.push(ibase);
      const encap = capflow('tunnel-key + vxlan-encap', innerIn, join(dir, 'in-encap.pcap'), [
        '--stage', 'tunnel-key:rules=[{match: {ipDst: 198.51.100.0/24}, set: {vni: 42, dst: 192.0.2.2}}]',
        '--stage', 'vxlan-encap:src=192.0.2.1,outerEth.src=02:00:00:00:00:01,outerEth.dst=02:00:00:00:00:02',
        '--stage', 'gso:mtu=9000',
      ], nInner, innerBytes);
      results.push(encap);
      notes.push(`vxlan-encap cost: ${(encap.seconds / ibase.seconds).toFixed(2)}x passthrough (target <= 1.2x)`);
    }

    if (want('gso')) {
      const supers = [0, 1].map((i) =>
        craftFrame({ ip: { src: '203.0.113.1', dst: '203.0.113.2', id: i }, l4: { kind: 'tcp', srcPort: 40000 + i, dstPort: 5001, seq: i * 65000, flags: 0x18 }, payload: 62000 }),
      );
      const sIn = join(dir, 'tso.pcap');
      const nS = writeSynthetic(sIn, supers, bytes);
      const sBytes = statSync(sIn).size;
      const pass = capflow('passthrough (TSO super-packets)', sIn, join(dir, 'tso-pass.pcap'), ['--stage', 'gso:mtu=65535'], nS, sBytes);
      results.push(pass);
      const wire = capflow('gso wire view, nic none (TCP, all checksums)', sIn, join(dir, 'tso-wire.pcap'), ['--nic', 'none', '--view', 'wire', '--stage', 'gso:mss=1448'], nS, sBytes);
      results.push(wire);
      notes.push(`TCP GSO wire view: ${wire.mbPerSec.toFixed(0)} MB/s of input (target >= 500), ${(wire.seconds / pass.seconds).toFixed(2)}x passthrough (target <= 2x)`);
    }

    if (want('tunnel-key')) {
      try {
        const mod = (await import('./tunnel-key-bench.js')) as { benchTunnelKey: (rules: number, packets: number) => { nsPerPacket: number } };
        const small = mod.benchTunnelKey(10, 1_000_000);
        const large = mod.benchTunnelKey(100_000, 1_000_000);
        notes.push(`tunnel-key: ${small.nsPerPacket.toFixed(0)} ns/packet with 10 rules, ${large.nsPerPacket.toFixed(0)} ns/packet with 100000 ipDst rules (${(large.nsPerPacket / small.nsPerPacket).toFixed(2)}x, target <= 2x)`);
      } catch (e) {
        notes.push(`tunnel-key bench unavailable: ${(e as Error).message}`);
      }
    }

    if (want('batch')) {
      // A batch: `batchFiles` files of `batchMib` MiB, --jobs 1 and --jobs 2 alternated, best of each.
      const frames = [0, 1, 2, 3].map((i) =>
        craftFrame({ ip: { src: '203.0.113.1', dst: '203.0.113.2', id: i }, l4: { kind: 'tcp', srcPort: 40000 + i, dstPort: 5001, seq: i * 1448, flags: 0x10 }, payload: 1460 }),
      );
      const inputs: string[] = [];
      let packets = 0;
      let total = 0;
      for (let i = 0; i < batchFiles; i++) {
        const f = join(dir, `batch-${String(i).padStart(2, '0')}.pcap`);
        packets += writeSynthetic(f, frames, batchMib * 2 ** 20);
        total += statSync(f).size;
        inputs.push(f);
      }
      // CPU time (user + system, all threads) next to wall time: on a busy machine the wall-clock
      // ratio says little, the CPU cost of the extra worker still shows.
      const cpu = new Map<number, number>();
      const once = (jobs: number): Result => {
        const out = join(dir, `batch-out-${jobs}`);
        rmSync(out, { recursive: true, force: true });
        const t = timed(process.execPath, ['--import', rssHook, cli, 'run', ...inputs, '--out-dir', out, '--jobs', String(jobs), '--no-progress']);
        rmSync(out, { recursive: true, force: true });
        cpu.set(jobs, Math.min(cpu.get(jobs) ?? Infinity, t.cpuSeconds));
        return { name: `batch ${batchFiles} x ${batchMib} MiB, --jobs ${jobs}`, seconds: t.seconds, mbPerSec: total / 1e6 / t.seconds, pps: packets / t.seconds, peakRssMb: t.rssMb };
      };
      let one: Result | null = null;
      let two: Result | null = null;
      for (let i = 0; i < reps; i++) {
        one = best(one, once(1));
        two = best(two, once(2));
      }
      results.push(one!, two!);
      notes.push(
        `batch --jobs 2: ${(one!.seconds / two!.seconds).toFixed(2)}x the throughput of --jobs 1 (target >= 1.7x); ` +
          `CPU time ${cpu.get(1)!.toFixed(2)} s with 1 job, ${cpu.get(2)!.toFixed(2)} s with 2; ` +
          `peak RSS ${one!.peakRssMb.toFixed(0)} MB with 1 job, ${two!.peakRssMb.toFixed(0)} MB with 2 (${(two!.peakRssMb / 2).toFixed(0)} MB per job; target < 200 MB per job)`,
      );
      for (const f of inputs) rmSync(f, { force: true });
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  console.log('');
  for (const r of results) console.log(fmt(r));
  console.log('');
  for (const n of notes) console.log(`- ${n}`);
}

await main();
