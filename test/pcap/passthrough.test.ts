/**
 * A plain copy to pcap passes records through in ranges (pipeline/pcap/passthrough.ts) once the
 * first chunk has gone the packet way: the output must be exactly what the packet path writes,
 * record for record, with the same summary. Inputs of several MiB (several read chunks, records
 * straddling chunk boundaries), with the records the writer would change (a fraction of a second
 * or more, caplen above origlen) placed after the first chunk, where the passthrough has to hand
 * over to the packet path; big-endian, raw-IP, gzip and stdin/stdout inputs too. The expected
 * output is built here from the input records, as pcap-writer.ts writes them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { capflow, haveBuild } from '../cli/built-cli.js';
import { ByteBuilder, buildPcap, concat, frame, type PcapRecord } from '../helpers/pcap-build.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-passthrough-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MAX_CAPLEN = 262144;

/** `n` records of 60..1514 bytes (sizes vary so records straddle the 1 MiB read chunks). */
function records(n: number, seed: number): PcapRecord[] {
  const out: PcapRecord[] = [];
  for (let i = 0; i < n; i++) {
    const len = 60 + ((i * 7919 + seed * 104729) % 1455);
    out.push({ sec: 1_700_000_000 + (i >> 4), frac: (i * 37) % 1_000_000, data: frame(len, seed + i) });
  }
  return out;
}

/** What the pcap writer makes of pcap records of one resolution (µs): LE header, normalised records. */
function expectedPcap(recs: PcapRecord[], snapLen: number, linkType = 1): Uint8Array {
  const w = new ByteBuilder(true);
  w.u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(Math.max(snapLen, MAX_CAPLEN)).u32(linkType);
  for (const r of recs) {
    const capLen = r.data.length;
    const carry = Math.floor(r.frac / 1_000_000);
    w.u32(r.sec + carry).u32(r.frac - carry * 1_000_000).u32(capLen).u32(Math.max(r.origLen ?? capLen, capLen)).bytes(r.data);
  }
  return w.build();
}

function summaryOf(stdout: string) {
  const s = JSON.parse(stdout) as Record<string, unknown>;
  return { packetsIn: s.packetsIn, packetsOut: s.packetsOut, forwarded: s.forwarded, dropped: s.dropped, truncated: s.truncated, nonEthernet: s.nonEthernet, bytesIn: s.bytesIn, bytesOut: s.bytesOut };
}

function expectedSummary(recs: PcapRecord[], nonEthernet = false) {
  const bytes = recs.reduce((a, r) => a + r.data.length, 0);
  const truncated = recs.filter((r) => (r.origLen ?? r.data.length) > r.data.length).length;
  const n = recs.length;
  return { packetsIn: n, packetsOut: n, forwarded: n, dropped: 0, truncated, nonEthernet: nonEthernet ? n : 0, bytesIn: bytes, bytesOut: bytes };
}

describe.skipIf(!haveBuild)('plain copy to pcap: records passed through as they are', () => {
  it('a 6 MB capture: every record, snaplen-truncated ones counted, then the packet path from the first record the writer changes', () => {
    const recs = records(8000, 1);
    // After the first read chunk: truncated records (pass through), then a fraction of 1.5 s
    // (carried into the seconds), caplen above origlen, and more records after them.
    recs[1500] = { ...recs[1500]!, origLen: 9000 };
    recs[3000] = { ...recs[3000]!, origLen: recs[3000]!.data.length + 1 };
    recs[6000] = { ...recs[6000]!, frac: 1_500_000 };
    recs[6001] = { ...recs[6001]!, origLen: 40 };
    const input = join(dir, 'mixed.pcap');
    writeFileSync(input, buildPcap({ le: true, snapLen: 65535, records: recs }));
    const out = join(dir, 'mixed-out.pcap');
    const r = capflow(['run', input, '-o', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(expectedPcap(recs, 65535)))).toBe(true);
    expect(summaryOf(r.stdout)).toEqual(expectedSummary(recs));
    expect(r.stderr).toContain('exceeds its origlen');
  });

  it('all canonical: the output is the input with the writer\'s header, for one input and for the same input twice', () => {
    const recs = records(6000, 2);
    const input = join(dir, 'plain.pcap');
    writeFileSync(input, buildPcap({ le: true, snapLen: 262144, records: recs }));
    const out = join(dir, 'plain-out.pcap');
    const r = capflow(['run', input, '-o', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(expectedPcap(recs, 262144)))).toBe(true);
    expect(summaryOf(r.stdout)).toEqual(expectedSummary(recs));
    const twice = join(dir, 'twice.pcap');
    const r2 = capflow(['run', input, input, '-o', twice, '--json']);
    expect(r2.status, r2.stderr).toBe(0);
    expect(Buffer.from(readFileSync(twice)).equals(Buffer.from(expectedPcap([...recs, ...recs], 262144)))).toBe(true);
    expect(summaryOf(r2.stdout)).toEqual(expectedSummary([...recs, ...recs]));
  });

  it('big-endian and raw-IP inputs, gzip input, stdin to stdout, and a last record cut short', () => {
    const recs = records(5000, 3);
    const be = join(dir, 'be.pcap');
    writeFileSync(be, buildPcap({ le: false, snapLen: 1600, records: recs }));
    const beOut = join(dir, 'be-out.pcap');
    const r = capflow(['run', be, '-o', beOut, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(Buffer.from(readFileSync(beOut)).equals(Buffer.from(expectedPcap(recs, 1600)))).toBe(true);

    const raw = join(dir, 'raw.pcap');
    writeFileSync(raw, buildPcap({ le: true, linkType: 101, records: recs }));
    const rawOut = join(dir, 'raw-out.pcap');
    const rr = capflow(['run', raw, '-o', rawOut, '--json']);
    expect(rr.status, rr.stderr).toBe(0);
    expect(Buffer.from(readFileSync(rawOut)).equals(Buffer.from(expectedPcap(recs, 65535, 101)))).toBe(true);
    expect(summaryOf(rr.stdout)).toEqual(expectedSummary(recs, true));

    const plain = buildPcap({ le: true, records: recs });
    const gz = join(dir, 'in.pcap.gz');
    writeFileSync(gz, gzipSync(plain));
    const gzOut = join(dir, 'gz-out.pcap');
    expect(capflow(['run', gz, '-o', gzOut]).status).toBe(0);
    expect(Buffer.from(readFileSync(gzOut)).equals(Buffer.from(expectedPcap(recs, 65535)))).toBe(true);

    const piped = capflow(['run', '-', '-o', '-'], { input: plain });
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stdoutBytes.equals(Buffer.from(expectedPcap(recs, 65535)))).toBe(true);

    // Half a record at the end: every whole record written, a warning, exit 0.
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, concat(plain, new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0, 9, 9])));
    const cutOut = join(dir, 'cut-out.pcap');
    const rc = capflow(['run', cut, '-o', cutOut, '--json']);
    expect(rc.status, rc.stderr).toBe(0);
    expect(Buffer.from(readFileSync(cutOut)).equals(Buffer.from(expectedPcap(recs, 65535)))).toBe(true);
    expect(summaryOf(rc.stdout)).toEqual(expectedSummary(recs));
    expect(rc.stderr).toMatch(/truncated|ends inside/);
  });
});
