/**
 * Deterministic benchmark inputs: the same arguments always give the same bytes (no randomness,
 * no clock), so figures from different runs and machines are comparable.
 *
 * - `plain`: 1514-byte TCP/IPv4 frames (1460 bytes of payload) over 4,096 flows, interleaved
 *   (flow f·2557 mod 4096 for packet f: every flow once per 4,096 packets), each flow's sequence
 *   numbers and IPv4 IDs advancing, every checksum valid.
 * - `vxlan`: the same frames, each in VXLAN (outer IPv4 without DF, UDP 4789 with checksum 0, as
 *   a Linux VXLAN device sends by default): 1564-byte frames, the outer UDP source port per flow.
 * - `tso`: a host capture taken with TSO on: 256 flows, first each flow's handshake (SYN and
 *   SYN-ACK carrying MSS 1460), then TCP super-packets of 16–64 KB (frame lengths cycling through
 *   16,384..65,514 in steps of 1,543 bytes), each TCP checksum partial (the pseudo-header sum over
 *   the L4 length, as `__tcp_v4_send_check` leaves a GSO skb), IPv4 header checksums valid.
 *
 * Packets are written until the file reaches `bytes` (the last record may pass it).
 * Timestamps advance 1 µs per packet from a fixed start.
 */
import { openSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { craftFrame, craftVxlan } from '../../pipeline/craft.js';
import { fold, finish, pseudoV4, sum16, update16, update32 } from '../../pipeline/wire/checksum.js';

export type InputKind = 'plain' | 'vxlan' | 'tso';

export const PLAIN_FLOWS = 4096;
export const TSO_FLOWS = 256;
export const HANDSHAKE_MSS = 1460;

/** Offsets inside an untagged Ethernet + IPv4 (20) + TCP frame. */
const IP = 14;
const TCP = 34;

interface Flow {
  template: Uint8Array;
  /** Where the inner (or only) IPv4 and TCP headers start in the template. */
  ip: number;
  tcp: number;
  /** Outer IPv4 header (VXLAN), or -1. */
  outerIp: number;
  seq: number;
  id: number;
  outerId: number;
}

function flowAddresses(f: number): { src: string; dst: string; srcPort: number; dstPort: number } {
  return { src: `198.51.100.${1 + (f & 63)}`, dst: `203.0.113.${1 + (f >> 6)}`, srcPort: 32768 + f, dstPort: 5201 };
}

function plainFrame(f: number): Uint8Array {
  const a = flowAddresses(f);
  return craftFrame({
    ethSrc: '02:00:00:00:00:01',
    ethDst: '02:00:00:00:00:02',
    ip: { src: a.src, dst: a.dst, id: 0 },
    l4: { kind: 'tcp', srcPort: a.srcPort, dstPort: a.dstPort, seq: 0, ack: 1, flags: 0x10, window: 512 },
    payload: 1460,
  });
}

function plainFlows(vxlan: boolean): Flow[] {
  const flows: Flow[] = [];
  for (let f = 0; f < PLAIN_FLOWS; f++) {
    const inner = plainFrame(f);
    if (!vxlan) {
      flows.push({ template: inner, ip: IP, tcp: TCP, outerIp: -1, seq: 0, id: 0, outerId: 0 });
      continue;
    }
    const template = craftVxlan(inner, {
      ethSrc: '02:00:00:00:01:01',
      ethDst: '02:00:00:00:01:02',
      ip: { src: '192.0.2.1', dst: `192.0.2.${2 + (f & 7)}`, id: 0, df: false },
      srcPort: 32768 + ((f * 40503) % 28232),
      vni: 42 + (f & 15),
    });
    const off = template.length - inner.length;
    flows.push({ template, ip: off + IP, tcp: off + TCP, outerIp: IP, seq: 0, id: 0, outerId: 0 });
  }
  return flows;
}

const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const put16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
};
const put32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
};

/** Copy a flow's template to out[at..] with its next sequence number and IDs, checksums updated (RFC 1624). */
function emitPlain(flow: Flow, out: Uint8Array, at: number): number {
  const t = flow.template;
  out.set(t, at);
  const ip = at + flow.ip;
  const tcp = at + flow.tcp;
  put16(out, ip + 4, flow.id);
  put16(out, ip + 10, update16(be16(t, flow.ip + 10), 0, flow.id));
  put32(out, tcp + 4, flow.seq);
  put16(out, tcp + 16, update32(be16(t, flow.tcp + 16), 0, flow.seq));
  if (flow.outerIp >= 0) {
    const o = at + flow.outerIp;
    put16(out, o + 4, flow.outerId);
    put16(out, o + 10, update16(be16(t, flow.outerIp + 10), 0, flow.outerId));
    flow.outerId = (flow.outerId + 1) & 0xffff;
  }
  flow.id = (flow.id + 1) & 0xffff;
  flow.seq = (flow.seq + 1460) >>> 0;
  return t.length;
}

