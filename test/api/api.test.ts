/** The public entry, used the way a library user would. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DECODE,
  DIFF_FIELD_NAMES,
  ETHER_TYPE,
  IP_PROTO,
  Layers,
  LINKTYPE,
  Packet,
  Pipeline,
  TunnelInfo,
  builtinProfiles,
  createFileWriter,
  decideTx,
  decodeFrame,
  diffCaptures,
  formatDiff,
  loadProfile,
  makeTxRequest,
  openCapture,
  parseStageSpec,
  readPackets,
  readPipelineFile,
  resolvePipeline,
  runCapture,
  wire,
  type DiffResult,
  type PipelineConfig,
} from '../../pipeline/index.js';
import { tcpFrame, vxlanTcpFrame } from '../diff/captures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'capflow-api-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeFrames(path: string, frames: Uint8Array[]): Promise<void> {
  const w = await createFileWriter(path, { format: path.endsWith('.pcap') ? 'pcap' : 'pcapng' });
  const iface = w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 0, tsUnits: 1_000_000 });
  frames.forEach((f, i) => {
    const p = Packet.fromBytes(f);
    p.tsSec = 1_700_000_000 + i;
    if (!w.write(p, iface, null)) throw new Error('unexpected backpressure in a tiny capture');
  });
  await w.close();
}

describe('capflow library API', () => {
  it('writes and reads captures', async () => {
    const path = join(dir, 'io.pcapng');
    await writeFrames(path, [tcpFrame(), vxlanTcpFrame()]);
    const reader = await openCapture(path, { name: path });
    expect(reader.format).toBe('pcapng');
    expect(reader.interfaces[0]!.linkType).toBe(LINKTYPE.ETHERNET);
    let n = 0;
    for await (const batch of reader.batches()) n += batch.length;
    expect(n).toBe(2);
    const lengths: number[] = [];
    for await (const p of readPackets(path, { name: path })) lengths.push(p.length);
    expect(lengths).toEqual([tcpFrame().length, vxlanTcpFrame().length]);
  });

  it('decodes headers with Layers and reads fields with the wire namespaces', () => {
    const f = vxlanTcpFrame({ vni: 4242 });
    const L = new Layers();
    expect(decodeFrame(f, 0, f.length, L)).toBe(DECODE.OK);
    expect(L.etherType).toBe(ETHER_TYPE.IPV4);
    expect(L.l4Proto).toBe(IP_PROTO.UDP);
    expect(wire.ipv4.ttl(f, L.netOff)).toBe(64);
    expect(wire.udp.dstPort(f, L.transOff)).toBe(wire.vxlan.DEFAULT_PORT);
    expect(wire.vxlan.vni(f, L.transOff + wire.udp.HEADER_LEN)).toBe(4242);
  });

  it('carries tunnel metadata as the contract comment', () => {
    const t = new TunnelInfo();
    t.vni = 42;
    t.setAddress('src', '192.0.2.1');
    t.setAddress('dst', '192.0.2.2');
    const back = TunnelInfo.fromComment(t.toComment());
    expect(back?.vni).toBe(42);
    expect(back?.dstString()).toBe('192.0.2.2');
  });

  it('exposes NIC profiles and the transmit decision', () => {
    expect(builtinProfiles().map((p) => p.name)).toContain('none');
    const none = loadProfile('none');
    const d = decideTx(none, makeTxRequest());
    expect(d).toBeDefined();
  });

  it('builds the pipeline the CLI builds, runs it in memory and over files, and diffs the result', async () => {
    const file = join(dir, 'pipeline.yaml');
    await writeFile(file, 'nic: none\nstages: []\n');
    const doc = readPipelineFile(file);
    expect(parseStageSpec('gso:mss=1000')).toEqual({ stage: 'gso', mss: 1000 });
    const config: PipelineConfig = resolvePipeline(doc, file, { extraStages: [parseStageSpec('gso:mss=1000')] });
    // The older `gso` stage spelling configures the egress, which is not a stage.
    expect(config.stages).toEqual([]);
    expect(config.egress.mss).toBe(1000);
    expect(config.faithful).toBe(false);

    const input = join(dir, 'in.pcap');
    await writeFrames(input, [tcpFrame(), tcpFrame({ seq: 2000 })]);

    // In memory: the synchronous core.
    const pipeline = new Pipeline(config);
    const out: Packet[] = [];
    for await (const p of readPackets(input, { name: input })) pipeline.process(p, out);
    pipeline.flush(out);
    expect(out).toHaveLength(2);
    expect((await diffCaptures(input, out)).equal).toBe(true);

    // Over files: the driver behind `capflow run`.
    const output = join(dir, 'out.pcapng');
    const summary = await runCapture({ inputs: [input], output, config });
    expect(summary).toMatchObject({ packetsIn: 2, packetsOut: 2 });
    const same: DiffResult = await diffCaptures(input, output, { ignore: ['comment'] });
    expect(same.equal).toBe(true);

    // A changed packet shows in the report.
    const changed = join(dir, 'changed.pcap');
    await writeFrames(changed, [tcpFrame(), tcpFrame({ seq: 2001 })]);
    const r = await diffCaptures(output, changed, { max: 10 });
    expect(r.equal).toBe(false);
    expect(formatDiff(r)).toContain('#2 tcp.seq: expected 2000, got 2001');
  });

  it('lists every diff field the documentation names', () => {
    for (const name of [
      'eth.src', 'eth.dst', 'eth.type', 'vlan.id', 'mpls.label', 'mpls.ttl', 'ipv4.tos', 'ipv4.len', 'ipv4.id',
      'ipv4.flags', 'ipv4.ttl', 'ipv4.proto', 'ipv4.checksum', 'ipv4.src', 'ipv4.dst', 'ipv6.tclass', 'ipv6.flow',
      'ipv6.plen', 'ipv6.nxt', 'ipv6.hlim', 'ipv6.src', 'ipv6.dst', 'udp.srcport', 'udp.dstport', 'udp.length',
      'udp.checksum', 'tcp.srcport', 'tcp.dstport', 'tcp.seq', 'tcp.ack', 'tcp.flags', 'tcp.window', 'tcp.checksum',
      'tcp.urgent', 'tcp.options', 'vxlan.flags', 'vxlan.vni', 'icmp.type', 'payload', 'frame.len', 'frame.caplen',
      'timestamp', 'comment', 'interface',
    ]) {
      expect(DIFF_FIELD_NAMES).toContain(name);
    }
  });
});
