import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GSO, type Packet } from '../../pipeline/packet.js';
import { Layers, decodeFrame } from '../../pipeline/decode.js';
import { checksumProblems, frame, pattern, pkt, TS_OPTS, vxlan, type FrameSpec } from './build.js';
import { runGso } from './run.js';
import { haveTshark, tsharkCheck } from '../kernel/tshark.js';
import { writePcap } from '../kernel/frames.js';

const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

const specArb = fc.record({
  v: fc.constantFrom(4 as const, 6 as const),
  udp: fc.boolean(),
  vlan: fc.constantFrom<number[]>([], [7], [7, 8]),
  mpls: fc.constantFrom<number[]>([], [100], [100, 200, 300]),
  ipOpts: fc.constantFrom<number[]>([], [0x94, 4, 0, 0]),
  ext: fc.constantFrom([] as Array<[number, number]>, [[0, 8]] as Array<[number, number]>),
  tsOpts: fc.boolean(),
  flags: fc.integer({ min: 0, max: 255 }).map((f) => (f & ~0x07) | 0x10),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  payload: fc.integer({ min: 1, max: 20000 }),
  mss: fc.oneof(fc.constant('auto' as const), fc.integer({ min: 64, max: 1400 })),
  mtu: fc.integer({ min: 600, max: 9000 }),
  nic: fc.constantFrom('none', 'veth', 'virtio-net', 'mlx5', 'ixgbe', 'ice', 'bnxt'),
})
  // A UDP GSO request holds at most UDP_MAX_SEGMENTS (128) segments (larger ones are dropped,
  // test/cli/gso-requests-read-back.test.ts).
  .filter((s) => !s.udp || s.mss === 'auto' || Math.ceil(s.payload / s.mss) <= 128);

type Spec = typeof specArb extends fc.Arbitrary<infer T> ? T : never;

function build(s: Spec): Uint8Array {
  const spec: FrameSpec = {
    vlan: s.vlan,
    mpls: s.mpls,
    ip: s.v === 4 ? { v: 4, options: s.ipOpts } : { v: 6, ext: s.ext },
    l4: s.udp ? { kind: 'udp' } : { kind: 'tcp', flags: s.flags, seq: s.seq, options: s.tsOpts ? TS_OPTS : [] },
    payload: pattern(s.payload, s.seq & 0xff),
  };
  return frame(spec);
}

function inner(p: Packet) {
  const L = new Layers();
  decodeFrame(p.buf, p.head, p.tail, L);
  return L;
}

describe('segmentation properties (wire view)', () => {
  it('payloads concatenate to the original, seqs contiguous, flags per rules, MTU respected, checksums verify', () => {
    fc.assert(
      fc.property(specArb, (s) => {
        const f = build(s);
        const r = runGso([pkt(f)], { mss: s.mss, mtu: s.mtu, mtuPolicy: 'ignore' }, s.nic, 'wire');
        expect(r.drops).toEqual([]);
        const src = inner(pkt(f));
        const payload = f.subarray(src.payloadOff - 128, src.ipEnd - 128);
        const parts: Uint8Array[] = [];
        let seq = s.seq;
        const l3Over = (L: Layers) => L.ipEnd - (L.mplsOff >= 0 ? L.mplsOff : L.netOff);
        const marked = r.out.length > 1;
        r.out.forEach((p, k) => {
          const L = inner(p);
          expect(checksumProblems(p.data)).toEqual([]);
          parts.push(p.data.subarray(L.payloadOff - p.head, L.ipEnd - p.head));
          if (marked) {
            if (s.mss === 'auto') expect(l3Over(L)).toBeLessThanOrEqual(s.mtu);
            if (!s.udp) {
              const t = L.transOff;
              expect(u32(p.buf, t + 4)).toBe(seq >>> 0);
              seq = (seq + (L.ipEnd - L.payloadOff)) >>> 0;
              const fl = p.buf[t + 13]!;
              const last = k === r.out.length - 1;
              expect(fl & 0x09).toBe(last ? s.flags & 0x09 : 0);
              expect(fl & 0x80).toBe(k === 0 ? s.flags & 0x80 : 0);
            }
          }
        });
        expect(Buffer.concat(parts)).toEqual(Buffer.from(payload));
      }),
      { numRuns: 150 },
    );
  });

  it('driver view: every segment of a software-segmented super-packet is complete or a correct partial', () => {
    fc.assert(
      fc.property(specArb, (s) => {
        const r = runGso([pkt(build(s))], { mss: s.mss, mtu: s.mtu, mtuPolicy: 'ignore' }, s.nic, 'driver');
        for (const p of r.out) {
          if (p.gsoSize > 0) continue; // left to the device
          if (p.csumMode === 3) {
            const c = p.clone();
            const f = c.csumStart + c.csumOffset;
            let acc = 0;
            const L = inner(c);
            const end = L.ipEnd;
            for (let i = c.csumStart; i < end; i += 2) acc += (c.buf[i]! << 8) | (i + 1 < end ? c.buf[i + 1]! : 0);
            while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
            const v = ~acc & 0xffff;
            c.buf[f] = v >>> 8;
            c.buf[f + 1] = v & 0xff;
            expect(checksumProblems(c.data)).toEqual([]);
          } else expect(checksumProblems(p.data)).toEqual([]);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe.skipIf(!haveTshark())('tshark on wire-view outputs', () => {
  it('no bad checksums and no malformed packets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capflow-gso-ts-'));
    try {
      const frames: Uint8Array[] = [];
      const inputs = [
        frame({ ip: { v: 4, options: [0x94, 4, 0, 0] }, l4: { kind: 'tcp', options: TS_OPTS, flags: 0x19 }, payload: pattern(9000) }),
        frame({ vlan: [10], ip: { v: 6, ext: [[0, 8]] }, l4: { kind: 'tcp' }, payload: pattern(7000) }),
        frame({ mpls: [100, 200], ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(5000) }),
        frame({ ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(3000) }),
      ];
      for (const f of inputs) for (const p of runGso([pkt(f)], {}, 'mlx5', 'wire').out) frames.push(p.data);
      // VXLAN super-packet with outer checksum, and an IPv4 fragment train.
      const vx = pkt(vxlan(frame({ ip: { v: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'tcp', options: TS_OPTS }, payload: pattern(8000) }), { csum: true }));
      const L = inner(vx);
      vx.encapsulation = true;
      vx.innerMacOff = L.transOff + 16;
      vx.gsoSize = 1398;
      vx.gsoType = GSO.TCPV4 | GSO.UDP_TUNNEL_CSUM;
      for (const p of runGso([vx], {}, 'mlx5', 'wire').out) frames.push(p.data);
      for (const p of runGso([pkt(frame({ ip: { v: 4, df: false }, l4: { kind: 'udp' }, payload: pattern(3000) }))], { mss: 9000 }, 'none', 'wire').out) frames.push(p.data);
      const file = join(dir, 'wire.pcap');
      writePcap(file, frames.map((f) => Buffer.from(f)));
      const rep = tsharkCheck(file, ['tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'ip.check_checksum:TRUE']);
      expect(rep.count).toBe(frames.length);
      expect(rep.malformed).toEqual([]);
      for (const e of rep.experts) expect(e).not.toMatch(/bad|incorrect/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
