/**
 * `run --out-dir`: two inputs never share an output (refused with exit 2 before anything is
 * written, naming both), no output replaces an input, and the output's extension says the format
 * written. Through the built capflow.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capflow, haveBuild, samplesDir } from './built-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-outdir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'a'));
mkdirSync(join(dir, 'b'));
copyFileSync(join(samplesDir, 'tso-host.pcap'), join(dir, 'a', 'x.pcap'));
copyFileSync(join(samplesDir, 'vxlan-mixed.pcapng'), join(dir, 'b', 'x.pcap')); // pcapng under a .pcap name
copyFileSync(join(samplesDir, 'tso-host.pcap'), join(dir, 'a', 'y.pcap'));

const PCAPNG_SHB = '0a0d0d0a';
const PCAP_MAGIC = /^(d4c3b2a1|4d3cb2a1|a1b2c3d4|a1b23c4d)$/;
const magic = (p: string) => readFileSync(p).subarray(0, 4).toString('hex');

describe.skipIf(!haveBuild)('run --out-dir', () => {
  it('refuses two inputs with the same name, naming both, before writing anything', () => {
    const out = join(dir, 'coll');
    const r = capflow(['run', join(dir, 'a', 'x.pcap'), join(dir, 'b', 'x.pcap'), '--out-dir', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'a', 'x.pcap')} and ${join(dir, 'b', 'x.pcap')} would both be written to ${join(out, 'x.pcap')}`);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an output that would replace an input, before writing the outputs of the others', () => {
    const r = capflow(['run', join(dir, 'a', 'y.pcap'), join(dir, 'b', 'x.pcap'), '--out-dir', join(dir, 'b')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`the output of ${join(dir, 'b', 'x.pcap')} would replace the input ${join(dir, 'b', 'x.pcap')}`);
    expect(existsSync(join(dir, 'b', 'y.pcap'))).toBe(false);
    expect(readFileSync(join(dir, 'b', 'x.pcap'))).toEqual(readFileSync(join(samplesDir, 'vxlan-mixed.pcapng')));
  });

  it('--format pcapng names the outputs .pcapng', () => {
    const out = join(dir, 'ng');
    const r = capflow(['run', join(dir, 'a', 'x.pcap'), join(dir, 'a', 'y.pcap'), '--out-dir', out, '--format', 'pcapng', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['x.pcapng', 'y.pcapng']);
    expect(magic(join(out, 'x.pcapng'))).toBe(PCAPNG_SHB);
    expect(JSON.parse(r.stdout).outputs).toEqual([
      { output: join(out, 'x.pcapng'), format: 'pcapng' },
      { output: join(out, 'y.pcapng'), format: 'pcapng' },
    ]);
  });

  it('--format pcap names stdin stdin.pcap, and pcapng read from x.pcap stays pcap by its name', () => {
    const out = join(dir, 'p');
    const r = capflow(['run', '-', '--out-dir', out, '--format', 'pcap'], { input: readFileSync(join(samplesDir, 'vxlan-mixed.pcapng')) });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out)).toEqual(['stdin.pcap']);
    expect(magic(join(out, 'stdin.pcap'))).toMatch(PCAP_MAGIC);
    const kept = capflow(['run', join(dir, 'b', 'x.pcap'), '--out-dir', join(dir, 'k')]);
    expect(kept.status, kept.stderr).toBe(0);
    expect(magic(join(dir, 'k', 'x.pcap'))).toMatch(PCAP_MAGIC);
  });
});
