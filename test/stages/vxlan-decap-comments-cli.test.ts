/**
 * The built binary's vxlan-decap to pcapng: every packet's tunnel comment (written from the
 * metadata's fields) is the contract text of the metadata the outer headers carry, and the file
 * is byte for byte what the writer makes of those texts as strings (the general path). Metadata
 * of every kind: IPv4 and IPv6 outer, DF, TOS/TTL, ports, UDP checksum, GBP, outer VLAN tags,
 * snaplen-truncated frames, flows repeating back to back and interleaved.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type VxlanFrameOpts, vxlanFrame } from '../kernel/frames.js';
import { TunnelInfo } from '../../pipeline/metadata.js';
import { createStreamWriter } from '../../pipeline/pcap/writer.js';
import { collect } from '../helpers/pcap-collect.js';
import { buildPcap } from '../helpers/pcap-build.js';
import { innerTcp4, innerUdp4, innerUdp6, withVlan } from './vxlan-frames.js';

const built = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');
const haveBuild = existsSync(built);
if (!haveBuild && process.env.CI === 'true') throw new Error('dist/ is missing: npm install builds it (prepare)');
if (!haveBuild) console.warn('[vxlan-decap comment CLI tests skipped] dist/ is not built (npm run build)');

const MACS = { srcMac: '02:00:00:00:0a:01', dstMac: '02:00:00:00:0b:01' };
const V4: VxlanFrameOpts = { ...MACS, underlay: 'ipv4', src: '192.0.2.1', dst: '192.0.2.2', vni: 42, sport: 50000, ttl: 64, id: 0x1234 };
const V6: VxlanFrameOpts = { ...MACS, underlay: 'ipv6', src: '2001:db8::1', dst: '2001:db8:0:0:1::2', vni: 77, sport: 50001, ttl: 60, flowLabel: 0x54321, udpCsum: 'valid' };
const I_FLAG = 0x08000000;
const G_FLAG = 0x80000000;
const D_FLAG = 0x00400000;

/** A little-endian µs pcap; `capLens[i]` cuts record i (snaplen-truncated capture). */
function writePcap(path: string, frames: Buffer[], capLens: (number | undefined)[] = []): void {
  const records = frames.map((f, i) => ({ sec: 1_700_000_000 + i, frac: i * 7, data: f.subarray(0, Math.min(capLens[i] ?? f.length, f.length)), origLen: f.length }));
  writeFileSync(path, buildPcap({ le: true, snapLen: 262144, records }));
}

