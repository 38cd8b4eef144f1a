/**
 * Configuration and profile files are read with bounded memory: regular files only, at most
 * 16 MiB (pipeline files) or 1 MiB (NIC profiles), refused with exit 2 naming the file and the
 * limit before any output exists. Spawns the built CLI and measures its peak RSS.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const CLI = join(root, 'dist/cli/main.js');
const RSS_HOOK = join(root, 'test/bench/rss-hook.mjs');
const SAMPLE = join(root, 'samples/tso-host.pcap');
const dir = mkdtempSync(join(tmpdir(), 'capflow-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the built CLI (killed after 30 s: a hang is a failure, not a timeout of the suite). */
function capflow(args: string[]): { status: number | null; stderr: string; peakRssMb: number } {
  const r = spawnSync(process.execPath, ['--import', RSS_HOOK, CLI, ...args], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  const kb = Number(/capflow-peak-rss-kb=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { status: r.status, stderr: r.stderr.replace(/capflow-(peak-rss-kb|cpu-us)=\d+\n/g, ''), peakRssMb: kb / 1024 };
}

const out = join(dir, 'out.pcap');

describe('configuration files: regular files only, with a size limit', () => {
  it('--nic /dev/zero fails at once, naming the file, with small memory', () => {
    const r = capflow(['run', SAMPLE, '-o', out, '--nic', '/dev/zero']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/dev/zero');
    expect(r.stderr).toContain('a character device, not a regular file');
    expect(r.peakRssMb).toBeLessThan(200);
    expect(existsSync(out)).toBe(false);
  });

  it('nic: /dev/zero inside a pipeline file, and --pipeline /dev/zero, fail the same way', () => {
    const p = join(dir, 'zero-nic.yaml');
    writeFileSync(p, 'nic: /dev/zero\nstages: []\n');
    const a = capflow(['run', SAMPLE, '-o', out, '--pipeline', p]);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/\/dev\/zero.*a character device, not a regular file/);
    expect(a.peakRssMb).toBeLessThan(200);
    const b = capflow(['run', SAMPLE, '-o', out, '--pipeline', '/dev/zero']);
    expect(b.status).toBe(2);
    expect(b.stderr).toBe('capflow: /dev/zero: cannot read pipeline file: a character device, not a regular file\n');
    expect(b.peakRssMb).toBeLessThan(200);
    expect(existsSync(out)).toBe(false);
  });

  it('a 2 GB (sparse) profile file is refused by its size, with small memory', () => {
    const big = join(dir, 'big-profile.json');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 2 * 1024 * 1024 * 1024);
    closeSync(fd);
    const r = capflow(['run', SAMPLE, '-o', out, '--nic', big]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${big}: expected a profile JSON file: a regular file of at most 1024 KiB (2 GiB, over the 1 MiB limit)`);
    expect(r.peakRssMb).toBeLessThan(200);
    const show = capflow(['nic', 'show', big]);
    expect(show.status).toBe(2);
    expect(show.stderr).toContain('over the 1 MiB limit');
  });

  it('a FIFO as pipeline or profile file is refused instead of waiting for a writer', () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const a = capflow(['run', SAMPLE, '-o', out, '--pipeline', fifo]);
    expect(a.status).toBe(2);
    expect(a.stderr).toBe(`capflow: ${fifo}: cannot read pipeline file: a FIFO, not a regular file\n`);
    const b = capflow(['nic', 'show', fifo]);
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('a FIFO, not a regular file');
    const c = capflow(['nic', 'import', fifo]);
    expect(c.status).toBe(2);
    expect(c.stderr).toBe(`capflow: ${fifo}: cannot read ethtool -k output: a FIFO, not a regular file\n`);
  });

  it('a pipeline file over 16 MiB is refused naming the limit; a directory is refused as such', () => {
    const p = join(dir, 'huge.json');
    writeFileSync(p, `{"stages": []}${' '.repeat(17 * 1024 * 1024)}`);
    const r = capflow(['run', SAMPLE, '-o', out, '--pipeline', p]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`capflow: ${p}: cannot read pipeline file: 17 MiB, over the 16 MiB limit\n`);
    const d = capflow(['run', SAMPLE, '-o', out, '--pipeline', dir]);
    expect(d.status).toBe(2);
    expect(d.stderr).toBe(`capflow: ${dir}: cannot read pipeline file: a directory, not a regular file\n`);
  });
});

describe('tunnel-key rule tables', () => {
  it('more than 100,000 rules in one stage are refused before any rule is validated (exit 2)', async () => {
    const { runCli } = await import('./cli-helpers.js');
    const rules = Array.from({ length: 100_001 }, (_, i) => ({ match: { ipDst: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32` }, drop: true }));
    const p = join(dir, 'rules.json');
    writeFileSync(p, JSON.stringify({ stages: [{ stage: 'tunnel-key', rules }] }));
    const r = await runCli(['run', SAMPLE, '-o', out, '--pipeline', p]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`capflow: ${p}: stages[0].rules: at most 100000 rules per tunnel-key stage (split the table over several stages)\n`);
    expect(existsSync(out)).toBe(false);
  });
});
