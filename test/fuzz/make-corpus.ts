/**
 * Writes test/fuzz/corpus/: small captures of the nastiest inputs the fuzz properties generate
 * (and the ones that found bugs), with corpus.json naming each file's pipeline and what capflow
 * must do with it. Run it after changing a description: `node --import tsx test/fuzz/make-corpus.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCapture, type CaptureDesc, type FrameDesc, type PipelineDesc, type RecordDesc, type Damage } from './arbitraries.js';

export interface CorpusEntry {
  file: string;
  why: string;
  pipeline: PipelineDesc;
  /** `capflow run` outcome: exit status, and for 1 the error code of the input. */
  exit: 0 | 1;
  code?: string;
}

const frame = (f: Partial<FrameDesc>): FrameDesc => ({
  kind: 'tcp', v6: false, vlans: [], mpls: [], payload: 100, flags: 0x18, df: true, dstPort: 5001, mssOpt: false, ts: false,
  vni: 42, udpChecksum: true, trailer: 0, raw: new Uint8Array(0), flips: [], ...f,
});
const rec = (f: Partial<FrameDesc>, r: Partial<RecordDesc> = {}): RecordDesc => ({ frame: frame(f), capLen: null, iface: 0, block: 'epb', comments: [], ...r });
const none: Damage = { kind: 'none' };
const pcap = (records: RecordDesc[], o: Partial<CaptureDesc> = {}): CaptureDesc => ({
  format: 'pcap', le: true, nano: false, pcapLinkType: 1, pcapSnapLen: 262144, gzip: false, damage: none,
  sections: [{ le: true, ifaces: [{ linkType: 1, snapLen: 0, tsresol: null }], records, extras: false }], ...o,
});
const pcapng = (sections: CaptureDesc['sections'], o: Partial<CaptureDesc> = {}): CaptureDesc => ({
  format: 'pcapng', le: true, nano: false, pcapLinkType: 1, pcapSnapLen: 0, gzip: false, damage: none, sections, ...o,
});
const eth = { linkType: 1, snapLen: 0, tsresol: null };

const gsoWire = (mss: number | 'auto', extra: Record<string, unknown>[] = []): PipelineDesc => ({
  nic: 'none', view: 'wire', stages: [...extra, { stage: 'gso', mss, mtuPolicy: 'kernel', checksum: { fix: true } }],
});
const everything: PipelineDesc = {
  nic: 'ixgbe', view: 'wire', linkLayer: { to: 'ethernet' },
  stages: [
    { stage: 'vxlan-decap', ports: [4789, 8472] },
    { stage: 'tunnel-key', rules: [{ match: { ipDst: '0.0.0.0/0' }, set: { vni: 7, dst: '192.0.2.2' } }, { match: { ipDst: '::/0' }, set: { vni: 8, dst: '2001:db8::2' } }] },
    { stage: 'vxlan-encap', src: ['192.0.2.1', '2001:db8::1'] },
    { stage: 'mpls-push', labels: [{ label: 16, tc: 0, ttl: 'inherit' }] },
    { stage: 'mpls-pop' },
    { stage: 'gso', mss: 64, mtu: 576, mtuPolicy: 'kernel', checksum: { fix: true } },
  ],
};