/** Each input frame and the comment its decapsulated packet must carry (written by hand). */
const cases: { frame: Buffer; capLen?: number; comment: string }[] = [
  { frame: vxlanFrame({ ...V4, df: true }, innerUdp4()), comment: 'tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=50000 tpDst=4789 flags=key,df' },
  { frame: vxlanFrame({ ...V4, df: false, id: 2 }, innerTcp4()), comment: 'tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=50000 tpDst=4789 flags=key' },
  { frame: vxlanFrame({ ...V4, df: true, udpCsum: 'valid', tos: 0x28, ttl: 1, sport: 9 }, innerUdp6()), comment: 'tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x28 ttl=1 tpSrc=9 tpDst=4789 flags=key,csum,df' },
  {
    frame: vxlanFrame({ ...V4, src: '203.0.113.255', dst: '198.51.100.10', vni: 16777215, tos: 0xfe, ttl: 255, sport: 65535, dport: 8472, df: false }, innerUdp4({ tos: 0x02 })),
    comment: 'tunnel vni=16777215 src=203.0.113.255 dst=198.51.100.10 tos=0xfe ttl=255 tpSrc=65535 tpDst=8472 flags=key',
  },
  { frame: vxlanFrame({ ...V4, vni: 0, word0: (I_FLAG | G_FLAG | D_FLAG | 0xbeef) >>> 0 }, innerUdp4()), comment: 'tunnel vni=0 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=50000 tpDst=4789 gbp=0x40beef flags=key,df,vxlan-opt' },
  { frame: vxlanFrame({ ...V4, vni: 5, word0: (I_FLAG | G_FLAG) >>> 0 }, innerUdp4()), comment: 'tunnel vni=5 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=50000 tpDst=4789 gbp=0x000000 flags=key,df,vxlan-opt' },
  { frame: vxlanFrame(V6, innerTcp4()), comment: 'tunnel vni=77 src=2001:db8::1 dst=2001:db8::1:0:0:2 tos=0x00 ttl=60 tpSrc=50001 tpDst=4789 label=0x54321 flags=key,csum' },
  {
    frame: vxlanFrame({ ...V6, src: '2001:db8:1:0:0:1:0:0', dst: '2001:db8::', tos: 0xb9, ttl: 255, flowLabel: 0, sport: 1, word0: (I_FLAG | G_FLAG | 0x12) >>> 0 }, innerUdp6()),
    comment: 'tunnel vni=77 src=2001:db8:1::1:0:0 dst=2001:db8:: tos=0xb9 ttl=255 tpSrc=1 tpDst=4789 label=0x00000 gbp=0x000012 flags=key,csum,vxlan-opt',
  },
  // Outer VLAN tags: the metadata is the same as untagged.
  { frame: withVlan(vxlanFrame({ ...V4, df: true, sport: 40000 }, innerUdp4()), 100), comment: 'tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=40000 tpDst=4789 flags=key,df' },
  { frame: withVlan(withVlan(vxlanFrame(V6, innerUdp4()), 0), 0, 0x88a8), comment: 'tunnel vni=77 src=2001:db8::1 dst=2001:db8::1:0:0:2 tos=0x00 ttl=60 tpSrc=50001 tpDst=4789 label=0x54321 flags=key,csum' },
  // Snaplen-truncated: outer, VXLAN and inner Ethernet headers captured (UDP checksum 0: nothing to verify).
  { frame: vxlanFrame({ ...V4, sport: 50002 }, innerUdp4({ len: 600 })), capLen: 14 + 20 + 16 + 14 + 10, comment: 'tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=50002 tpDst=4789 flags=key,df' },
];

describe.skipIf(!haveBuild)('capflow run --stage vxlan-decap to pcapng: tunnel comments (built binary)', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'capflow-decap-comments-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('each packet carries the contract text of its metadata; the file equals the writer fed those texts', async () => {
    // Every case twice back to back (same metadata in a row), then the whole list again (interleaved).
    const order = [...cases.flatMap((c) => [c, c]), ...cases];
    const input = join(dir, 'in.pcap');
    const output = join(dir, 'out.pcapng');
    writePcap(input, order.map((c) => c.frame), order.map((c) => c.capLen));
    const r = spawnSync(process.execPath, [built, 'run', input, '-o', output, '--stage', 'vxlan-decap:gbp=true'], { encoding: 'utf8' });
    expect(r.stderr).toContain(`${order.length} in, ${order.length} forwarded, 0 dropped`);
    expect(r.status).toBe(0);

    const bytes = readFileSync(output);
    const back = await collect(bytes);
    expect(back.error).toBeNull();
    expect(back.packets.map((p) => p.comments)).toEqual(order.map((c) => [c.comment]));
    for (const p of back.packets) expect(TunnelInfo.fromComment(p.comments![0]!)!.toComment()).toBe(p.comments![0]);

    // The same packets and texts through the writer's string path: the same file, byte for byte.
    const parts: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        parts.push(Buffer.from(chunk));
        cb();
      },
    });
    const w = createStreamWriter(sink, { format: 'pcapng' });
    for (const iface of back.reader!.interfaces) w.addInterface(iface);
    for (const p of back.packets) w.write(p, p.iface, p.comments);
    await w.close();
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });
});
