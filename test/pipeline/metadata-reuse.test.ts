/**
 * Reused tunnel metadata against the general path, same metadata and same bytes out:
 *
 * - a pipeline with `recycleBuffers` (the run loop) gives vxlan-decap metadata objects from a
 *   pool it recycles once every packet in flight is written (TunnelInfoPool): never one object
 *   for two packets in flight, nothing of an earlier packet left in a reused one;
 * - TunnelInfo.writeComment formats a tunnel's comment once and copies its bytes around the
 *   source port for the next packets of that tunnel (templates kept per tunnel).
 *
 * The general path: a Pipeline without recycleBuffers (fresh metadata per packet), every output
 * packet kept until all are written, the writer fed the comment texts (toComment) as strings.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Packet } from '../../pipeline/packet.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { parseStageSpec, resolvePipeline } from '../../pipeline/config.js';
import { TUNNEL, TunnelInfo, TunnelInfoPool } from '../../pipeline/metadata.js';
import { openCapture } from '../../pipeline/pcap/reader.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { outputComments } from '../../pipeline/comments.js';
import { buildPcap } from '../helpers/pcap-build.js';
import { withTempDir } from '../helpers/pcap-collect.js';
import { ETH_P_IP, type VxlanFrameOpts, eth, ipv4, udp, vxlanFrame } from '../kernel/frames.js';
import { MAC_IN_DST, MAC_IN_SRC, innerTcp4, innerUdp4, innerUdp6, withVlan } from '../stages/vxlan-frames.js';
import { capflow, haveBuild } from '../cli/built-cli.js';

const MACS = { srcMac: '02:00:00:00:0a:01', dstMac: '02:00:00:00:0b:01' };
const I_FLAG = 0x08000000;
const G_FLAG = 0x80000000;
const A_FLAG = 0x00080000;

/** Every field of the metadata, addresses over all 16 bytes (what a reused object must not keep). */
function fields(t: TunnelInfo | null): unknown {
  if (!t) return null;
  return { vni: t.vni, flags: t.flags, ipv6: t.ipv6, src: [...t.src], dst: [...t.dst], tos: t.tos, ttl: t.ttl, label: t.label, tpSrc: t.tpSrc, tpDst: t.tpDst, gbp: t.gbp, tx: t.tx };
}

/** Every field set to something a fresh TunnelInfo does not have. */
function dirty(t: TunnelInfo): void {
  t.vni = 0xabcdef;
  t.flags = TUNNEL.CSUM | TUNNEL.DONT_FRAGMENT | TUNNEL.OAM | TUNNEL.VXLAN_OPT;
  t.ipv6 = true;
  t.src.fill(0xaa);
  t.dst.fill(0xbb);
  t.tos = 0xff;
  t.ttl = 3;
  t.label = 0xfffff;
  t.tpSrc = 1;
  t.tpDst = 2;
  t.gbp = 0x1234;
  t.tx = true;
}

