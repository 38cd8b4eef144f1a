/**
 * The small things of a CLI people script: --stage after a pipeline file that ends with the
 * egress, invalid values that say what was expected (with a hint for YAML flow syntax),
 * `nic show --json` as a starting point for `--nic FILE`, and `info` keeping its long MSS rule
 * for --verbose. Through the built capflow.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPackets } from '../../pipeline/pcap/reader.js';
import { capflow, haveBuild, samplesDir } from './built-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-small-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sample = (f: string) => join(samplesDir, f);

async function frames(path: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const p of readPackets(path, { name: path })) out.push(Uint8Array.from(p.data));
  return out;
}

describe.skipIf(!haveBuild)('--stage with a pipeline file that ends with gso', () => {
  const file = join(dir, 'ends-with-gso.yaml');
  writeFileSync(file, 'stages:\n  - stage: tunnel-key\n    rules: []\n  - stage: gso\n    mss: 1000\n');

  it('the added stage runs before the file\'s egress', async () => {
    const out = join(dir, 'mpls.pcapng');
    const r = capflow(['run', sample('tso-host.pcap'), '--pipeline', file, '--stage', 'mpls-push:labels=[{label: 100, ttl: 64}]', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const got = await frames(out);
    // Every frame is MPLS (EtherType 0x8847), and the super-packets were segmented at mss 1000 after the push.
    expect(got.every((f) => f[12] === 0x88 && f[13] === 0x47)).toBe(true);
    expect(got.length).toBe(4 + Math.ceil(20000 / 1000) + Math.ceil(7240 / 1000));
  });

  it('the same with a file written for the egress as its last stage in YAML flow style', () => {
    const flow = join(dir, 'flow.yaml');
    writeFileSync(flow, 'stages: [{stage: gso}]\n');
    const r = capflow(['run', sample('tso-host.pcap'), '-p', flow, '-s', 'mpls-pop', '-o', join(dir, 'pop.pcapng')]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('a --stage gso replaces the file\'s egress', async () => {
    const out = join(dir, 'mss1400.pcap');
    const r = capflow(['run', sample('tso-host.pcap'), '--pipeline', file, '--stage', 'gso:mss=1400', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect((await frames(out)).length).toBe(4 + Math.ceil(20000 / 1400) + Math.ceil(7240 / 1400));
  });
});

describe.skipIf(!haveBuild)('invalid values say what was expected', () => {
  it('gso:mss=abc and gso:mss=0', () => {
    for (const v of ['abc', '0', '70000']) {
      const out = join(dir, `mss-${v}.pcap`);
      const r = capflow(['run', sample('tso-host.pcap'), '--stage', `gso:mss=${v}`, '-o', out]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`capflow: --stage gso:mss=${v}: mss: expected a number 48..65535 or auto (48 is the kernel's smallest TCP MSS, tcp_min_snd_mss)\n`);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('a union of words and numbers lists them', () => {
    const r = capflow(['run', sample('tso-host.pcap'), '--stage', 'mpls-push:labels=[{label: 100, ttl: x}]', '-o', join(dir, 'ttl.pcap')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--stage mpls-push:labels=\[\{label: 100, ttl: x\}\]: labels\[0\]\.ttl: expected .*"inherit"/);
  });

  it('a YAML flow mapping without a space after the colon gets a hint', () => {
    const r = capflow(['run', sample('vxlan-mixed.pcapng'), '--stage', 'tunnel-key:rules=[{match:{vni:42},set:{vni:7}}]', '-o', join(dir, 'tk.pcapng')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Unrecognized key: "vni:42" (YAML flow syntax needs a space after the colon: vni: 42)');
  });

  it('an error in a --stage names the --stage, not the pipeline file', () => {
    const r = capflow(['run', sample('tso-host.pcap'), '-p', sample('reencap.yaml'), '--stage', 'mpls-push:labels=[100]', '-o', join(dir, 'blame.pcap')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^capflow: --stage mpls-push:labels=\[100\]: labels\[0\]: /);
    expect(r.stderr).not.toContain('reencap.yaml');
  });
});

describe.skipIf(!haveBuild)('nic show --json is a starting point for --nic FILE', () => {
  it('the output loads as a profile, edits included', () => {
    const shown = capflow(['nic', 'show', 'ixgbe', '--json']);
    expect(shown.status).toBe(0);
    const doc = JSON.parse(shown.stdout);
    expect(doc.effective).toBeDefined();
    doc.name = 'my-ixgbe';
    doc.mtu = 9000;
    const file = join(dir, 'my-nic.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const back = capflow(['nic', 'show', file, '--json']);
    expect(back.status, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ name: 'my-ixgbe', mtu: 9000, effective: doc.effective });
    const run = capflow(['run', sample('tso-host.pcap'), '--nic', file, '-o', join(dir, 'nic.pcapng')]);
    expect(run.status, run.stderr).toBe(0);
  });
});

describe.skipIf(!haveBuild)('info keeps the MSS rule for --verbose', () => {
  it('one line without, the rule with', () => {
    const short = capflow(['info', sample('tso-host.pcap')]);
    expect(short.status).toBe(0);
    expect(short.stdout).toContain('MSS rule:        gso mss=auto, mtu=1500, vxlanPorts=4789,8472 (--verbose shows the rule)\n');
    const long = capflow(['info', '-v', sample('tso-host.pcap')]);
    expect(long.stdout.split('\n').length).toBeGreaterThan(short.stdout.split('\n').length + 2);
    expect(long.stdout).toContain('MSS rule:        gso mss=auto, mtu=1500, vxlanPorts=4789,8472:\n');
    expect(readFileSync(sample('tso-host.pcap')).length).toBeGreaterThan(0);
  });
});
