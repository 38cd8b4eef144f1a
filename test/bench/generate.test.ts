/**
 * The benchmark's input generator: deterministic (the same bytes every time), the advertised
 * shapes (4,096 interleaved flows of 1514-byte frames, 1564-byte VXLAN frames, handshakes with
 * MSS then 16–64 KB TSO super-packets with partial checksums), and valid for tshark.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate, HANDSHAKE_MSS, PLAIN_FLOWS, TSO_FLOWS } from './generate.js';
import { toolGate } from '../cli/cli-helpers.js';
import { readPackets } from '../../pipeline/pcap/reader.js';
import { fold, pseudoV4 } from '../../pipeline/wire/checksum.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

async function frames(path: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const p of readPackets(path, { name: path })) out.push(p.data.slice());
  return out;
}

describe('bench input generator', () => {
  it('is deterministic and stops at the size asked for', () => {
    for (const kind of ['plain', 'vxlan', 'tso'] as const) {
      const a = join(dir, `${kind}-a.pcap`);
      const b = join(dir, `${kind}-b.pcap`);
      const ga = generate(kind, a, 1_000_000);
      const gb = generate(kind, b, 1_000_000);
      expect(ga).toEqual(gb);
      expect(sha(a)).toBe(sha(b));
      expect(ga.bytes).toBeGreaterThanOrEqual(1_000_000);
      expect(ga.bytes).toBeLessThan(1_000_000 + 16 + 65_514);
      expect(readFileSync(a).length).toBe(ga.bytes);
    }
  });

  it('plain: 1514-byte frames, every flow once per 4,096 packets; vxlan: the same inside 1564-byte frames', async () => {
    const plain = join(dir, 'plain-shape.pcap');
    generate('plain', plain, 2 * PLAIN_FLOWS * 1530 + 24);
    const f = await frames(plain);
    expect(new Set(f.map((x) => x.length))).toEqual(new Set([1514]));
    // Source address + port identify the flow.
    const key = (x: Uint8Array): string => `${x[29]}:${(x[34]! << 8) | x[35]!}`;
    expect(new Set(f.slice(0, PLAIN_FLOWS).map(key)).size).toBe(PLAIN_FLOWS);
    const vx = join(dir, 'vxlan-shape.pcap');
    generate('vxlan', vx, 100 * 1580);
    const v = await frames(vx);
    expect(new Set(v.map((x) => x.length))).toEqual(new Set([1564]));
    // Outer IPv4 without DF, UDP to 4789 with checksum 0, the inner frame the plain one.
    expect(v[0]![20]! & 0x40).toBe(0);
    expect((v[0]![36]! << 8) | v[0]![37]!).toBe(4789);
    expect((v[0]![40]! << 8) | v[0]![41]!).toBe(0);
    expect(Buffer.compare(v[0]!.subarray(50), f[0]!)).toBe(0);
  });

  it('tso: each flow\'s SYN and SYN-ACK with the MSS, then 16–64 KB super-packets with partial checksums', async () => {
    const tso = join(dir, 'tso-shape.pcap');
    generate('tso', tso, 2_500_000);
    const f = await frames(tso);
    const hs = f.slice(0, 2 * TSO_FLOWS);
    for (const [i, x] of hs.entries()) {
      expect(x[47]).toBe(i % 2 === 0 ? 0x02 : 0x12);
      // MSS option (kind 2, length 4) right after the fixed TCP header.
      expect([x[54], x[55], (x[56]! << 8) | x[57]!]).toEqual([2, 4, HANDSHAKE_MSS]);
    }
    const supers = f.slice(2 * TSO_FLOWS);
    expect(supers.length).toBeGreaterThan(20);
    for (const x of supers) {
      expect(x.length).toBeGreaterThanOrEqual(16384);
      expect(x.length).toBeLessThanOrEqual(65514);
      expect((x[16]! << 8) | x[17]!).toBe(x.length - 14);
      // Partial: the field holds the folded pseudo-header sum over the TCP length.
      expect((x[50]! << 8) | x[51]!).toBe(fold(pseudoV4(x, 26, 30, 6, x.length - 34)));
    }
  });

  const tshark = toolGate('tshark');
  it.skipIf(tshark.skip)(`tshark: no malformed frame, no bad IPv4/TCP checksum in plain and vxlan${tshark.label}`, () => {
    for (const kind of ['plain', 'vxlan'] as const) {
      const path = join(dir, `${kind}-tshark.pcap`);
      const n = generate(kind, path, 150_000).packets;
      const r = spawnSync(
        'tshark',
        ['-n', '-r', path, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', '_ws.malformed'],
        { encoding: 'utf8', maxBuffer: 64 << 20 },
      );
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.length).toBe(n);
      for (const line of lines) {
        const [ip, tcp, malformed] = line.split('|');
        // 1: good (PROTO_CHECKSUM_E_GOOD); a VXLAN frame has the outer and the inner IPv4 status.
        expect(ip!.split(',').every((s) => s === '1')).toBe(true);
        expect(tcp).toBe('1');
        expect(malformed).toBe('');
      }
    }
  });
});
