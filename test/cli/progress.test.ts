/**
 * Long runs on a terminal show a progress bar (percent of input bytes, rate, ETA, file k/N);
 * warnings name the file and count its packets, once per file. Checked on a real
 * pseudo-terminal, and through a pipe (no bar there).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProgress, ProgressBar } from '../../cli/progress.js';
import { toolGate } from './cli-helpers.js';
import { capflow, capflowOnTerminal, haveBuild, samplesDir } from './built-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'a'));
mkdirSync(join(dir, 'b'));
copyFileSync(join(samplesDir, 'vxlan-mixed.pcapng'), join(dir, 'a', 'first.pcapng'));
copyFileSync(join(samplesDir, 'vxlan-mixed.pcapng'), join(dir, 'b', 'second.pcapng'));
const pipeline = join(samplesDir, 'reencap.yaml');
const WARNING = 'packet without tunnel metadata passed through unencapsulated (vxlan-encap)';
const python = toolGate('python3');

describe('the progress line', () => {
  it('percent, sizes, rate, ETA and file k/N', () => {
    const line = formatProgress({ filesDone: 1, filesTotal: 3, file: 'b.pcap', bytesDone: 50e6, bytesTotal: 200e6 }, 2000, 120);
    expect(line).toBe('[#####---------------]  25%  50.0 MB/200.0 MB  25.0 MB/s  ETA 0:06  file 2/3  b.pcap');
  });

  it('no percent or ETA without a total (stdin), and it fits the terminal', () => {
    const line = formatProgress({ filesDone: 0, filesTotal: 1, file: '<stdin>', bytesDone: 1.5e9, bytesTotal: null }, 10_000, 60);
    expect(line).toBe('1.5 GB  150.0 MB/s  <stdin>');
    const narrow = formatProgress({ filesDone: 0, filesTotal: 2, file: 'a-very-long-capture-name.pcapng', bytesDone: 1, bytesTotal: 4 }, 1000, 40);
    expect(narrow.length).toBeLessThanOrEqual(40);
  });

  it('messages are printed above the bar, which is then drawn again', () => {
    let t = 0;
    let out = '';
    const bar = new ProgressBar({ write: (s: string) => (out += s), columns: 100 }, { now: () => t, intervalMs: 100 });
    bar.update({ filesDone: 0, filesTotal: 1, bytesDone: 10, bytesTotal: 100 });
    t = 50;
    bar.update({ filesDone: 0, filesTotal: 1, bytesDone: 20, bytesTotal: 100 }); // throttled
    expect(out.match(/%/g)).toHaveLength(1);
    bar.log('capflow: something');
    expect(out).toContain('\r\x1b[Kcapflow: something\n\r');
    expect(out.endsWith('\x1b[K')).toBe(true);
    bar.done();
    expect(out.endsWith('\r\x1b[K')).toBe(true);
  });
});

describe.skipIf(!haveBuild || python.skip)(`capflow run on a terminal${python.label}`, () => {
  it('draws the bar with file k/N and prints each warning once per file, named and counted', () => {
    const out = join(dir, 'tty-out.pcapng');
    const r = capflowOnTerminal(['run', join(dir, 'a', 'first.pcapng'), join(dir, 'b', 'second.pcapng'), '--pipeline', pipeline, '-o', out]);
    expect(r.status, r.stdout).toBe(0);
    const text = r.stdout;
    expect(text).toMatch(/\[#+-*\] +\d+%  [\d.]+ kB\/[\d.]+ kB  [\d.]+ kB\/s  ETA \d+:\d\d  file 1\/2/);
    expect(text).toMatch(/100%  [\d.]+ kB\/[\d.]+ kB  .* file 2\/2/);
    for (const f of ['a/first.pcapng', 'b/second.pcapng']) {
      const line = `capflow: ${join(dir, f)}: 1 ${WARNING}`;
      expect(text.split(line).length - 1, line).toBe(1);
    }
    // The bar is cleared before the summary lines.
    expect(text).toMatch(/\r\x1b\[K\S*tty-out\.pcapng: 24 in/);
  });

  it('--no-progress on a terminal: no bar', () => {
    const r = capflowOnTerminal(['run', join(dir, 'a', 'first.pcapng'), '--pipeline', pipeline, '-o', join(dir, 'np.pcapng'), '--no-progress']);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('%');
  });
});

describe.skipIf(!haveBuild)('capflow run through a pipe', () => {
  it('no bar; each warning once per file with its count', () => {
    const r = capflow(['run', join(dir, 'a', 'first.pcapng'), join(dir, 'b', 'second.pcapng'), '--pipeline', pipeline, '-o', join(dir, 'both.pcapng')]);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).toContain(`capflow: ${join(dir, 'a', 'first.pcapng')}: 1 ${WARNING}\n`);
    expect(r.stderr).toContain(`capflow: ${join(dir, 'b', 'second.pcapng')}: 1 ${WARNING}\n`);
    expect(r.stderr.split(WARNING).length - 1).toBe(2);
  });
});

describe.skipIf(!haveBuild)('the README quick start', () => {
  it('prints nothing the README does not show and explain', async () => {
    const { readFileSync } = await import('node:fs');
    const { repoRoot } = await import('./built-cli.js');
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const cmd = 'npx capflow run samples/vxlan-mixed.pcapng --pipeline samples/reencap.yaml -o out.pcapng';
    expect(readme).toContain(cmd);
    const out = join(dir, 'qs');
    mkdirSync(out);
    const r = capflow(['run', 'samples/vxlan-mixed.pcapng', '--pipeline', 'samples/reencap.yaml', '-o', join(out, 'out.pcapng')], { cwd: repoRoot });
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n').map((l) => l.replace(join(out, 'out.pcapng'), 'out.pcapng'));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(readme, l).toContain(`\n${l}\n`);
  });
});