/** VXLAN frame `i` of a mix of tunnels: IPv4/IPv6 outer, GBP, UDP checksums, DF, TOS, labels, VLAN tags. */
function tunnelFrame(i: number): Buffer {
  const sport = 1 + ((i * 7919) % 65535);
  const k = i % 9;
  const v4: VxlanFrameOpts = { ...MACS, underlay: 'ipv4', src: `192.0.2.${1 + (k % 3)}`, dst: `198.51.100.${1 + (i % 5)}`, vni: 100 + (i % 4), sport, ttl: 64, id: i & 0xffff };
  const v6: VxlanFrameOpts = { ...MACS, underlay: 'ipv6', src: '2001:db8::1', dst: `2001:db8:0:${i % 3}::2`, vni: 7, sport, ttl: 60, flowLabel: (i * 4099) & 0xfffff, udpCsum: 'valid' };
  switch (k) {
    case 0:
      return vxlanFrame({ ...v4, df: true }, innerUdp4({ len: 1 + (i % 300) }));
    case 1:
      return vxlanFrame({ ...v4, df: false, udpCsum: 'valid', tos: 0x28 }, innerTcp4({ len: 10 + (i % 200) }));
    case 2:
      return vxlanFrame({ ...v4, word0: (I_FLAG | G_FLAG | A_FLAG | (i & 0xffff)) >>> 0 }, innerUdp4());
    case 3:
      return vxlanFrame(v6, innerUdp6({ len: 8 + (i % 100) }));
    case 4:
      return vxlanFrame({ ...v6, word0: (I_FLAG | G_FLAG | 0x77) >>> 0, tos: 0xb8 }, innerTcp4());
    case 5:
      return withVlan(vxlanFrame({ ...v4, ttl: 1 + (i % 255) }, innerUdp4()), 100);
    case 6:
      // An inner IPv4 datagram beyond the MTU, DF clear: the default egress fragments it, every
      // fragment with the one metadata of its packet.
      return vxlanFrame({ ...v4, vni: 9 }, bigDatagram(3000 + (i % 50)));
    case 7:
      // Not VXLAN: no metadata (a packet after one with metadata must not get any).
      return innerUdp4({ len: 20 + (i % 30) });
    default:
      return vxlanFrame({ ...v4, dport: 8472 }, innerUdp4());
  }
}

/** An inner IPv4/UDP datagram of `len` payload bytes, DF clear. */
function bigDatagram(len: number): Buffer {
  const pay = Buffer.alloc(len, 0x5a);
  return eth(MAC_IN_DST, MAC_IN_SRC, ETH_P_IP, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, df: false, id: 77 }, udp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 7, dport: 9 }, pay)));
}

/** An MTU applies to every packet (egress.mtu): the big inner datagrams are fragmented. */
const DECAP = ['vxlan-decap:gbp=true,ports=[4789,8472]', 'gso:mtu=1500'];

function decapConfig() {
  return resolvePipeline({}, '--stage', { extraStages: DECAP.map((s) => parseStageSpec(s)), extraSpecs: DECAP });
}

/** The frame as a packet in a buffer of its own (16 bytes of headroom, as a pcap record). */
function packetOf(frame: Buffer): Packet {
  const chunk = new Uint8Array(16 + frame.length);
  chunk.set(frame, 16);
  return new Packet(chunk, 16, chunk.length, frame.length);
}

describe('TunnelInfoPool', () => {
  it('never hands out an object twice before recycle(); after it, the same objects, each as a new TunnelInfo', () => {
    const pool = new TunnelInfoPool();
    const first = Array.from({ length: 50 }, () => pool.take());
    expect(new Set(first).size).toBe(50);
    for (const t of first) dirty(t);
    pool.recycle();
    const again = Array.from({ length: 60 }, () => pool.take());
    expect(new Set(again).size).toBe(60);
    expect(again.slice(0, 50)).toEqual(expect.arrayContaining(first));
    for (const t of again) expect(fields(t)).toEqual(fields(new TunnelInfo()));
  });
});

