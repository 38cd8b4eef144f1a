/**
 * `capflow diff` aligns the two captures: a packet missing in the middle of ACTUAL is reported as
 * missing, not as every following packet changed; an extra one as extra; changed packets by
 * field. In the text and --json reports (written as differences are found) and in the vitest
 * matcher's message. `--max 0` on a large capture against a changed copy streams its report in
 * bounded memory (process peak RSS measured).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../pipeline/vitest-matcher.js';
import { tcpFrame, udpFrame, writeCapture, type Rec } from '../diff/captures.js';
import { toolGate } from './cli-helpers.js';
import { capflow, capflowPeakRss, haveBuild } from './built-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-align-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Twenty distinct packets (seq 1000 + 100·i); the same timestamps on both sides. */
const golden: Rec[] = Array.from({ length: 20 }, (_, i) => ({ frame: tcpFrame({ seq: 1000 + 100 * i }), sec: 1_700_000_000 + i }));
// ACTUAL: #5 dropped, #10 with TTL 63, an extra UDP packet after #17 (ACTUAL #16 + 1 = #17).
const actual: Rec[] = [
  ...golden.slice(0, 4),
  ...golden.slice(5, 9),
  { frame: tcpFrame({ seq: 1000 + 100 * 9, ttl: 63 }), sec: golden[9]!.sec },
  ...golden.slice(10, 17),
  { frame: udpFrame(), sec: 1_700_000_016 },
  ...golden.slice(17),
];
const goldenFile = join(dir, 'golden.pcapng');
const actualFile = join(dir, 'actual.pcapng');
const ready = Promise.all([writeCapture(goldenFile, golden), writeCapture(actualFile, actual)]);

describe.skipIf(!haveBuild)('capflow diff aligns', () => {
  it('text: #5 missing, #10 changed (ACTUAL #9), #17 extra, and nothing else', async () => {
    await ready;
    const r = capflow(['diff', goldenFile, actualFile]);
    expect(r.status).toBe(1);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('#'));
    expect(lines).toEqual([
      '#5 missing in ACTUAL: 10.0.0.1 → 10.0.0.2 tcp 40000 → 80, 66 bytes',
      '#10 (ACTUAL #9) ipv4.ttl: expected 64, got 63',
      expect.stringMatching(/^#10 \(ACTUAL #9\) ipv4\.checksum: expected 0x[0-9a-f]{4}, got 0x[0-9a-f]{4}$/),
      '#17 extra in ACTUAL: 10.0.0.1 → 10.0.0.2 udp 5000 → 6000, 46 bytes',
    ]);
    expect(r.stdout).toContain('differ: 4 differences in 3 packets (EXPECTED 20 packets, ACTUAL 20 packets)\n');
  });

  it('--json says the same, and --max counts the rest', async () => {
    await ready;
    const r = capflow(['diff', goldenFile, actualFile, '--json', '--max', '3']);
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.differences.map((d: { packet: number; actualPacket?: number; kind: string; field: string }) => [d.packet, d.actualPacket, d.kind, d.field])).toEqual([
      [5, undefined, 'missing', 'packet'],
      [10, 9, 'field', 'ipv4.ttl'],
      [10, 9, 'field', 'ipv4.checksum'],
    ]);
    expect(doc).toMatchObject({ equal: false, total: 4, omitted: 1, truncated: true, packetsDiffering: 3, packets: { expected: 20, actual: 20 } });
  });

  it('from stdin too', async () => {
    await ready;
    const r = capflow(['diff', goldenFile, '-'], { input: readFileSync(actualFile) });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('#5 missing in ACTUAL');
    expect(r.stdout).toContain('#17 extra in ACTUAL');
  });

  it("the vitest matcher's message", async () => {
    await ready;
    await expect(expect(actualFile).toMatchPcap(goldenFile, { update: false })).rejects.toThrow(/#5 missing in ACTUAL[^]*#10 \(ACTUAL #9\) ipv4\.ttl[^]*#17 extra in ACTUAL/);
  });
});

const python = toolGate('python3');

describe.skipIf(!haveBuild || python.skip)(`diff --max 0 on a large capture streams its report${python.label}`, () => {
  const N = 60_000;
  const big = join(dir, 'big.pcap');
  const changed = join(dir, 'changed.pcap');
  const made = (async () => {
    const frames = [tcpFrame({ seq: 1 }), tcpFrame({ seq: 1, ttl: 63 })];
    await writeCapture(big, Array.from({ length: N }, (_, i) => ({ frame: frames[0]!, sec: 1_700_000_000 + i })));
    await writeCapture(changed, Array.from({ length: N }, (_, i) => ({ frame: frames[1]!, sec: 1_700_000_000 + i })));
  })();
  // Each packet differs in ipv4.ttl and ipv4.checksum, with a hex context: 120,000 listed
  // differences, about 25 MB of text.
  const LIMIT_KB = 200 * 1024;

  it("text: peak RSS below 200 MB, every difference printed", { timeout: 240_000 }, async () => {
    await made;
    const out = join(dir, 'report.txt');
    const r = capflowPeakRss(['diff', big, changed, '--max', '0'], out);
    expect(r.status, r.stderr).toBe(1);
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith(`differ: ${2 * N} differences in ${N} packets (EXPECTED ${N} packets, ACTUAL ${N} packets)\nnote: comments not compared: EXPECTED is a pcap file, which cannot hold them\n`)).toBe(true);
    expect(text.split('\n').filter((l) => l.startsWith('#')).length).toBe(2 * N);
    console.log(`[diff --max 0] text report of ${2 * N} differences: peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB`);
    expect(r.maxRssKb).toBeLessThan(LIMIT_KB);
  });

  it("--json: peak RSS below 200 MB, a complete JSON document", { timeout: 240_000 }, async () => {
    await made;
    const out = join(dir, 'report.json');
    const r = capflowPeakRss(['diff', big, changed, '--max', '0', '--json'], out);
    expect(r.status, r.stderr).toBe(1);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.differences).toHaveLength(2 * N);
    expect(doc).toMatchObject({ equal: false, total: 2 * N, truncated: false, omitted: 0, packetsDiffering: N });
    console.log(`[diff --max 0] JSON report of ${2 * N} differences: peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB`);
    expect(r.maxRssKb).toBeLessThan(LIMIT_KB);
  });
});
