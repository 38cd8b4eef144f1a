/**
 * `capflow run` with no stages is a faithful copy: bytes, timestamps to the nanosecond, lengths,
 * comments and interfaces survive, checked by capflow's reader and by tshark/capinfos.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readPackets } from '../../pipeline/pcap/reader.js';
import { buildPcap, concat, epb, idb, shb, spb, strOpt, frame } from '../helpers/pcap-build.js';
import { runCli, toolGate } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Seen {
  data: string;
  sec: number;
  frac: number;
  units: number;
  origLen: number;
  iface: number;
  linkType: number;
  comments: string[] | null;
}

async function read(path: string): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const p of readPackets(path, { name: path })) {
    out.push({
      data: Buffer.from(p.data).toString('hex'),
      sec: p.tsSec,
      frac: p.tsFrac,
      units: p.tsUnits,
      origLen: p.origLen,
      iface: p.iface,
      linkType: p.linkType,
      comments: p.comments,
    });
  }
  return out;
}

function nsOf(s: Seen): bigint {
  return BigInt(s.sec) * 1_000_000_000n + (BigInt(s.frac) * 1_000_000_000n) / BigInt(s.units);
}

const samples: Record<string, Uint8Array> = {
  'us-le.pcap': buildPcap({ le: true, nano: false, linkType: 1, snapLen: 65535, records: [0, 1, 2].map((i) => ({ sec: 1_700_000_000 + i, frac: 123456 + i, data: frame(60 + i * 100, i) })) }),
  'us-be.pcap': buildPcap({ le: false, nano: false, linkType: 1, snapLen: 65535, records: [0, 1].map((i) => ({ sec: 1_700_000_000, frac: 999999 - i, data: frame(64, i) })) }),
  'ns-le.pcap': buildPcap({ le: true, nano: true, linkType: 1, snapLen: 262144, records: [0, 1].map((i) => ({ sec: 1_700_000_000, frac: 955677809 + i, data: frame(1514, i) })) }),
  'ns-be.pcap': buildPcap({ le: false, nano: true, linkType: 101, snapLen: 262144, records: [{ sec: 1_555_486_009, frac: 955677809, data: frame(40, 3) }] }),
  'truncated-snaplen.pcap': buildPcap({ le: true, nano: false, linkType: 1, snapLen: 96, records: [{ sec: 1, frac: 2, data: frame(96, 9), origLen: 1514 }] }),
  'multi.pcapng': concat(
    shb(true),
    idb(true, { linkType: 1, snapLen: 0, name: 'eth0', tsresol: 9 }),
    idb(true, { linkType: 113, snapLen: 65535, name: 'any', tsresol: 6 }),
    idb(true, { linkType: 101, snapLen: 65535, tsresol: 0x94 }),
    epb(true, { iface: 0, ts: 1_700_000_000_123_456_789n, data: frame(70, 1), comments: ['first comment', 'second ünïcode comment'] }),
    epb(true, { iface: 1, ts: 1_700_000_000_123_456n, data: frame(44, 2) }),
    epb(true, { iface: 2, ts: 1_700_000_000n * 1_048_576n + 12345n, data: frame(40, 3) }),
    spb(true, { data: frame(60, 4) }),
  ),
  'be-sections.pcapng': concat(
    shb(false),
    idb(false, { linkType: 1, snapLen: 0 }),
    epb(false, { iface: 0, ts: 1_700_000_001_000_001n, data: frame(80, 5) }),
    shb(true),
    idb(true, { linkType: 1, snapLen: 0, tsresol: 9 }),
    epb(true, { iface: 0, ts: 1_700_000_002_000_000_002n, data: frame(81, 6), comments: ['in section 2'] }),
  ),
};
for (const [name, bytes] of Object.entries(samples)) writeFileSync(join(dir, name), bytes);
writeFileSync(join(dir, 'multi.pcapng.gz'), gzipSync(samples['multi.pcapng']!));

describe('capflow run: round trip without stages', () => {
  for (const name of [...Object.keys(samples), 'multi.pcapng.gz']) {
    const ext = name.includes('pcapng') ? '.pcapng' : '.pcap';
    it(`${name} -> ${ext}`, async () => {
      const input = join(dir, name);
      const output = join(dir, `rt-${name.replace('.gz', '')}`);
      const r = await runCli(['run', input, '-o', output, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      const a = await read(input);
      const b = await read(output);
      expect(summary.packetsIn).toBe(a.length);
      expect(summary.packetsOut).toBe(a.length);
      expect(summary.forwarded + summary.dropped).toBe(summary.packetsIn);
      expect(b.map((s) => s.data)).toEqual(a.map((s) => s.data));
      expect(b.map(nsOf)).toEqual(a.map(nsOf));
      expect(b.map((s) => s.origLen)).toEqual(a.map((s) => s.origLen));
      expect(b.map((s) => s.linkType)).toEqual(a.map((s) => s.linkType));
      if (ext === '.pcapng') {
        expect(b.map((s) => s.comments)).toEqual(a.map((s) => s.comments));
        // Exact raw timestamps: same resolution per interface.
        expect(b.map((s) => [s.sec, s.frac, s.units])).toEqual(a.map((s) => [s.sec, s.frac, s.units]));
      }
    });
  }

  it('keeps nanoseconds in pcap output when the input has them', async () => {
    const out = join(dir, 'ns-out.pcap');
    expect((await runCli(['run', join(dir, 'multi.pcapng'), '-o', out, '--json'])).status).toBe(1); // mixed link types need pcapng
    const r = await runCli(['run', join(dir, 'ns-le.pcap'), '-o', out]);
    expect(r.status).toBe(0);
    const b = await read(out);
    expect(b[0]!.units).toBe(1e9);
    expect(b[0]!.frac).toBe(955677809);
  });

  it('several inputs with --out-dir give one output each; with -o they are concatenated', async () => {
    const outDir = join(dir, 'outdir');
    const r = await runCli(['run', join(dir, 'us-le.pcap'), join(dir, 'ns-le.pcap'), '--out-dir', outDir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(outDir).sort()).toEqual(['ns-le.pcap', 'us-le.pcap']);
    const both = join(dir, 'both.pcapng');
    const r2 = await runCli(['run', join(dir, 'us-le.pcap'), join(dir, 'ns-le.pcap'), '-o', both, '--json']);
    expect(r2.status, r2.stderr).toBe(0);
    const s = JSON.parse(r2.stdout);
    expect(s.inputs.map((i: { packetsIn: number }) => i.packetsIn)).toEqual([3, 2]);
    expect((await read(both)).length).toBe(5);
  });

  it('refuses to write over its input and leaves no partial output on failure', async () => {
    const input = join(dir, 'self.pcap');
    writeFileSync(input, samples['us-le.pcap']!);
    const r = await runCli(['run', input, '-o', input]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('refusing to write the output over its input');

    const bad = join(dir, 'bad-late.pcap');
    // Two good records then a record whose caplen is absurd.
    const good = samples['us-le.pcap']!;
    const broken = new Uint8Array(good.length + 16);
    broken.set(good);
    new DataView(broken.buffer).setUint32(good.length + 8, 300000, true);
    writeFileSync(bad, broken);
    const out = join(dir, 'never.pcap');
    const r2 = await runCli(['run', bad, '-o', out]);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/bad-late\.pcap: offset \d+: .*caplen 300000/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).some((f) => f.includes('never.pcap') && f.endsWith('.tmp'))).toBe(false);
  });

  it('a truncated last record: earlier packets written with a warning; --strict fails', async () => {
    const good = samples['us-le.pcap']!;
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, good.subarray(0, good.length - 10));
    const out = join(dir, 'cut-out.pcap');
    const r = await runCli(['run', cut, '-o', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/truncated/);
    expect(JSON.parse(r.stdout).packetsIn).toBe(2);
    const r2 = await runCli(['run', cut, '-o', join(dir, 'cut-strict.pcap'), '--strict']);
    expect(r2.status).toBe(1);
    expect(existsSync(join(dir, 'cut-strict.pcap'))).toBe(false);
  });

  it('unknown magic and empty files name the file and offset', async () => {
    writeFileSync(join(dir, 'junk.pcap'), 'this is not a capture at all');
    const r = await runCli(['run', join(dir, 'junk.pcap'), '-o', join(dir, 'x.pcap')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/junk\.pcap: offset 0: /);
    writeFileSync(join(dir, 'empty.pcap'), '');
    const r2 = await runCli(['run', join(dir, 'empty.pcap'), '-o', join(dir, 'x.pcap')]);
    expect(r2.stderr).toContain('empty file');
  });
});

describe('capflow run: pipeline configuration errors exit 2 naming the file and key', () => {
  it('bad pipeline file key', async () => {
    const pf = join(dir, 'bad.yaml');
    writeFileSync(pf, 'view: sideways\nstages: []\n');
    const r = await runCli(['run', join(dir, 'us-le.pcap'), '-o', join(dir, 'y.pcap'), '--pipeline', pf]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${pf}: view:`);
  });
  it('unknown stage', async () => {
    const r = await runCli(['run', join(dir, 'us-le.pcap'), '-o', join(dir, 'y.pcap'), '--stage', 'frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--stage frobnicate: stage: unknown stage "frobnicate"');
  });
  it('unknown NIC profile', async () => {
    const r = await runCli(['run', join(dir, 'us-le.pcap'), '-o', join(dir, 'y.pcap'), '--nic', 'no-such-nic']);
    expect(r.status).toBe(2);
  });
  it('bad usage', async () => {
    expect((await runCli(['run'])).status).toBe(2);
    expect((await runCli(['frob'])).status).toBe(2);
    expect((await runCli(['run', join(dir, 'us-le.pcap')])).status).toBe(2);
  });
});

const tshark = toolGate('tshark');
describe.skipIf(tshark.skip)(`independent check with tshark/capinfos${tshark.label}`, () => {
  it('capinfos and tshark see the same packets, timestamps and comments', async () => {
    const input = join(dir, 'multi.pcapng');
    const output = join(dir, 'tshark-rt.pcapng');
    expect((await runCli(['run', input, '-o', output])).status).toBe(0);
    const fields = (f: string) =>
      spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.comment', '-e', 'frame.interface_id'], { encoding: 'utf8' }).stdout;
    // The SPB carries no timestamp; capflow writes it as an EPB stamped 0 (the only change).
    const spbFixed = fields(input).replace(/\n\t60\t60\t\t0\n$/, '\n0.000000000\t60\t60\t\t0\n');
    expect(fields(output)).toBe(spbFixed);
    const count = (f: string) => /Number of packets:\s+(\d+)/.exec(spawnSync('capinfos', ['-c', f], { encoding: 'utf8' }).stdout)?.[1];
    expect(count(output)).toBe('4');
    const ns = join(dir, 'tshark-ns.pcap');
    expect((await runCli(['run', join(dir, 'ns-be.pcap'), '-o', ns])).status).toBe(0);
    expect(fields(ns)).toBe(fields(join(dir, 'ns-be.pcap')));
  });
});
