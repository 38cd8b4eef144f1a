/**
 * The built capflow binary over VXLAN captures: received metadata keeps the outer DF bit, so
 * decap → encap gives back the input frames; after vxlan-encap the packet carries no metadata,
 * so a second vxlan-encap changes nothing; the `vlans` option of vxlan-decap.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readPcap, vxlanFrame, writePcap, type VxlanFrameOpts } from '../kernel/frames.js';
import { readPackets } from '../../pipeline/pcap/index.js';
import { innerTcp4, innerUdp4, innerUdp6, withVlan } from './vxlan-frames.js';
import { tsharkCheck } from '../kernel/tshark.js';
import { toolGate } from '../cli/cli-helpers.js';

const built = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');
const haveBuild = existsSync(built);
if (!haveBuild && process.env.CI === 'true') throw new Error('dist/ is missing: npm install builds it (prepare)');
if (!haveBuild) console.warn('[vxlan metadata CLI tests skipped] dist/ is not built (npm run build)');

const OUTER_A = '02:00:00:00:0a:01';
const OUTER_B = '02:00:00:00:0b:01';
const V4: VxlanFrameOpts = { underlay: 'ipv4', srcMac: OUTER_A, dstMac: OUTER_B, src: '192.0.2.1', dst: '192.0.2.2', vni: 42, sport: 50000, ttl: 64, id: 0x1234 };
const V6: VxlanFrameOpts = { underlay: 'ipv6', srcMac: OUTER_A, dstMac: OUTER_B, src: '2001:db8::1', dst: '2001:db8::2', vni: 77, sport: 50001, ttl: 60, flowLabel: 0x54321, udpCsum: 'valid' };
const ENCAP = `vxlan-encap:outerEth.src=${OUTER_A},outerEth.dst=${OUTER_B}`;

function capflow(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [built, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function comments(path: string): Promise<string[][]> {
  const out: string[][] = [];
  for await (const p of readPackets(path, { name: path })) out.push(p.comments ?? []);
  return out;
}

/** Every record's bytes (hex) and comments. */
async function records(path: string): Promise<{ data: string; comments: string[] }[]> {
  const out: { data: string; comments: string[] }[] = [];
  for await (const p of readPackets(path, { name: path })) out.push({ data: Buffer.from(p.data).toString('hex'), comments: p.comments ?? [] });
  return out;
}

/** The frame with the outer IPv4 ID, the outer UDP source port and the checksums over them zeroed. */
function masked(frame: Buffer): string {
  const b = Buffer.from(frame);
  const v4 = b.readUInt16BE(12) === 0x0800;
  const u = v4 ? 34 : 54;
  if (v4) {
    b.writeUInt16BE(0, 18);
    b.writeUInt16BE(0, 24);
  }
  b.writeUInt16BE(0, u);
  b.writeUInt16BE(b.readUInt16BE(u + 6) === 0 ? 0 : 1, u + 6);
  return b.toString('hex');
}

