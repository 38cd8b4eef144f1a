/**
 * Faithful by default: `capflow run IN -o OUT` with no stage and no egress setting is a format
 * conversion. Every bundled sample and a capture of 1564-byte VXLAN frames (taken on a jumbo-MTU
 * underlay) come out packet for packet identical, and `capflow diff` says equal. Asking for the
 * egress (`--nic`, `--view wire`, `egress.mtu`) is what changes packets.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readPackets } from '../../pipeline/pcap/reader.js';
import { buildPcap } from '../helpers/pcap-build.js';
import { frame, pattern, TS_OPTS, vxlan } from '../gso/build.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const built = join(root, 'dist', 'cli', 'main.js');
const haveBuild = existsSync(built);
if (!haveBuild && process.env.CI === 'true') throw new Error('dist/ is missing: npm run build');
if (!haveBuild) console.warn('[faithful CLI tests skipped] dist/ is not built (npm run build)');

const dir = mkdtempSync(join(tmpdir(), 'capflow-faithful-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capflow(args: string[]) {
  return spawnSync(process.execPath, [built, ...args], { encoding: 'utf8', cwd: root });
}

async function records(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const p of readPackets(path, { name: path })) {
    out.push(`${p.tsSec}.${p.tsFrac}/${p.tsUnits} ${p.origLen} ${p.iface} ${(p.comments ?? []).join('|')} ${Buffer.from(p.data).toString('hex')}`);
  }
  return out;
}

/** 1564-byte VXLAN frames: a 1514-byte inner TCP frame (complete checksums) over IPv4 + UDP. */
function jumboCapture(n: number): string {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const inner = frame({ ip: { v: 4, id: i }, l4: { kind: 'tcp', options: TS_OPTS, seq: 1000 + i * 1448 }, payload: pattern(1448, i) });
    frames.push(vxlan(inner, { csum: i % 2 === 0, id: i }));
  }
  expect(frames[0]!.length).toBe(1564);
  const path = join(dir, 'jumbo-vxlan.pcap');
  writeFileSync(path, buildPcap({ le: true, nano: false, linkType: 1, snapLen: 262144, records: frames.map((data, i) => ({ sec: 1700000000, frac: i, data })) }));
  return path;
}

describe.skipIf(!haveBuild)('capflow run IN -o OUT: a format conversion', () => {
  const samples = ['vxlan-mixed.pcapng', 'vxlan-decapped.pcapng', 'vxlan-decap-cases.pcap', 'tso-host.pcap'];
  for (const name of samples) {
    for (const ext of ['pcap', 'pcapng']) {
      it(`samples/${name} → .${ext}: every packet byte for byte, diff equal`, async () => {
        const input = join(root, 'samples', name);
        const output = join(dir, `${name}.${ext}`);
        const r = capflow(['run', input, '-o', output, '--json']);
        expect(r.status, r.stderr).toBe(0);
        const summary = JSON.parse(r.stdout) as { packetsIn: number; packetsOut: number; dropped: number };
        expect(summary.packetsOut).toBe(summary.packetsIn);
        expect(summary.dropped).toBe(0);
        const a = await records(input);
        const b = await records(output);
        // Same format: everything (timestamps, interfaces, comments); across formats: the frames.
        const frames = (x: string[]) => x.map((r) => r.split(' ').pop());
        if (name.endsWith(`.${ext}`)) expect(b).toEqual(a);
        expect(frames(b)).toEqual(frames(a));
        const d = capflow(['diff', input, output]);
        expect(d.status, d.stdout + d.stderr).toBe(0);
      });
    }
  }

  it('1564-byte VXLAN frames of a jumbo-MTU underlay: not fragmented, not segmented', async () => {
    const input = jumboCapture(40);
    const output = join(dir, 'jumbo-out.pcapng');
    const r = capflow(['run', input, '-o', output, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ packetsIn: 40, packetsOut: 40, dropped: 0 });
    const strip = (s: string[]) => s.map((x) => x.split(' ').pop());
    expect(await records(output)).toEqual(await records(input));
    expect(capflow(['diff', input, output]).status).toBe(0);
    // With the egress (any NIC, wire view) they still cross: their checksums are complete and
    // nothing grew them, so only an MTU the user gives splits them.
    const wire = join(dir, 'jumbo-wire.pcap');
    expect(capflow(['run', input, '-o', wire, '--nic', 'none', '--view', 'wire']).status).toBe(0);
    expect(strip(await records(wire))).toEqual(strip(await records(input)));
    const pipeline = join(dir, 'mtu1500.yaml');
    writeFileSync(pipeline, 'egress:\n  mtu: 1500\n');
    const cut = join(dir, 'jumbo-mtu.pcap');
    const c = capflow(['run', input, '-o', cut, '--pipeline', pipeline, '--view', 'wire', '--json']);
    expect(c.status, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout).packetsOut).toBeGreaterThan(40);
  });

  it('a TSO host capture is segmented only when the egress is asked for (--view wire)', async () => {
    const input = join(root, 'samples', 'tso-host.pcap');
    const plain = join(dir, 'tso-plain.pcap');
    const wire = join(dir, 'tso-wire.pcap');
    const p = capflow(['run', input, '-o', plain, '--json']);
    const w = capflow(['run', input, '-o', wire, '--view', 'wire', '--json']);
    expect(p.status, p.stderr).toBe(0);
    expect(w.status, w.stderr).toBe(0);
    const ps = JSON.parse(p.stdout);
    const ws = JSON.parse(w.stdout);
    expect(ps.packetsOut).toBe(ps.packetsIn);
    expect(ws.packetsOut).toBeGreaterThan(ws.packetsIn);
  });

  it('egress: in a pipeline file, and the older `- stage: gso`, are the same egress', async () => {
    const input = join(root, 'samples', 'tso-host.pcap');
    const a = join(dir, 'egress-a.pcap');
    const b = join(dir, 'egress-b.pcap');
    const pa = join(dir, 'egress.yaml');
    const pb = join(dir, 'gso.yaml');
    writeFileSync(pa, 'view: wire\negress:\n  mss: 1000\n');
    writeFileSync(pb, 'view: wire\nstages:\n  - stage: gso\n    mss: 1000\n');
    expect(capflow(['run', input, '-o', a, '--pipeline', pa]).status).toBe(0);
    expect(capflow(['run', input, '-o', b, '--pipeline', pb]).status).toBe(0);
    expect(await records(a)).toEqual(await records(b));
    const both = join(dir, 'both.yaml');
    writeFileSync(both, 'egress:\n  mss: 1000\nstages:\n  - stage: gso\n');
    const e = capflow(['run', input, '-o', join(dir, 'never.pcap'), '--pipeline', both]);
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/both configure the NIC egress/);
    expect(existsSync(join(dir, 'never.pcap'))).toBe(false);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'egress:\n  mtu: 10\n');
    const e2 = capflow(['run', input, '-o', join(dir, 'never.pcap'), '--pipeline', bad]);
    expect(e2.status).toBe(2);
    expect(e2.stderr).toMatch(/egress\.mtu/);
  });
});
