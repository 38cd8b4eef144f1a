/**
 * Records left where they were read. A run with stages writes a pcap record whose frame kept its
 * place and size in the read chunk (checksum.fix repairs in place; a packet no stage changed) as a
 * view of that chunk, holding the chunk until the output has written it, instead of copying it.
 * The chunk is read into again only after that, and the bytes of such a record are never lent to
 * the next packet as headroom (a push into them would rewrite bytes still to be written).
 * Tested through the built binary on inputs of many read chunks.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPackets, openCapture, READ_CHUNK_SIZE } from '../../pipeline/pcap/reader.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { resolvePipeline, parseStageSpec, loadYaml } from '../../pipeline/config.js';
import type { Packet } from '../../pipeline/packet.js';
import { buildPcap } from '../helpers/pcap-build.js';
import { frame, pattern, TS_OPTS, vxlan } from '../gso/build.js';
import { builtCli, haveBuild } from './built-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-in-place-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capflow(args: string[]) {
  return spawnSync(process.execPath, [builtCli, ...args], { encoding: 'utf8' });
}

/** VXLAN frames of 300..1564 bytes with every checksum valid (outer UDP checksum on every other one). */
function vxlanFrames(n: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const inner = frame({ ip: { v: 4, id: i }, l4: { kind: 'tcp', options: TS_OPTS, seq: 1000 + i * 1448, sport: 40000 + (i % 61) }, payload: pattern(200 + ((i * 577) % 1249), i) });
    frames.push(vxlan(inner, { csum: i % 2 === 0, id: i }));
  }
  return frames;
}

/** The same frames with the outer IPv4, the inner IPv4 and the inner TCP checksum broken. */
function broken(f: Uint8Array): Uint8Array {
  const b = f.slice();
  b[14 + 10] ^= 0x5a; // outer IPv4 header checksum
  const inner = 14 + 20 + 8 + 8;
  b[inner + 14 + 10] ^= 0x33; // inner IPv4 header checksum
  b[inner + 14 + 20 + 16] ^= 0xc3; // inner TCP checksum
  return b;
}

function pcapOf(frames: Uint8Array[]): Uint8Array {
  return buildPcap({ le: true, nano: false, linkType: 1, snapLen: 262144, records: frames.map((data, i) => ({ sec: 1_700_000_000 + (i >> 10), frac: i, data })) });
}

async function records(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const p of readPackets(path, { name: path })) out.push(`${p.tsSec}.${p.tsFrac} ${p.origLen} ${Buffer.from(p.data).toString('hex')}`);
  return out;
}

describe.skipIf(!haveBuild)('records left in place are written from their read chunk', () => {
  it('checksum.fix over 12 MB of VXLAN frames: the repaired output is the capture as built, byte for byte', () => {
    const frames = vxlanFrames(12 * READ_CHUNK_SIZE / 900);
    const good = pcapOf(frames);
    expect(good.length).toBeGreaterThan(10 * READ_CHUNK_SIZE);
    const input = join(dir, 'broken.pcap');
    writeFileSync(input, pcapOf(frames.map(broken)));
    for (const io of [[], ['--async-io']]) {
      const output = join(dir, `fixed${io.length}.pcap`);
      const r = capflow(['run', input, '-o', output, '--stage', 'gso:mtu=9000,checksum.fix=true', ...io]);
      expect(r.status, r.stderr).toBe(0);
      // Every byte: a chunk read into again before the output wrote from it would show here.
      expect(Buffer.compare(readFileSync(output), good), io.join(' ')).toBe(0);
    }
  });

  it('unchanged records between encapsulated ones: the pcap output (views) holds what the pcapng output (copies) holds', async () => {
    // Runs of 120 frames to 198.51.100.9 (no rule matches: written as they were read) and 40 to
    // 203.0.113.9 (tunnel-key + vxlan-encap push 50 bytes, more than their own record header:
    // the run loop lends them the bytes of records before, never of one written as a view).
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 9000; i++) {
      const encap = i % 160 >= 120;
      frames.push(frame({ ip: { v: 4, id: i, dst: encap ? '203.0.113.9' : '198.51.100.9' }, l4: { kind: 'tcp', seq: i * 1000 }, payload: pattern(300 + ((i * 389) % 1100), i) }));
    }
    const input = join(dir, 'mixed-in.pcap');
    writeFileSync(input, pcapOf(frames));
    const stages = [
      '--stage', 'tunnel-key:rules=[{match: {ipDst: 203.0.113.0/24}, set: {vni: 42, dst: 192.0.2.2}}]',
      '--stage', 'vxlan-encap:src=192.0.2.1,outerEth.src=02:00:00:00:00:01,outerEth.dst=02:00:00:00:00:02',
      '--stage', 'gso:mtu=9000',
    ];
    const out: string[][] = [];
    for (const ext of ['pcap', 'pcapng']) {
      const output = join(dir, `mixed.${ext}`);
      const r = capflow(['run', input, '-o', output, '--json', ...stages]);
      expect(r.status, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout) as { packetsOut: number; warnings?: string[] };
      expect(s.packetsOut).toBe(frames.length);
      out.push(await records(output));
    }
    const [viaViews, viaCopies] = out as [string[], string[]];
    // 9000 / 160 * 40 frames were encapsulated, the others left as they were read.
    const lengths = viaViews.map((r) => Number(r.split(' ')[1]));
    expect(lengths.filter((n, i) => n === frames[i]!.length + 50).length).toBe(2240);
    expect(lengths.filter((n, i) => n === frames[i]!.length).length).toBe(9000 - 2240);
    for (let i = 0; i < viaCopies.length; i++) if (viaViews[i] !== viaCopies[i]) expect(viaViews[i], `packet ${i + 1}`).toBe(viaCopies[i]);
  });
});