describe('Pipeline recycleBuffers: vxlan-decap metadata', () => {
  it('packets in flight together each keep their own metadata; a recycled object keeps nothing of its last packet', () => {
    const pool = new Pipeline(decapConfig(), { recycleBuffers: true });
    const fresh = new Pipeline(decapConfig());
    const frames = Array.from({ length: 40 }, (_, i) => tunnelFrame(i));
    const expected = frames.map((f) => {
      const out: Packet[] = [];
      fresh.process(packetOf(f), out);
      return out.map((p) => fields(p.tunnel));
    });

    // Without recycleBuffers() between them (one input packet's worth in flight, and more):
    // distinct objects, each with its own packet's fields.
    const held: Packet[][] = frames.map((f) => {
      const out: Packet[] = [];
      pool.process(packetOf(f), out);
      return out;
    });
    expect(held.map((out) => out.map((p) => fields(p.tunnel)))).toEqual(expected);
    const objects = new Set(held.flat().map((p) => p.tunnel).filter((t) => t !== null));
    const withMetadata = held.filter((out) => out[0]?.tunnel).length;
    expect(objects.size).toBe(withMetadata);
    // Fragments of one packet share its metadata (the kernel's skb clones share the dst).
    const fragmented = held.find((out) => out.length > 1)!;
    expect(fragmented.every((p) => p.tunnel === fragmented[0]!.tunnel)).toBe(true);

    // After recycling, the objects come back: in reverse order (IPv4 after IPv6, no GBP after
    // GBP, ...) they must carry nothing over.
    pool.recycleBuffers();
    const reversed = [...frames].reverse();
    const again = reversed.map((f) => {
      const out: Packet[] = [];
      pool.process(packetOf(f), out);
      pool.recycleBuffers();
      return out.map((p) => fields(p.tunnel));
    });
    expect(again).toEqual([...expected].reverse());
  });

  it('without recycleBuffers (the library: callers keep packets), every packet gets metadata of its own', () => {
    const p = new Pipeline(decapConfig());
    const out: Packet[] = [];
    for (let i = 0; i < 30; i++) p.process(packetOf(tunnelFrame(i * 9)), out);
    p.recycleBuffers(); // a no-op here
    const more: Packet[] = [];
    for (let i = 0; i < 30; i++) p.process(packetOf(tunnelFrame(i * 9 + 3)), more);
    const ts = [...out, ...more].map((q) => q.tunnel);
    expect(new Set(ts).size).toBe(ts.length);
    expect(out.map((q) => q.tunnel!.ipv6)).toEqual(out.map(() => false));
    expect(out.every((q) => q.tunnel!.src.subarray(4).every((b) => b === 0))).toBe(true);
  });
});

describe('TunnelInfo.writeComment templates: the bytes of toComment()', () => {
  function written(t: TunnelInfo, at: number): string {
    const buf = new Uint8Array(at + t.maxCommentBytes + 8).fill(0xee);
    const end = t.writeComment(buf, at);
    expect(buf[end]).toBe(0xee);
    return Buffer.from(buf.subarray(at, end)).toString('latin1');
  }

  function tunnel(i: number): TunnelInfo {
    const t = new TunnelInfo();
    t.vni = i % 97;
    t.ipv6 = i % 3 === 0;
    const n = t.ipv6 ? 16 : 4;
    for (let j = 0; j < n; j++) {
      t.src[j] = (i * 31 + j) & 0xff;
      t.dst[j] = j === n - 1 ? i & 0xff : 0;
    }
    t.flags = TUNNEL.KEY | (i % 2 ? TUNNEL.CSUM : 0) | (i % 5 === 0 ? TUNNEL.DONT_FRAGMENT : 0) | (i % 7 === 0 ? TUNNEL.VXLAN_OPT : 0);
    t.gbp = (i * 0x1357) & 0xffffff;
    t.label = t.ipv6 ? (i * 0x2468) & 0xfffff : 0;
    t.tos = (i * 4) & 0xff;
    t.ttl = 1 + (i % 255);
    t.tpDst = i % 4 ? 4789 : 8472;
    t.tx = i % 11 === 0;
    return t;
  }

  it('hundreds of interleaved tunnels (more than the templates), source ports of 1 to 5 digits', () => {
    const tunnels = Array.from({ length: 300 }, (_, i) => tunnel(i));
    const ports = [0, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535, 4789, 49152];
    let seed = 12345;
    for (let n = 0; n < 20_000; n++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      // Mostly a few busy tunnels back to back, now and then any of them.
      const t = tunnels[seed % 8 === 0 ? (seed >>> 8) % tunnels.length : (seed >>> 8) % 6]!;
      t.tpSrc = n % 3 === 0 ? ports[(seed >>> 4) % ports.length]! : (seed >>> 12) & 0xffff;
      expect(written(t, n % 5)).toBe(t.toComment());
    }
  });

  it('metadata changed in place between writes is seen (the template keeps its own copy of the fields)', () => {
    const t = tunnel(4);
    t.tpSrc = 1234;
    expect(written(t, 1)).toBe(t.toComment());
    // tx is not part of the template's slot: only the field-by-field check tells the texts apart.
    t.tx = !t.tx;
    t.tpSrc = 4321;
    expect(written(t, 1)).toBe(t.toComment());
    t.tx = !t.tx;
    expect(written(t, 2)).toBe(t.toComment());
    // Any printed field: a changed address byte, flag, label, GBP value.
    t.src[3] ^= 1;
    expect(written(t, 0)).toBe(t.toComment());
    t.flags ^= TUNNEL.OAM;
    expect(written(t, 0)).toBe(t.toComment());
    t.flags |= TUNNEL.VXLAN_OPT;
    t.gbp = 5;
    expect(written(t, 0)).toBe(t.toComment());
    t.gbp = 6;
    expect(written(t, 0)).toBe(t.toComment());
    // Bytes beyond an IPv4 address are not printed: the same text either way.
    const before = written(t, 0);
    t.src[9] = 0x55;
    expect(written(t, 0)).toBe(before);
    expect(written(t, 0)).toBe(t.toComment());
  });

  it('a template is not taken from an object a pool reuses: the next packet of another tunnel gets its own text', () => {
    const pool = new TunnelInfoPool();
    const texts: string[] = [];
    for (let i = 0; i < 200; i++) {
      const t = pool.take();
      const src = tunnel(i % 13);
      t.copyFrom(src);
      t.tpSrc = i * 311;
      texts.push(written(t, i & 3));
      expect(texts[i]).toBe(src.clone().toComment().replace(/tpSrc=\d+/, `tpSrc=${i * 311}`));
      pool.recycle();
    }
  });
});

