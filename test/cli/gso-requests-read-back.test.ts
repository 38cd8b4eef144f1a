/**
 * GSO requests capflow reads back from its own notes, and UDP datagrams that are tunnels, through
 * the built CLI:
 * - a VXLAN super-packet left whole for the NIC (driver view, note `gso type=tcpv4+udp_tunnel_csum…`)
 *   segments in a later wire-view run exactly as the wire view of the first run (the note keeps
 *   gso_type, not skb->encapsulation: the tunnel is found again);
 * - a UDP GSO request of more than UDP_MAX_SEGMENTS (128) segments is dropped
 *   `gso-too-many-segments`, as udp_send_skb and virtio_net_hdr_to_skb refuse one; 128 pass;
 * - a VXLAN frame carried inside another tunnel is never cut as UDP_L4 (pieces of a VXLAN payload
 *   are no VXLAN frames): over the MTU it meets the MTU policy instead.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { craftFrame, craftVxlan } from '../../pipeline/craft.js';
import { capflow, haveBuild, samplesDir } from './built-cli.js';
import { withPartialChecksum } from '../helpers/partial-checksum.js';
import { concat, epb, idb, shb } from '../helpers/pcap-build.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-gso-readback-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);

function pcapng(frames: Array<{ data: Uint8Array; comments?: string[] }>): Uint8Array {
  const blocks = [shb(true), idb(true, { tsresol: 9 })];
  frames.forEach((f, i) => blocks.push(epb(true, { iface: 0, ts: BigInt(1_700_000_000 + i) * 1_000_000_000n, data: f.data, comments: f.comments ?? [] })));
  return concat(...blocks);
}

function json(args: string[]) {
  const r = capflow([...args, '--json']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { packetsOut: number; forwarded: number; dropped: number; drops: Record<string, number> };
}

const ENCAP = (view: string) => `nic: mlx5
view: ${view}
stages:
  - stage: tunnel-key
    rules:
      - match: {}
        set: { vni: 42, dst: 203.0.113.42, csum: true }
  - stage: vxlan-encap
    src: 203.0.113.1
`;

describe.skipIf(!haveBuild)('GSO requests read back, and tunnels as UDP', () => {
  it('a VXLAN super-packet left whole in the driver view segments later exactly as the wire view would have', () => {
    writeFileSync(at('driver.yaml'), ENCAP('driver'));
    writeFileSync(at('wire.yaml'), ENCAP('wire'));
    const tso = join(samplesDir, 'tso-host.pcap');
    const driver = json(['run', tso, '--pipeline', at('driver.yaml'), '-o', at('driver.pcapng')]);
    expect(driver.dropped).toBe(0);
    // The NIC took the tunnel super-packets whole: their notes carry the UDP-tunnel gso_type.
    expect(readFileSync(at('driver.pcapng')).toString('latin1')).toContain('gso type=tcpv4+udp_tunnel_csum');
    json(['run', tso, '--pipeline', at('wire.yaml'), '-o', at('direct.pcap'), '--format', 'pcap']);
    const again = json(['run', at('driver.pcapng'), '--nic', 'mlx5', '--view', 'wire', '-o', at('again.pcap'), '--format', 'pcap']);
    expect(again.drops).toEqual({});
    // Byte for byte: same records behind the same pcap file header.
    expect(readFileSync(at('again.pcap')).equals(readFileSync(at('direct.pcap')))).toBe(true);
    expect(capflow(['diff', at('direct.pcap'), at('again.pcap')]).status).toBe(0);
  });

  it('a UDP GSO request of more than 128 segments is dropped gso-too-many-segments; 128 segments pass', () => {
    const udp = (payload: number) =>
      withPartialChecksum(craftFrame({ ip: { src: '192.0.2.1', dst: '198.51.100.2' }, l4: { kind: 'udp', srcPort: 40000, dstPort: 5001 }, payload }));
    writeFileSync(
      at('udp-gso.pcapng'),
      pcapng([
        { data: udp(128 * 10), comments: ['gso type=udp_l4 size=10 segs=128'] },
        { data: udp(128 * 10 + 1), comments: ['gso type=udp_l4 size=10 segs=129'] },
      ]),
    );
    const s = json(['run', at('udp-gso.pcapng'), '--view', 'wire', '-o', at('udp-out.pcapng')]);
    expect(s.drops).toEqual({ 'gso-too-many-segments': 1 });
    expect(s.packetsOut).toBe(128);
  });

  it('a UDP-tunnel GSO request on a frame without a VXLAN tunnel is dropped gso-bad-header', () => {
    const plain = withPartialChecksum(craftFrame({ ip: { src: '192.0.2.1', dst: '198.51.100.2' }, l4: { kind: 'udp', srcPort: 40000, dstPort: 5001 }, payload: 3000 }));
    writeFileSync(at('not-tunnel.pcapng'), pcapng([{ data: plain, comments: ['gso type=udp_l4+udp_tunnel_csum size=1000 segs=3'] }]));
    const s = json(['run', at('not-tunnel.pcapng'), '--view', 'wire', '-o', at('not-tunnel-out.pcapng')]);
    expect(s.drops).toEqual({ 'gso-bad-header': 1 });
  });

  it('a VXLAN frame inside a new tunnel is not cut as UDP_L4: over the MTU it is dropped (DF) by the MTU policy', () => {
    const inner = craftFrame({ ip: { src: '192.0.2.1', dst: '198.51.100.2' }, l4: { kind: 'tcp', srcPort: 40000, dstPort: 5001, seq: 1, flags: 0x18 }, payload: 1400 });
    const vx = craftVxlan(inner, { ip: { src: '192.0.2.10', dst: '192.0.2.20', df: true }, srcPort: 50000, vni: 7 });
    writeFileSync(at('nested.pcapng'), pcapng([{ data: vx }]));
    writeFileSync(
      at('nested.yaml'),
      `egress: { mtu: 1400 }
stages:
  - stage: tunnel-key
    rules:
      - match: {}
        set: { vni: 42, dst: 203.0.113.42, df: true }
  - stage: vxlan-encap
    src: 203.0.113.1
`,
    );
    const s = json(['run', at('nested.pcapng'), '--pipeline', at('nested.yaml'), '-o', at('nested-out.pcapng')]);
    expect(s.forwarded + s.dropped).toBe(1);
    expect(s.drops).toEqual({ 'mtu-exceeded': 1 });
  });
});