describe('the pcap writer in a run with stages', () => {
  /** The frames of `labelled` (by index) get an MPLS label, the others go through unchanged. */
  async function writeThrough(name: string, labelled: (i: number) => boolean) {
    await loadYaml();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) frames.push(frame({ ip: { v: 4, id: i, dst: labelled(i) ? '203.0.113.9' : '198.51.100.9' }, l4: { kind: 'tcp', seq: i }, payload: pattern(1000, i) }));
    const input = join(dir, `${name}.pcap`);
    writeFileSync(input, pcapOf(frames));
    const specs = ['mpls-push:match={ipDst: 203.0.113.0/24},labels=[{label: 100, ttl: 64}]', 'gso:mtu=9000'];
    const config = resolvePipeline({}, '--stage', { extraStages: specs.map((s) => parseStageSpec(s)), extraSpecs: specs });
    const pipeline = new Pipeline(config, { recycleBuffers: true });
    const reader = await openCapture(input, { name: input, recycleChunks: true, packetPool: pipeline.readerPackets, ioMemory: true });
    const output = join(dir, `${name}-out.pcap`);
    const writer = await createFileWriter(output, { format: 'pcap' });
    writer.addInterface(reader.interfaces[0]!);
    const out: Packet[] = [];
    for await (const batch of reader.batches()) {
      for (const p of batch) {
        out.length = 0;
        pipeline.process(p, out);
        for (const q of out) if (!writer.write(q, 0, null)) await writer.flush();
      }
      pipeline.recycleBuffers();
    }
    await writer.close();
    const got = await records(output);
    expect(writer.packetsWritten).toBe(3000);
    expect(got.filter((r, i) => Number(r.split(' ')[1]) === frames[i]!.length + (labelled(i) ? 4 : 0)).length).toBe(3000);
    return writer.packetsShared;
  }

  it('writes records no stage moved as views of their read chunk, and copies the others', async () => {
    // One frame in 200 is labelled: it grew into its record header and is copied; the next frame
    // left in place starts a run of views at once when the run before the labelled one was long.
    // Else (the first 64 KiB after the file header; after a run cut short by the end of a read
    // chunk, whose straddling record the reader copied) frames are copied until 64 KiB are
    // assembled (WriteBuffer.mayShare): 61 or 62 of 1070 bytes. 3.2 MB: 4 chunks.
    const shared = await writeThrough('one-in-200', (i) => i % 200 === 0);
    expect(shared).toBeGreaterThanOrEqual(3000 - 15 - 4 * 62 - 3);
    expect(shared).toBeLessThanOrEqual(3000 - 15 - 61);
  });

  it('copies records left in place among copied ones: no small write for each', async () => {
    // Every other frame labelled: a view of one record between two copies would cost a write for
    // each. One view starts when 64 KiB are assembled, then copies again until the next 64 KiB.
    const shared = await writeThrough('every-other', (i) => i % 2 === 0);
    expect(shared).toBeGreaterThan(0);
    expect(shared).toBeLessThanOrEqual(Math.ceil((3000 * 1072) / 65536) + 4);
  });
});
