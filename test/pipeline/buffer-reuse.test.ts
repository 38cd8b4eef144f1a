/**
 * The run loop's buffer reuse (fast paths) against the general path, same bytes out:
 *
 * - a pipeline with `recycleBuffers` carves the buffers stages make (a push beyond the headroom,
 *   segments, fragments) from slabs it reuses after every written packet (packet-slab.ts);
 * - the run loop lends each record the dead bytes of the records written before it in the same
 *   read chunk as headroom, so vxlan-encap's push copies no frame (run.ts).
 *
 * The general path: the library reading without recycled chunks, a Pipeline without
 * recycleBuffers, every output packet kept until all are written. Inputs span several read chunks
 * (records straddle their boundaries) and mix IPv4/IPv6, VLAN/QinQ, IP options, odd lengths,
 * jumbo and snaplen-truncated frames.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PacketSlab } from '../../pipeline/packet-slab.js';
import { HEADROOM, Packet } from '../../pipeline/packet.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { fragmentIpv4 } from '../../pipeline/gso/fragment.js';
import { makeGso } from '../gso/run.js';
import { frame, pattern } from '../gso/build.js';
import { parseStageSpec, resolvePipeline } from '../../pipeline/config.js';
import { openCapture, READ_CHUNK_SIZE } from '../../pipeline/pcap/reader.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { outputComments } from '../../pipeline/comments.js';
import { concat, epb, idb, pcapHeader, pcapRecord, shb } from '../helpers/pcap-build.js';
import { withTempDir } from '../helpers/pcap-collect.js';
import { ETH_P_IP, ETH_P_IPV6, TCP_ACK, eth, inetChecksum, ipv4, ipv6, tcp, udp } from '../kernel/frames.js';
import { withVlan } from '../stages/vxlan-frames.js';
import { capflow, haveBuild } from '../cli/built-cli.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

/** IPv4 header with one 4-byte option (NOP NOP NOP EOL): IHL 6. */
function withIpOptions(frame: Buffer, l3: number): Buffer {
  const hdr = Buffer.from(frame.subarray(l3, l3 + 20));
  const opt = Buffer.from([1, 1, 1, 0]);
  hdr[0] = 0x46;
  hdr.writeUInt16BE(hdr.readUInt16BE(2) + 4, 2);
  hdr.writeUInt16BE(0, 10);
  const full = Buffer.concat([hdr, opt]);
  full.writeUInt16BE(inetChecksum(full), 10);
  return Buffer.concat([frame.subarray(0, l3), full, frame.subarray(l3 + 20)]);
}

/** Frame i of the mix; `capLen` < length for the snaplen-truncated ones. */
function mixedFrame(i: number): { data: Buffer; capLen: number } {
  const len = 1 + ((i * 389) % 1440);
  const payload = Buffer.alloc(len, i & 0xff);
  const v4dst = `203.0.113.${1 + (i % 200)}`;
  let f: Buffer;
  switch (i % 8) {
    case 0:
      f = eth(B, A, ETH_P_IP, ipv4({ src: '198.51.100.1', dst: v4dst, proto: 6 }, tcp({ src: '198.51.100.1', dst: v4dst, sport: 1000 + i, dport: 80, flags: TCP_ACK }, payload)));
      break;
    case 1:
      f = eth(B, A, ETH_P_IPV6, ipv6({ src: '2001:db8::1', dst: `2001:db8:1::${(i % 4000).toString(16)}`, next: 17 }, udp({ src: '2001:db8::1', dst: `2001:db8:1::${(i % 4000).toString(16)}`, sport: 5000, dport: 53 }, payload)));
      break;
    case 2:
      f = withVlan(eth(B, A, ETH_P_IP, ipv4({ src: '198.51.100.2', dst: v4dst, proto: 17 }, udp({ src: '198.51.100.2', dst: v4dst, sport: 7, dport: 9 }, payload))), 100);
      break;
    case 3:
      f = withIpOptions(eth(B, A, ETH_P_IP, ipv4({ src: '198.51.100.3', dst: v4dst, proto: 6 }, tcp({ src: '198.51.100.3', dst: v4dst, sport: 22, dport: 2222, flags: TCP_ACK }, payload))), 14);
      break;
    case 4:
      f = withVlan(withVlan(eth(B, A, ETH_P_IPV6, ipv6({ src: '2001:db8::5', dst: '2001:db8:2::5', next: 6 }, tcp({ src: '2001:db8::5', dst: '2001:db8:2::5', sport: 443, dport: 40000, flags: TCP_ACK }, payload))), 20), 30, 0x88a8);
      break;
    case 5:
      // A jumbo frame now and then: beyond the MTU of the default egress.
      f = eth(B, A, ETH_P_IP, ipv4({ src: '198.51.100.4', dst: v4dst, proto: 17, df: false }, udp({ src: '198.51.100.4', dst: v4dst, sport: 9, dport: 9 }, Buffer.alloc(i % 40 === 5 ? 8000 : len, 7))));
      break;
    case 6:
      // Not IP: passes every stage untouched.
      f = eth(B, A, 0x88b5, payload);
      break;
    default:
      f = eth(B, A, ETH_P_IP, ipv4({ src: '198.51.100.6', dst: '192.0.2.77', proto: 6 }, tcp({ src: '198.51.100.6', dst: '192.0.2.77', sport: 1, dport: 2, flags: TCP_ACK }, payload)));
  }
  // Every 7th frame was captured with a snaplen of 54..117 bytes.
  const capLen = i % 7 === 3 ? Math.min(f.length, 54 + (i % 64)) : f.length;
  return { data: f, capLen };
}