const MIN_SUPER = 16384;
const MAX_SUPER = 65514; // IPv4 total length 65500
const SUPER_STEP = 1543;

function tsoSyn(f: number, reply: boolean): Uint8Array {
  const a = flowAddresses(f);
  return craftFrame({
    ethSrc: reply ? '02:00:00:00:00:02' : '02:00:00:00:00:01',
    ethDst: reply ? '02:00:00:00:00:01' : '02:00:00:00:00:02',
    ip: reply ? { src: a.dst, dst: a.src, id: 0 } : { src: a.src, dst: a.dst, id: 0 },
    l4: reply
      ? { kind: 'tcp', srcPort: a.dstPort, dstPort: a.srcPort, seq: 7_000_000, ack: 1, flags: 0x12, window: 65535, mss: HANDSHAKE_MSS }
      : { kind: 'tcp', srcPort: a.srcPort, dstPort: a.dstPort, seq: 0, flags: 0x02, window: 65535, mss: HANDSHAKE_MSS },
  });
}

/** A TSO super-packet of `len` frame bytes for flow f into out[at..]: IPv4 checksum valid, TCP checksum partial. */
function emitSuper(tpl: Uint8Array, flow: Flow, len: number, out: Uint8Array, at: number): void {
  out.set(tpl.subarray(0, len), at);
  const ip = at + IP;
  const tcp = at + TCP;
  put16(out, ip + 2, len - 14);
  put16(out, ip + 4, flow.id);
  put16(out, ip + 10, 0);
  put16(out, ip + 10, finish(sum16(out, ip, ip + 20)));
  put32(out, tcp + 4, flow.seq);
  put16(out, tcp + 16, fold(pseudoV4(out, ip + 12, ip + 16, 6, len - TCP)));
  flow.id = (flow.id + 1) & 0xffff;
  flow.seq = (flow.seq + len - TCP - 20) >>> 0;
}

/** Generate `kind` into `path` until it holds at least `bytes` bytes; returns packets and bytes. */
export function generate(kind: InputKind, path: string, bytes: number): { packets: number; bytes: number } {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(8 << 20);
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(1, 20);
  chunk.set(hdr, 0);
  let used = 24;
  let written = 24;
  let n = 0;
  const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
  const record = (len: number): number => {
    if (used + 16 + len > chunk.length) {
      writeSync(fd, chunk, 0, used);
      used = 0;
    }
    chunk.writeUInt32LE(T0 + Math.floor(n / 1_000_000), used);
    chunk.writeUInt32LE(n % 1_000_000, used + 4);
    chunk.writeUInt32LE(len, used + 8);
    chunk.writeUInt32LE(len, used + 12);
    const at = used + 16;
    used += 16 + len;
    written += 16 + len;
    n++;
    return at;
  };
  if (kind === 'tso') {
    const a = flowAddresses(0);
    const tpl = craftFrame({
      ethSrc: '02:00:00:00:00:01',
      ethDst: '02:00:00:00:00:02',
      ip: { src: a.src, dst: a.dst, id: 0 },
      l4: { kind: 'tcp', srcPort: a.srcPort, dstPort: a.dstPort, seq: 0, ack: 7_000_001, flags: 0x18, window: 512 },
      payload: MAX_SUPER - TCP - 20,
    });
    const flows: Flow[] = [];
    for (let f = 0; f < TSO_FLOWS; f++) {
      for (const reply of [false, true]) {
        const syn = tsoSyn(f, reply);
        chunk.set(syn, record(syn.length));
      }
      // Per-flow template: addresses and ports of flow f over the shared payload.
      const t = tpl.slice();
      const ft = plainFrame(f);
      t.set(ft.subarray(IP + 12, IP + 20), IP + 12);
      t.set(ft.subarray(TCP, TCP + 4), TCP);
      flows.push({ template: t, ip: IP, tcp: TCP, outerIp: -1, seq: 1, id: 1, outerId: 0 });
    }
    let k = 0;
    while (written < bytes) {
      const flow = flows[(k * 37) % TSO_FLOWS]!;
      const len = MIN_SUPER + ((k * SUPER_STEP) % (MAX_SUPER - MIN_SUPER + 1));
      emitSuper(flow.template, flow, len, chunk, record(len));
      k++;
    }
  } else {
    const flows = plainFlows(kind === 'vxlan');
    while (written < bytes) {
      const flow = flows[(n * 2557) & (PLAIN_FLOWS - 1)]!;
      emitPlain(flow, chunk, record(flow.template.length));
    }
  }
  writeSync(fd, chunk, 0, used);
  fsyncSync(fd);
  closeSync(fd);
  return { packets: n, bytes: written };
}
