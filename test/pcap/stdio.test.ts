import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { concat, epb, frame, idb, shb } from '../helpers/pcap-build.js';
import { collect, frameOf } from '../helpers/pcap-collect.js';

const CAT = fileURLToPath(new URL('../helpers/pcap-cat.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function run(args: string[], input: Uint8Array): Promise<{ code: number | null; stdout: Uint8Array; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CAT, ...args], { cwd: ROOT });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: new Uint8Array(Buffer.concat(out)), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(input);
  });
}

describe('stdin → stdout', () => {
  const input = concat(
    shb(false),
    idb(false, { linkType: 1, tsresol: 9 }),
    ...Array.from({ length: 3000 }, (_, i) => epb(false, { iface: 0, ts: BigInt(i) * 1_000_000_001n, data: frame(100 + (i % 900), i), comments: i % 100 ? [] : ['n' + i] })),
  );

  it('copies a gzip-compressed big-endian pcapng from stdin to a pcapng on stdout', async () => {
    const r = await run(['pcapng'], gzipSync(input));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const a = await collect(input);
    const b = await collect(r.stdout);
    expect(b.error).toBeNull();
    expect(b.packets).toHaveLength(3000);
    const view = (ps: typeof a.packets) => ps.map((p) => [p.tsSec, p.tsFrac, p.comments, Buffer.from(frameOf(p)).toString('base64')]);
    expect(view(b.packets)).toEqual(view(a.packets));
  }, 30_000);

  it('writes a gzip pcap to stdout', async () => {
    const r = await run(['pcap', 'gzip'], input);
    expect(r.code).toBe(0);
    expect([r.stdout[0], r.stdout[1]]).toEqual([0x1f, 0x8b]);
    const b = await collect(new Uint8Array(gunzipSync(r.stdout)));
    expect(b.reader!.format).toBe('pcap');
    expect(b.reader!.nanosecond).toBe(true);
    expect(b.packets).toHaveLength(3000);
    expect([b.packets[2999]!.tsSec, b.packets[2999]!.tsFrac]).toEqual([2999, 2999]); // 2999 · 1_000_000_001 ns
  }, 30_000);

  it('reports a bad input on stderr with exit status 1', async () => {
    const r = await run(['pcap'], new TextEncoder().encode('not a capture at all'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('<stdin>: offset 0: not a pcap or pcapng capture');
  }, 30_000);
});