describe.skipIf(!haveBuild)('capflow run: VXLAN metadata across decap and encap (built binary)', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'capflow-vxmeta-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const inputs = () => [
    vxlanFrame({ ...V4, df: true }, innerUdp4()),
    vxlanFrame({ ...V4, df: false, id: 0x1235 }, innerTcp4()),
    vxlanFrame({ ...V4, df: true, udpCsum: 'valid', tos: 0x28 }, innerUdp6()),
    vxlanFrame({ ...V4, df: false, udpCsum: 'valid', ttl: 9 }, innerUdp4({ len: 300 })),
    vxlanFrame(V6, innerTcp4()),
  ];

  it('decap → encap with the received metadata gives back the input frames, outer DF set or clear', () => {
    const input = join(dir, 'in.pcap');
    const frames = inputs();
    writePcap(input, frames);
    // In one run…
    const once = join(dir, 'once.pcap');
    let r = capflow(['run', input, '-o', once, '--stage', 'vxlan-decap', '--stage', ENCAP]);
    expect(r.status, r.stderr).toBe(0);
    // …and in two, the metadata travelling in the pcapng comment (flags=key,df).
    const mid = join(dir, 'mid.pcapng');
    r = capflow(['run', input, '-o', mid, '--stage', 'vxlan-decap']);
    expect(r.status, r.stderr).toBe(0);
    const twice = join(dir, 'twice.pcap');
    r = capflow(['run', mid, '-o', twice, '--stage', ENCAP]);
    expect(r.status, r.stderr).toBe(0);
    for (const out of [once, twice]) {
      const got = readPcap(out).records.map((x) => x.data);
      expect(got.length).toBe(frames.length);
      got.forEach((g, i) => {
        expect(masked(g), `${out} frame ${i}`).toBe(masked(frames[i]!));
        if (i < 4) expect((g.readUInt16BE(20) & 0x4000) !== 0, `frame ${i} DF`).toBe(i % 2 === 0);
      });
    }
    return comments(mid).then((cs) => {
      expect(cs.map((c) => c.join('|').replace(/^.* flags=/, ''))).toEqual(['key,df', 'key', 'key,csum,df', 'key,csum', 'key,csum']);
    });
  });

  it('vxlan-encap leaves no tunnel metadata: its output has no tunnel comment and a second vxlan-encap changes nothing', async () => {
    const input = join(dir, 'in.pcap');
    const frames = inputs();
    writePcap(input, frames);
    const mid = join(dir, 'mid.pcapng');
    expect(capflow(['run', input, '-o', mid, '--stage', 'vxlan-decap']).status).toBe(0);
    const first = join(dir, 'first.pcapng');
    const r = capflow(['run', mid, '-o', first, '--stage', ENCAP]);
    expect(r.status, r.stderr).toBe(0);
    expect((await comments(first)).flat().filter((c) => c.startsWith('tunnel '))).toEqual([]);
    // Again over its own output: the same packets, bytes and comments.
    const again = join(dir, 'again.pcapng');
    const r2 = capflow(['run', first, '-o', again, '--stage', ENCAP, '--json']);
    expect(r2.status, r2.stderr).toBe(0);
    expect(JSON.parse(r2.stdout)).toMatchObject({ forwarded: frames.length, dropped: 0 });
    const [a, b] = [await records(first), await records(again)];
    expect(b.length).toBe(frames.length);
    expect(b).toEqual(a);
    const info = JSON.parse(capflow(['info', first, '--json']).stdout) as { tunnelMetadata: number };
    expect(info.tunnelMetadata).toBe(0);
  });

  it('vxlan-decap vlans: other VIDs are dropped as vlan-not-local; the tag leaves no trace', () => {
    const input = join(dir, 'in.pcap');
    const f = vxlanFrame(V4, innerUdp4());
    writePcap(input, [withVlan(f, 100), withVlan(f, 200), f, withVlan(f, 0), withVlan(withVlan(f, 100), 7, 0x88a8)]);
    const out = join(dir, 'out.pcapng');
    const r = capflow(['run', input, '-o', out, '--stage', 'vxlan-decap:vlans=[100]', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { forwarded: number; drops: Record<string, number> };
    expect(s.forwarded).toBe(3);
    expect(s.drops).toEqual({ 'vlan-not-local': 2 });
    return comments(out).then((cs) => {
      expect(new Set(cs.map((c) => c.join('|'))).size).toBe(1);
      expect(cs[0]![0]).toBe('tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=50000 tpDst=4789 flags=key,df');
    });
  });

  it('a bad vlans value is a usage error (exit 2) and leaves no output', () => {
    const input = join(dir, 'in.pcap');
    writePcap(input, [vxlanFrame(V4, innerUdp4())]);
    const out = join(dir, 'out.pcapng');
    const r = capflow(['run', input, '-o', out, '--stage', 'vxlan-decap:vlans=[4095]']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/vlans/);
    expect(existsSync(out)).toBe(false);
  });
});

const tshark = toolGate('tshark');

describe.skipIf(!haveBuild || tshark.skip)(`capflow run: checksum fix inside VXLAN (built binary, tshark)${tshark.label}`, () => {
  it('gso checksum.fix computes a zero UDP checksum of an IPv6 packet inside VXLAN; UDP over IPv4 keeps its zero', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-vxfix-'));
    try {
      const zero = (f: Buffer, l4: number) => {
        f.writeUInt16BE(0, l4 + 6);
        return f;
      };
      const input = join(dir, 'in.pcap');
      // Inner IPv6/UDP with checksum 0 (illegal over IPv6), under IPv4 and IPv6 outers; inner IPv4/UDP 0 (legal).
      writePcap(input, [vxlanFrame(V4, zero(innerUdp6(), 14 + 40)), vxlanFrame(V6, zero(innerUdp6(), 14 + 40)), vxlanFrame(V6, zero(innerUdp4({ sport: 5000, dport: 6000 }), 14 + 20))]);
      const before = tsharkCheck(input, ['udp.check_checksum:TRUE']);
      expect(before.experts.filter((e) => /Illegal checksum value \(0\)/.test(e)).length).toBe(2);
      const out = join(dir, 'out.pcap');
      const r = capflow(['run', input, '-o', out, '--stage', 'gso:checksum={fix: true}']);
      expect(r.status, r.stderr).toBe(0);
      const rep = tsharkCheck(out, ['udp.check_checksum:TRUE', 'ip.check_checksum:TRUE']);
      expect(rep.count).toBe(3);
      expect(rep.malformed, rep.experts.join(' / ')).toEqual([]);
      for (const e of rep.experts) expect(e).not.toMatch(/Illegal checksum|bad checksum|incorrect/i);
      const recs = readPcap(out).records.map((x) => x.data);
      expect(recs[0]!.readUInt16BE(50 + 14 + 40 + 6)).not.toBe(0);
      expect(recs[1]!.readUInt16BE(70 + 14 + 40 + 6)).not.toBe(0);
      expect(recs[2]!.readUInt16BE(70 + 14 + 20 + 6)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