describe.skipIf(!haveBuild)('capflow run --stage vxlan-decap to pcapng: reused metadata, the general path\'s file', () => {
  it('interleaved tunnels, fragments, non-VXLAN packets: byte for byte the file of fresh metadata and comment texts', async () => {
    await withTempDir(async (dir) => {
      const input = join(dir, 'in.pcap');
      const frames = Array.from({ length: 3000 }, (_, i) => tunnelFrame(i));
      // Every 10th record captured with a snaplen of 100..131 bytes (outer, VXLAN and inner Ethernet kept).
      const records = frames.map((f, i) => ({ sec: 1_700_000_000 + i, frac: i, data: i % 10 === 4 ? f.subarray(0, 100 + (i % 32)) : f, origLen: f.length }));
      await writeFile(input, buildPcap({ le: true, snapLen: 262144, records }));

      const fast = join(dir, 'fast.pcapng');
      const r = capflow(['run', input, '-o', fast, ...DECAP.flatMap((s) => ['--stage', s])]);
      expect(r.stderr).toMatch(/3000 in, 3000 forwarded, 0 dropped/);
      expect(r.status).toBe(0);

      // The general path.
      const general = join(dir, 'general.pcapng');
      const pipeline = new Pipeline(decapConfig());
      const reader = await openCapture(input, { name: input });
      const all: Packet[] = [];
      for await (const batch of reader.batches()) for (const p of batch) pipeline.process(p, all);
      pipeline.flush(all);
      expect(all.length).toBeGreaterThan(3000);
      const w = await createFileWriter(general, { format: 'pcapng', nanosecond: reader.nanosecond });
      const id = w.addInterface(reader.interfaces[0]!);
      for (const p of all) w.write(p, id, outputComments(p));
      await w.close();

      const [a, b] = await Promise.all([readFile(fast), readFile(general)]);
      expect(a.length).toBe(b.length);
      expect(a.equals(b)).toBe(true);
    });
  });
});
