/**
 * A run or replay stopped by SIGINT/SIGTERM removes its temporary output, prints what was done
 * and ends by that signal (status 128+signal in a shell); a FIFO without a reader never holds off a signal; a temporary left by a
 * killed capflow (its name pattern and a dead PID) is removed by the next run to that output.
 */
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPcap, frame } from '../helpers/pcap-build.js';
import { capflowAsync, capflowSync, cliPath, haveCli, repoRoot, waitUntil, type Finished } from './spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-signals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sample = readFileSync(join(repoRoot, 'samples', 'vxlan-mixed.pcapng'));
/**
 * 20,000 small frames as a pcap (2.3 MB): half of it is more than the 1 MiB a file input is read
 * in, so capflow has read packets and created its output while it waits for the rest.
 */
const one = frame(100, 1);
const stream = Buffer.from(buildPcap({ le: true, records: Array.from({ length: 20_000 }, (_, i) => ({ sec: 1_700_000_000 + i, frac: 0, data: one })) }));

/** capflow temporaries in `d`. */
const temporaries = (d: string): string[] => readdirSync(d).filter((n) => n.includes('.capflow-'));

/**
 * Start `capflow ARGS` reading a FIFO (`{in}` in ARGS) that we hold open, feed it half a capture
 * (so it has started and created its output), wait for `ready`, then send `sig`.
 */
async function stopMidRun(d: string, args: string[], sig: NodeJS.Signals, ready: () => boolean): Promise<Finished> {
  const input = join(d, 'in.fifo');
  expect(spawnSync('mkfifo', [input]).status).toBe(0);
  const child = spawn(process.execPath, [cliPath, ...args.map((a) => (a === '{in}' ? input : a))], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CAPFLOW_DEBUG: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const done = new Promise<Finished>((res) => child.on('close', (status, signal) => res({ status, signal, stdout, stderr })));
  const guard = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const feed = createWriteStream(input);
  feed.on('error', () => {});
  // The header and some packets; the FIFO stays open, so capflow waits for more.
  feed.write(stream.subarray(0, stream.length >> 1));
  await waitUntil(ready, 30_000);
  child.kill(sig);
  const r = await done;
  clearTimeout(guard);
  feed.destroy();
  rmSync(input);
  return r;
}

describe.skipIf(!haveCli)('stopped by a signal', () => {
  // The process ends by the signal itself after cleaning up: the shell shows 128+signal (130, 143).
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`run: ${sig} mid-run removes the temporary, prints what was done, ends by ${sig}`, async () => {
      const d = mkdtempSync(join(dir, 'run-'));
      const out = join(d, 'out.pcapng');
      const r = await stopMidRun(d, ['run', '{in}', '-o', out], sig, () => temporaries(d).length > 0);
      expect(r.signal).toBe(sig);
      expect(r.stderr).toMatch(new RegExp(`out\\.pcapng: stopped by ${sig} after \\d+ in, \\d+ forwarded, \\d+ dropped, \\d+ out; .*out\\.pcapng not written \\(temporary removed\\)\\n$`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(readdirSync(d)).toEqual([]);
    });
  }

  it('replay to a file: SIGTERM removes the partial capture (no rename onto the target), ends by SIGTERM', async () => {
    const d = mkdtempSync(join(dir, 'replay-'));
    const out = join(d, 'replayed.pcapng');
    const r = await stopMidRun(d, ['replay', '{in}', '--to', out, '--topspeed'], 'SIGTERM', () => temporaries(d).length > 0);
    expect(r.signal).toBe('SIGTERM');
    expect(r.stderr).toMatch(/\[stopped: signal; .*replayed\.pcapng not written\]/);
    expect(readdirSync(d)).toEqual([]);
  });

  it('replay --to FIFO with no reader ends on SIGTERM (the open never blocks a thread)', async () => {
    const d = mkdtempSync(join(dir, 'fifo-'));
    const fifo = join(d, 'live.pcap');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const input = join(d, 'in.pcapng');
    writeFileSync(input, sample);
    const { child, done } = capflowAsync(['replay', input, '--to', fifo], { timeoutMs: 30_000 });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await waitUntil(() => stderr.includes('waiting for a reader'), 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGTERM');
    const r = await done;
    expect(r.signal).toBe('SIGTERM'); // re-raised after the message below, not the guard's SIGKILL
    expect(r.stderr).toContain(`capflow: ${fifo}: waiting for a reader of the FIFO (SIGINT/SIGTERM to stop)\n`);
    expect(r.stderr).toContain('capflow: replay: stopped by SIGTERM before sending; nothing written\n');
  });

  it('run -o FIFO waits for a reader, then writes in place (the FIFO stays a FIFO)', async () => {
    const d = mkdtempSync(join(dir, 'fifo-run-'));
    const fifo = join(d, 'live.pcap');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const input = join(d, 'in.pcapng');
    writeFileSync(input, sample);
    const { child, done } = capflowAsync(['run', input, '-o', fifo, '--format', 'pcap'], { timeoutMs: 30_000 });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await waitUntil(() => stderr.includes('waiting for a reader'), 20_000);
    const got = spawnSync('cat', [fifo], { maxBuffer: 16 << 20 });
    const r = await done;
    expect(r.status, r.stderr).toBe(0);
    expect([0xa1b2c3d4, 0xa1b23c4d]).toContain(got.stdout.readUInt32LE(0));
    expect(got.stdout.length).toBeGreaterThan(24);
    expect(spawnSync('test', ['-p', fifo]).status).toBe(0);
    expect(temporaries(d)).toEqual([]);
  });
});

describe.skipIf(!haveCli)('temporaries left by a killed capflow', () => {
  it('are removed by the next run to the same output (dead PID only; live PIDs and other outputs kept)', () => {
    const d = mkdtempSync(join(dir, 'stale-'));
    // A PID that surely is dead: a process that has exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const stale = `.out.pcap.capflow-${dead}-0123abcd.tmp`;
    const live = `.out.pcap.capflow-${process.pid}-89abcdef.tmp`;
    const other = `.other.pcap.capflow-${dead}-0123abcd.tmp`;
    for (const n of [stale, live, other]) writeFileSync(join(d, n), 'partial');
    const input = join(d, 'in.pcapng');
    writeFileSync(input, sample);
    const r = capflowSync(['run', input, '-o', join(d, 'out.pcap')]);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(d).sort()).toEqual([live, other, 'in.pcapng', 'out.pcap'].sort());
  });

  it('SIGKILL leaves a temporary that the next run cleans', async () => {
    const d = mkdtempSync(join(dir, 'kill-'));
    const out = join(d, 'out.pcapng');
    const r = await stopMidRun(d, ['run', '{in}', '-o', out], 'SIGKILL', () => temporaries(d).length > 0);
    expect(r.signal).toBe('SIGKILL');
    expect(temporaries(d)).toHaveLength(1);
    const input = join(d, 'in.pcapng');
    writeFileSync(input, sample);
    const again = capflowSync(['run', input, '-o', out]);
    expect(again.status, again.stderr).toBe(0);
    expect(temporaries(d)).toEqual([]);
    expect(existsSync(out)).toBe(true);
  });
});
