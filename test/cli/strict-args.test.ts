/**
 * A rejected command line stops before anything happens: no input opened, no output created,
 * no packet sent. And `-` means stdin in every command that reads a capture or a file.
 * Both through the built `capflow`, with real argv and a real stdin pipe.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPackets } from '../../pipeline/pcap/reader.js';
import { capflow, haveBuild, samplesDir, shell } from './built-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-strict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sample = (f: string) => join(samplesDir, f);

async function count(path: string): Promise<number> {
  let n = 0;
  for await (const _ of readPackets(path, { name: path })) n++;
  return n;
}

describe.skipIf(!haveBuild)('usage errors stop before any work', () => {
  it('run with a misspelt option writes nothing', () => {
    const out = join(dir, 'z.pcapng');
    const r = capflow(['run', sample('tso-host.pcap'), '--pipline', sample('reencap.yaml'), '-o', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Unknown argument: pipline');
    expect(r.stderr).not.toMatch(/ in, .* forwarded/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('capflow-'))).toEqual([]);
  });

  it('run without an input writes nothing', () => {
    const out = join(dir, 'n.pcapng');
    const r = capflow(['run', '-o', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Not enough non-option arguments/);
    expect(existsSync(out)).toBe(false);
  });

  it('replay with a misspelt option sends nothing', () => {
    const out = join(dir, 'replayed.pcap');
    const r = capflow(['replay', sample('tso-host.pcap'), '--topspeeed', '--to', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Unknown argument: topspeeed');
    expect(r.stderr).not.toContain('sent');
    expect(existsSync(out)).toBe(false);
  });

  it('diff with a misspelt option prints no report', () => {
    const r = capflow(['diff', sample('tso-host.pcap'), sample('vxlan-mixed.pcapng'), '--ignroe', 'ipv4.ttl']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Unknown argument: ignroe');
  });

  it('info and nic with a misspelt option or an extra argument print nothing on stdout', () => {
    for (const args of [
      ['info', sample('tso-host.pcap'), '--jsn'],
      ['info', sample('tso-host.pcap'), sample('vxlan-mixed.pcapng')],
      ['nic', 'list', '--jason'],
      ['nic', 'import', '-', '--nmae', 'x'],
    ]) {
      const r = capflow(args, { input: 'Features for eth0:\ntcp-segmentation-offload: on\n' });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(/Unknown argument/);
    }
  });
});

describe.skipIf(!haveBuild)('- is stdin', () => {
  it('run - reads a capture from a pipe', async () => {
    const out = join(dir, 'x.pcapng');
    const r = shell(`cat '${sample('vxlan-mixed.pcapng')}' | capflow run - -o '${out}' --json`);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.packetsIn).toBe(12);
    expect(summary.inputs).toHaveLength(1);
    expect(summary.inputs[0].file).toBe('-');
    expect(await count(out)).toBe(12);
  });

  it('run - -o - is a filter', async () => {
    const r = capflow(['run', '-', '-o', '-', '--format', 'pcap'], { input: readFileSync(sample('tso-host.pcap')) });
    expect(r.status).toBe(0);
    const out = join(dir, 'filtered.pcap');
    (await import('node:fs')).writeFileSync(out, r.stdoutBytes);
    expect(await count(out)).toBeGreaterThanOrEqual(6);
  });

  it('info - and info --json -', () => {
    const text = capflow(['info', '-'], { input: readFileSync(sample('tso-host.pcap')) });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^Packets:\s+6$/m);
    expect(text.stdout).toMatch(/^File:\s+<stdin>$/m);
    const json = capflow(['info', '--json', '-'], { input: readFileSync(sample('vxlan-mixed.pcapng')) });
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).packets).toBe(12);
  });

  it('diff A - and diff - A compare with stdin', () => {
    const a = sample('vxlan-mixed.pcapng');
    for (const args of [['diff', a, '-'], ['diff', '-', a]]) {
      const r = capflow(args, { input: readFileSync(a) });
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^equal: EXPECTED 12 packets, ACTUAL 12 packets$/m);
    }
    const ne = capflow(['diff', a, '-'], { input: readFileSync(sample('tso-host.pcap')) });
    expect(ne.status).toBe(1);
  });

  it('nic import - reads ethtool -k output from a pipe', () => {
    const ethtool = 'Features for eth7:\nrx-checksumming: on\ntx-checksumming: on\n\ttx-checksum-ipv4: off [fixed]\n\ttx-checksum-ip-generic: on\nscatter-gather: on\ntcp-segmentation-offload: on\n\ttx-tcp-segmentation: on\n';
    const r = shell(`printf '%s' "$T" | capflow nic import -`, { env: { T: ethtool } });
    expect(r.status, r.stderr).toBe(0);
    const profile = JSON.parse(r.stdout);
    expect(profile.name).toBe('eth7');
  });
});