/** A capture of about `bytes` in `format`: pcap records, or pcapng EPBs (some with comments). */
function capture(format: 'pcap' | 'pcapng', bytes: number): Uint8Array {
  const parts: Uint8Array[] = [format === 'pcap' ? pcapHeader({ le: true, snapLen: 262144 }) : concat(shb(true), idb(true, { linkType: 1, snapLen: 262144 }))];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const { data, capLen } = mixedFrame(i);
    const captured = data.subarray(0, capLen);
    const r =
      format === 'pcap'
        ? pcapRecord(true, { sec: 1_700_000_000 + (i >> 10), frac: i & 1023, data: captured, origLen: data.length })
        : epb(true, { iface: 0, ts: BigInt(1_700_000_000_000_000 + i), data: captured, origLen: data.length, comments: i % 11 === 0 ? [`packet ${i}`] : [] });
    parts.push(r);
    size += r.length;
  }
  return concat(...parts);
}

const PIPELINES: Record<string, string[]> = {
  // Outer IPv4 for IPv4 inner, outer IPv6 with UDP checksums for IPv6 inner; jumbo frames stay whole.
  encap: [
    'tunnel-key:rules=[{match: {ipDst: 203.0.113.0/24}, set: {vni: 42, dst: 192.0.2.2}}, {match: {ipDst: 2001:db8::/32}, set: {vni: 7, src: 2001:db8::a, dst: 2001:db8::b, csum: true}}]',
    'vxlan-encap:src=192.0.2.1,outerEth.src=02:00:00:00:00:01,outerEth.dst=02:00:00:00:00:02',
    'gso:mtu=9000',
  ],
  // The default egress: grown frames past MTU 1500 are segmented or fragmented (slab buffers).
  'encap-mtu': ['tunnel-key:rules=[{set: {vni: 5, dst: 192.0.2.9}}]', 'vxlan-encap:src=192.0.2.1'],
  mpls: ['mpls-push:labels=[{label: 100, ttl: 64}, {label: 200, ttl: inherit}]'],
};

/** The general path, into `out`: nothing reused, nothing lent, every packet kept until written. */
async function generalPath(input: string, out: string, format: 'pcap' | 'pcapng', specs: string[]): Promise<void> {
  const config = resolvePipeline({}, '--stage', { extraStages: specs.map((s) => parseStageSpec(s)), extraSpecs: specs });
  const pipeline = new Pipeline(config);
  const reader = await openCapture(input, { name: input });
  const all: Packet[] = [];
  for await (const batch of reader.batches()) for (const p of batch) pipeline.process(p, all);
  pipeline.flush(all);
  const w = await createFileWriter(out, { format, nanosecond: reader.nanosecond });
  const id = w.addInterface({ linkType: 1, snapLen: 262144, tsUnits: reader.interfaces[0]!.tsUnits });
  for (const p of all) w.write(p, id, format === 'pcapng' ? outputComments(p) : null);
  await w.close();
}

