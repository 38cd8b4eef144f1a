/**
 * Frames longer than the diff's first scratch buffer (2 KB: TSO super-packets, jumbo frames).
 * A packet's identity is the hash of its masked frame; the masking may move the frame into a
 * larger buffer, and the hash must be taken of that one. It was taken of the old one for the first
 * long frame of a run, so the same packet got two identities: a file compared with its own copy
 * had "#4 extra" and "#4 missing" (--unordered), and a missing packet next to a long one was
 * compared field by field with its neighbour. Through the binary, on the bundled TSO capture.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withTempDir } from './captures.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tso = join(root, 'samples', 'tso-host.pcap');
const built = join(root, 'dist', 'cli', 'main.js');
const haveBuild = existsSync(built);
if (!haveBuild && process.env.CI === 'true') throw new Error('dist/ is missing: npm install builds it (prepare)');
if (!haveBuild) console.warn('[long-frame diff tests skipped] dist/ is not built (npm run build)');
const runCli = async (args: string[]) => spawnSync(process.execPath, [built, ...args], { encoding: 'utf8' });

/** The capture's little-endian pcap records, header apart. */
function records(file: string): { header: Buffer; recs: Buffer[] } {
  const b = readFileSync(file);
  const recs: Buffer[] = [];
  for (let pos = 24; pos + 16 <= b.length; ) {
    const n = 16 + b.readUInt32LE(pos + 8);
    recs.push(b.subarray(pos, pos + n));
    pos += n;
  }
  return { header: b.subarray(0, 24), recs };
}

describe.skipIf(!haveBuild)('capflow diff with frames longer than 2 KB', () => {
  const { header, recs } = records(tso);

  it('the sample has such frames, after short ones', () => {
    const lengths = recs.map((r) => r.readUInt32LE(8));
    expect(lengths.slice(0, 3).every((n) => n < 2048)).toBe(true);
    expect(lengths.some((n) => n > 2048)).toBe(true);
  });

  it('--unordered: a capture and its copy are equal', async () => {
    await withTempDir(async (dir) => {
      const copy = join(dir, 'copy.pcap');
      writeFileSync(copy, readFileSync(tso));
      const r = await runCli(['diff', tso, copy, '--unordered']);
      expect(r.stdout).toMatch(/^equal: EXPECTED 6 packets, ACTUAL 6 packets$/m);
      expect(r.status).toBe(0);
    });
  });

  it('in order: a packet missing before a long one is reported missing, nothing else', async () => {
    await withTempDir(async (dir) => {
      const short = join(dir, 'without-3.pcap');
      writeFileSync(short, Buffer.concat([header, ...recs.filter((_, i) => i !== 2)]));
      for (const extra of [[], ['--unordered']]) {
        const r = await runCli(['diff', tso, short, ...extra]);
        expect(r.status, extra.join(' ')).toBe(1);
        expect(r.stdout.split('\n').filter((l) => l.startsWith('#'))).toEqual(['#3 missing in ACTUAL: 203.0.113.1 → 203.0.113.2 tcp 43210 → 5001, 66 bytes']);
        expect(r.stdout).toContain('differ: 1 difference in 1 packet (EXPECTED 6 packets, ACTUAL 5 packets)');
      }
    });
  });
});
