/** Test captures for the diff tests: frames from the independent builders, written with capflow's writer. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packet } from '../../pipeline/packet.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { eth, ipv4, tcp, udp, vxlanFrame, ETH_P_IP, TCP_ACK, TCP_PSH, type CsumFill } from '../kernel/frames.js';

export interface Rec {
  frame: Uint8Array;
  /** Seconds; default 1_700_000_000 + position. */
  sec?: number;
  /** Fraction in `units` (default the capture's units). */
  frac?: number;
  comments?: string[];
  iface?: number;
  origLen?: number;
}

export interface CaptureOptions {
  format?: 'pcap' | 'pcapng';
  /** Timestamp units of the interface(s) (default 1e6; pcap: > 1e6 writes the nanosecond magic). */
  units?: number;
  gzip?: boolean;
}

/** Write records to `path` (format from options, default from the extension). */
export async function writeCapture(path: string, recs: readonly Rec[], opts: CaptureOptions = {}): Promise<void> {
  const format = opts.format ?? (path.includes('.pcapng') ? 'pcapng' : 'pcap');
  const units = opts.units ?? 1_000_000;
  const w = await createFileWriter(path, { format, nanosecond: units > 1_000_000, gzip: opts.gzip ?? path.endsWith('.gz') });
  const ifaces = Math.max(1, ...recs.map((r) => (r.iface ?? 0) + 1));
  for (let i = 0; i < (format === 'pcap' ? 1 : ifaces); i++) w.addInterface({ linkType: 1, snapLen: 0, tsUnits: units });
  recs.forEach((r, i) => {
    const p = Packet.fromBytes(r.frame, r.origLen ?? r.frame.length);
    p.tsSec = r.sec ?? 1_700_000_000 + i;
    p.tsFrac = r.frac ?? 0;
    p.tsUnits = units;
    p.iface = r.iface ?? 0;
    w.write(p, format === 'pcap' ? 0 : p.iface, r.comments ?? null);
  });
  await w.close();
}

export interface TcpSpec {
  ttl?: number;
  id?: number;
  seq?: number;
  sport?: number;
  flags?: number;
  window?: number;
  payload?: string;
  csum?: CsumFill;
  ipChecksum?: number;
}

/** Ethernet / IPv4 / TCP with valid checksums. */
export function tcpFrame(s: TcpSpec = {}): Buffer {
  const seg = tcp(
    {
      src: '10.0.0.1',
      dst: '10.0.0.2',
      sport: s.sport ?? 40000,
      dport: 80,
      seq: s.seq ?? 1000,
      ack: 1,
      flags: s.flags ?? TCP_PSH | TCP_ACK,
      window: s.window ?? 502,
      csum: s.csum ?? 'valid',
    },
    Buffer.from(s.payload ?? 'hello, world'),
  );
  const ip = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, ttl: s.ttl ?? 64, id: s.id ?? 0x1234, checksum: s.ipChecksum }, seg);
  return eth('02:00:00:00:00:02', '02:00:00:00:00:01', ETH_P_IP, ip);
}

/** Ethernet / IPv4 / UDP with a valid checksum. */
export function udpFrame(s: { sport?: number; ttl?: number; id?: number; payload?: string } = {}): Buffer {
  const u = udp({ src: '10.0.0.1', dst: '10.0.0.2', sport: s.sport ?? 5000, dport: 6000, csum: 'valid' }, Buffer.from(s.payload ?? 'abcd'));
  return eth('02:00:00:00:00:02', '02:00:00:00:00:01', ETH_P_IP, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, ttl: s.ttl, id: s.id }, u));
}

export interface VxlanSpec {
  outerTtl?: number;
  outerId?: number;
  outerSport?: number;
  vni?: number;
  /** Outer UDP checksum (default valid, so it covers the inner frame). */
  udpCsum?: CsumFill;
  inner?: TcpSpec;
}

/** Outer Ethernet / IPv4 / UDP 4789 / VXLAN around an inner TCP frame. */
export function vxlanTcpFrame(s: VxlanSpec = {}): Buffer {
  return vxlanFrame(
    {
      underlay: 'ipv4',
      srcMac: '02:00:00:00:01:01',
      dstMac: '02:00:00:00:01:02',
      src: '192.0.2.1',
      dst: '192.0.2.2',
      ttl: s.outerTtl ?? 64,
      id: s.outerId ?? 0x4321,
      sport: s.outerSport ?? 49152,
      udpCsum: s.udpCsum ?? 'valid',
      vni: s.vni ?? 42,
    },
    tcpFrame(s.inner ?? {}),
  );
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'capflow-diff-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