export const CORPUS: Array<CorpusEntry & { capture: CaptureDesc }> = [
  { file: 'pcap-be-nano-caplen-bomb.pcap', why: 'big-endian nanosecond pcap, second record claims caplen 2^32-1', pipeline: everything, exit: 1, code: 'ERR_PCAP_CAPLEN',
    capture: pcap([rec({}), rec({ kind: 'udp' })], { le: false, nano: true, damage: { kind: 'bomb', nth: 2, field: 2, le: false, value: 0xffffffff } }) },
  { file: 'pcap-origlen-max-grown.pcap', why: 'origlen 2^32-1 grown by vxlan-encap: the written origlen wrapped below caplen', exit: 0,
    pipeline: { nic: 'none', view: 'driver', stages: [{ stage: 'tunnel-key', rules: [{ match: {}, set: { vni: 1, dst: '192.0.2.9' } }] }, { stage: 'vxlan-encap', src: '192.0.2.1' }] },
    capture: pcap([rec({ kind: 'vxlan', payload: 7 })], { le: false, damage: { kind: 'bomb', nth: 1, field: 3, le: false, value: 0xffffffff } }) },
  { file: 'pcapng-ms-resolution-far-future.pcapng', why: 'if_tsresol 10^-3 and a timestamp near 2^64: beyond the Date range (info printed "Invalid time value")', exit: 0,
    pipeline: gsoWire('auto'),
    capture: pcapng([{ le: false, ifaces: [{ linkType: 1, snapLen: 0, tsresol: 3 }], records: [rec({})], extras: false }], { damage: { kind: 'bomb', nth: 2, field: 3, le: false, value: 0xfffffff0 } }) },
  { file: 'pcapng-three-sections-mixed-endian.pcapng', why: 'three sections, both byte orders, several interfaces of several link types, SPB/PB/EPB, NRB and ISB', exit: 0, pipeline: everything,
    capture: pcapng([
      { le: true, ifaces: [eth, { linkType: 101, snapLen: 0, tsresol: 9 }], records: [rec({ kind: 'vxlan', v6: true }), rec({ kind: 'udp' }, { block: 'spb' }), rec({ kind: 'raw', raw: Uint8Array.of(0x45, 0, 0, 20) }, { iface: 1 })], extras: true },
      { le: false, ifaces: [{ linkType: 113, snapLen: 0, tsresol: 0x86 }, eth], records: [rec({ kind: 'icmp' }, { iface: 1, block: 'pb' }), rec({ kind: 'tcp', v6: true, vlans: [10, 20] }, { iface: 1 })], extras: true },
      { le: true, ifaces: [eth], records: [rec({ kind: 'tcp', payload: 9000, mssOpt: true, ts: true })], extras: false },
    ]) },
  { file: 'pcapng-block-length-bomb.pcapng', why: 'block length 16 MiB + 4 in the second block', pipeline: everything, exit: 1, code: 'ERR_PCAPNG_BLOCK_LEN',
    capture: pcapng([{ le: true, ifaces: [eth], records: [rec({}), rec({})], extras: false }], { damage: { kind: 'bomb', nth: 2, field: 1, le: true, value: 16 * 1024 * 1024 + 4 } }) },
  { file: 'pcapng-epb-interface-bomb.pcapng', why: 'an EPB naming interface 2^32-1', pipeline: everything, exit: 1, code: 'ERR_PCAPNG_NO_INTERFACE',
    capture: pcapng([{ le: true, ifaces: [eth], records: [rec({}), rec({})], extras: false }], { damage: { kind: 'bomb', nth: 3, field: 2, le: true, value: 0xffffffff } }) },
  { file: 'gzip-corrupt.pcapng.gz', why: 'gzip with damaged compressed bytes', pipeline: everything, exit: 1, code: 'ERR_CAPTURE_GZIP',
    capture: pcapng([{ le: true, ifaces: [eth], records: [rec({ payload: 3000 })], extras: false }], { gzip: true, damage: { kind: 'flip', at: [[30, 0], [31, 0], [32, 0], [33, 0xff]] } }) },
  { file: 'pcap-truncated-in-header.pcap', why: 'ends inside the file header', pipeline: everything, exit: 1, code: 'ERR_CAPTURE_TRUNCATED',
    capture: pcap([rec({})], { damage: { kind: 'truncate', at: 6 } }) },
  { file: 'super-packets-every-kind.pcap', why: 'TCP/UDP super-packets over IPv4/IPv6 with VLAN tags, MPLS stacks and trailers, the smallest mss (48)', exit: 0,
    pipeline: gsoWire(48),
    capture: pcap([
      rec({ payload: 3000, mssOpt: true, ts: true }), rec({ kind: 'udp', v6: true, payload: 2000, vlans: [10, 20] }),
      rec({ payload: 2000, mpls: [100, 200] }), rec({ kind: 'udp', payload: 1500, trailer: 40 }), rec({ kind: 'tcp', v6: true, payload: 1000, trailer: 3 }),
    ]) },
  { file: 'deep-labels-and-tags.pcap', why: 'nine MPLS labels behind three VLAN tags, VXLAN inside', pipeline: everything, exit: 0,
    capture: pcap([rec({ kind: 'vxlan', vlans: [10, 20, 30], mpls: [1, 2, 3, 4, 5, 6, 7, 8, 9], payload: 1400 }), rec({ kind: 'udp', vlans: [10, 20, 30], mpls: [1, 2, 3, 4, 5, 6, 7, 8, 9] })]) },
  { file: 'snaplen-truncated-super-packets.pcapng', why: 'super-packets captured with a 96-byte snaplen (never segmented)', pipeline: gsoWire(100), exit: 0,
    capture: pcapng([{ le: true, ifaces: [{ linkType: 1, snapLen: 96, tsresol: null }], records: [rec({ payload: 5000 }, { capLen: 96 }), rec({ kind: 'vxlan', payload: 5000 }, { capLen: 60 }), rec({ kind: 'udp', payload: 3000 }, { capLen: 0 })], extras: false }]) },
  { file: 'garbage-metadata-comments.pcapng', why: 'tunnel and gso comments with impossible values, NUL and U+FFFF', pipeline: everything, exit: 0,
    capture: pcapng([{ le: true, ifaces: [eth], extras: false, records: [
      rec({ kind: 'tcp', payload: 4000 }, { comments: ['gso type=udp_l4+udp_tunnel_csum size=1 segs=65535', 'tunnel vni=99999999 src=2001:db8::1 dst=192.0.2.2 flags=key mode=tx'] }),
      rec({ kind: 'udp' }, { comments: ['gso type=tcpv6+ecn+partial size=0 segs=0', 'tunnel vni=x', '\u0000\uffff'] }),
      rec({ kind: 'vxlan' }, { comments: ['gso type=bogus size=-1', 'tunnel vni=1 src=2001:db8::1 dst=2001:db8::2 label=0x12345 gbp=0x400001 flags=key'] }),
    ] }]) },
  { file: 'flipped-headers.pcap', why: 'byte flips in IP/UDP/VXLAN headers of otherwise valid frames', pipeline: everything, exit: 0,
    capture: pcap([
      rec({ kind: 'vxlan', flips: [[14, 0x4f], [16, 0xff], [17, 0xff]] }), rec({ kind: 'vxlan', v6: true, flips: [[54, 0], [55, 0], [58, 0xff]] }),
      rec({ kind: 'tcp', payload: 3000, flips: [[46, 0xff]] }), rec({ kind: 'udp', payload: 3000, flips: [[38, 0], [39, 4]] }),
    ]) },
  { file: 'non-ethernet-link-types.pcapng', why: 'raw IPv4/IPv6, SLL, SLL2, BSD loopback and an unknown link type, converted to Ethernet', pipeline: everything, exit: 0,
    capture: pcapng([{ le: true, extras: false,
      ifaces: [{ linkType: 101, snapLen: 0, tsresol: null }, { linkType: 113, snapLen: 0, tsresol: null }, { linkType: 276, snapLen: 0, tsresol: null }, { linkType: 0, snapLen: 0, tsresol: null }, { linkType: 147, snapLen: 0, tsresol: null }],
      records: [0, 1, 2, 3, 4].map((i) => rec({ kind: 'raw', raw: Uint8Array.from({ length: 60 }, (_, k) => (k === 0 ? 0x45 : (k * 13 + i) & 0xff)) }, { iface: i })) }]) },
];

function main(): void {
  const dir = join(import.meta.dirname, 'corpus');
  mkdirSync(dir, { recursive: true });
  const manifest: CorpusEntry[] = [];
  for (const { capture, ...entry } of CORPUS) {
    writeFileSync(join(dir, entry.file), buildCapture(capture));
    manifest.push(entry);
  }
  writeFileSync(join(dir, 'corpus.json'), `${JSON.stringify(manifest, null, 1)}\n`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) main();