describe('PacketSlab', () => {
  it('a shared slab never hands out a region twice', () => {
    const s = new PacketSlab();
    const seen = new Set<string>();
    let lastBuf: Uint8Array | null = null;
    for (let i = 0; i < 600; i++) {
      const off = s.take(HEADROOM + 1000, HEADROOM);
      if (s.buf !== lastBuf) seen.clear();
      lastBuf = s.buf;
      expect(seen.has(`${off}`)).toBe(false);
      seen.add(`${off}`);
      s.recycle(); // a no-op on a shared slab
    }
  });

  it('a recycling slab carves the same memory again after recycle(), headroom zeroed', () => {
    const s = new PacketSlab(true);
    const first = s.take(HEADROOM + 1500, HEADROOM);
    const buf = s.buf;
    buf.fill(0xee, first, first + HEADROOM + 1500);
    // Fill more than one slab, then recycle: the first slab comes back, zeroed where asked.
    for (let i = 0; i < 400; i++) s.take(HEADROOM + 1500, HEADROOM);
    s.recycle();
    const again = s.take(HEADROOM + 1500, HEADROOM);
    const slabs = new Set<ArrayBufferLike>([s.buf.buffer]);
    for (let i = 0; i < 400; i++) {
      s.take(HEADROOM + 1500, HEADROOM);
      slabs.add(s.buf.buffer);
    }
    expect(slabs.has(buf.buffer)).toBe(true);
    expect(s.buf.subarray(again, again + HEADROOM).every((b) => b === 0)).toBe(true);
    // 400 frames of 1.6 KB fill 3 slabs: after recycling no new one is needed.
    expect(slabs.size).toBeLessThanOrEqual(4);
  });

  it('a request above a quarter slab gets a buffer of its own, and the slab goes on after it', () => {
    const s = new PacketSlab(true);
    s.take(100, 0);
    const slab = s.buf;
    expect(s.take(200_000, 16)).toBe(0);
    expect(s.buf.length).toBe(200_000);
    s.recycle();
    s.take(100, 0);
    expect(s.buf).toBe(slab);
  });
});

describe('fragment packet objects', () => {
  it('come from a recycling arena, the same objects again after recycle(), each as new; elsewhere new ones', () => {
    const f = frame({ vlan: [3], ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(4000) });
    const fragments = (arena: PacketSlab | null): Packet[] => {
      const p = Packet.fromBytes(f);
      p.arena = arena;
      p.comments = ['a comment'];
      p.tsSec = 77;
      const got: Packet[] = [];
      expect(fragmentIpv4(p, 1500, (g) => got.push(g))).toBe(3);
      return got;
    };
    const arena = new PacketSlab(true);
    const first = fragments(arena);
    const want = first.map((g) => Buffer.from(g.data).toString('hex'));
    // Leftovers a later user must not see.
    for (const g of first.slice(1)) {
      g.notes = ['stale'];
      g.gsoSize = 99;
      g.layers = {} as Packet['layers'];
    }
    arena.recycle();
    const again = fragments(arena);
    expect(again.slice(1)).toEqual(first.slice(1).map(() => expect.any(Packet)));
    again.slice(1).forEach((g, i) => expect(g).toBe(first[i + 1]));
    expect(again.map((g) => Buffer.from(g.data).toString('hex'))).toEqual(want);
    for (const g of again.slice(1)) {
      expect([g.notes, g.gsoSize, g.layers, g.arena, g.tsSec, g.comments]).toEqual([null, 0, null, null, 77, ['a comment']]);
    }
    // Without recycle(): other objects; without a recycling arena: new ones every time.
    expect(fragments(arena)[1]).not.toBe(first[1]);
    const shared = new PacketSlab();
    const s1 = fragments(shared);
    shared.recycle();
    expect(fragments(shared)[1]).not.toBe(s1[1]);
    expect(fragments(null)[1]).not.toBe(fragments(null)[1]);
  });
});

describe('segment packet objects', () => {
  it('come from a recycling arena, the same objects again after recycle(), each as new; elsewhere new ones', () => {
    const f = frame({ ip: { v: 4 }, l4: { kind: 'tcp', options: [1, 1, 1, 1] }, payload: pattern(10000) });
    const segments = (arena: PacketSlab | null): Packet[] => {
      const g = makeGso({ mss: 1448 });
      const p = Packet.fromBytes(f);
      p.arena = arena;
      p.tsSec = 77;
      g.run(p);
      expect(g.res.drops).toEqual([]);
      return g.res.out;
    };
    const arena = new PacketSlab(true);
    const first = segments(arena);
    expect(first).toHaveLength(7);
    const want = first.map((s) => Buffer.from(s.data).toString('hex'));
    for (const s of first) {
      s.notes = ['stale'];
      s.comments = ['stale'];
      s.layers = {} as Packet['layers'];
    }
    arena.recycle();
    const again = segments(arena);
    again.forEach((s, i) => expect(s).toBe(first[i]));
    expect(again.map((s) => Buffer.from(s.data).toString('hex'))).toEqual(want);
    for (const s of again) expect([s.notes, s.comments, s.layers, s.arena, s.tsSec]).toEqual([null, null, null, null, 77]);
    // The same bytes as segments made without an arena, which are new objects every time.
    const plain = segments(null);
    expect(plain.map((s) => Buffer.from(s.data).toString('hex'))).toEqual(want);
    expect(segments(null)[0]).not.toBe(plain[0]);
    // Without recycle(): other objects.
    expect(segments(arena)[0]).not.toBe(first[0]);
  });
});

describe('Pipeline recycleBuffers', () => {
  it('a push beyond the headroom takes the pipeline\'s slab; recycleBuffers() gives the region back', () => {
    const specs = ['tunnel-key:rules=[{set: {vni: 1, dst: 192.0.2.2}}]', 'vxlan-encap:src=192.0.2.1'];
    const config = resolvePipeline({}, '--stage', { extraStages: specs.map((s) => parseStageSpec(s)), extraSpecs: specs });
    const pipeline = new Pipeline(config, { recycleBuffers: true });
    const frame = eth(B, A, ETH_P_IP, ipv4({ src: '198.51.100.1', dst: '203.0.113.1', proto: 17 }, udp({ src: '198.51.100.1', dst: '203.0.113.1', sport: 1, dport: 2 }, Buffer.alloc(100))));
    const run = (): Packet => {
      // 16 bytes of headroom, as a pcap record in a read chunk has.
      const chunk = new Uint8Array(16 + frame.length);
      chunk.set(frame, 16);
      const out: Packet[] = [];
      pipeline.process(new Packet(chunk, 16, chunk.length, frame.length), out);
      expect(out).toHaveLength(1);
      expect(out[0]!.buf).not.toBe(chunk);
      expect(out[0]!.arena).toBeNull();
      return out[0]!;
    };
    const a = run();
    const aHead = a.head;
    const aBuf = a.buf;
    pipeline.recycleBuffers();
    const b = run();
    expect(b.buf).toBe(aBuf);
    expect(b.head).toBe(aHead);
    // The outer headers (50 bytes) in front of the untouched frame.
    expect(Buffer.from(b.data.subarray(50)).equals(frame)).toBe(true);
  });
});

describe.skipIf(!haveBuild)('capflow run reuses buffers and lends dead record bytes: same bytes as the general path', () => {
  for (const format of ['pcap', 'pcapng'] as const) {
    for (const [name, specs] of Object.entries(PIPELINES)) {
      it(`${name}, ${format} over 3.5 read chunks`, async () => {
        await withTempDir(async (dir) => {
          const input = join(dir, `in.${format}`);
          await writeFile(input, capture(format, 3.5 * READ_CHUNK_SIZE));
          const viaCli = join(dir, `cli.${format}`);
          const r = capflow(['run', input, '-o', viaCli, ...specs.flatMap((s) => ['--stage', s])]);
          expect(r.stderr).toMatch(/ in, /);
          expect(r.status).toBe(0);
          const general = join(dir, `general.${format}`);
          await generalPath(input, general, format, specs);
          const got = await readFile(viaCli);
          const want = await readFile(general);
          expect(got.length).toBe(want.length);
          expect(got.equals(want)).toBe(true);
          // And to stdout (its reads are recycled and lent too).
          const viaStdout = capflow(['run', input, '-o', '-', '--format', format, ...specs.flatMap((s) => ['--stage', s])]);
          expect(viaStdout.status).toBe(0);
          expect(viaStdout.stdoutBytes.equals(want)).toBe(true);
        });
      });
    }
  }
});
