/**
 * MPLS GSO, the kernel's definition (mpls_gso_segment): a super-packet that got a label stack is
 * segmented as the same super-packet without labels would be, and every segment carries the
 * identical stack. Checked by pushing labels then segmenting, against segmenting alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Packet } from '../../pipeline/packet.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { resolvePipeline } from '../../pipeline/config.js';
import { craftFrame } from '../../pipeline/craft.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { LINKTYPE } from '../../pipeline/pcap/link-type.js';
import { toolGate } from '../cli/cli-helpers.js';

const LABELS = [
  { label: 100, tc: 1, ttl: 64 },
  { label: 200, tc: 0, ttl: 'inherit' as const },
];

function run(stages: Record<string, unknown>[], frame: Uint8Array, nic = 'none', view: 'driver' | 'wire' = 'wire'): Packet[] {
  const p = new Pipeline(resolvePipeline({ nic, view, stages }, 'test'));
  const out: Packet[] = [];
  p.process(Packet.fromBytes(frame), out);
  return out;
}

const superPackets = {
  'TCP/IPv4 with timestamps, PSH|FIN': craftFrame({ ip: { src: '198.51.100.1', dst: '198.51.100.2', ttl: 61, id: 7 }, l4: { kind: 'tcp', srcPort: 40000, dstPort: 80, seq: 4294960000, flags: 0x19, tsval: 99 }, payload: 9000 }),
  'TCP/IPv6, CWR': craftFrame({ ip: { src: '2001:db8::1', dst: '2001:db8::2', ttl: 33 }, l4: { kind: 'tcp', srcPort: 40001, dstPort: 443, seq: 5, flags: 0x90 }, payload: 7000 }),
  'UDP/IPv4 (USO)': craftFrame({ ip: { src: '198.51.100.1', dst: '198.51.100.2' }, l4: { kind: 'udp', srcPort: 5000, dstPort: 6000 }, payload: 4000 }),
};

const dir = mkdtempSync(join(tmpdir(), 'capflow-mpls-gso-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MPLS GSO equals plain GSO under an identical label stack', () => {
  for (const [name, frame] of Object.entries(superPackets)) {
    for (const nic of ['none', 'ice', 'bnxt']) {
      it(`${name}, NIC ${nic}`, () => {
        // Crafted frames carry complete checksums: at their captured size only an MTU the user
        // gives makes them super-packets.
        const plain = run([{ stage: 'gso', mss: 1400, mtu: 1500 }], frame, nic);
        const labelled = run([{ stage: 'mpls-push', labels: LABELS }, { stage: 'gso', mss: 1400, mtu: 1500 }], frame, nic);
        expect(plain.length).toBeGreaterThan(1);
        expect(labelled.length).toBe(plain.length);
        const stack = labelled[0]!.data.subarray(12, 22);
        expect(stack[0]).toBe(0x88);
        expect(stack[1]).toBe(0x47);
        labelled.forEach((seg, k) => {
          const d = seg.data;
          // The same L2 header and the identical label stack on every segment...
          expect(Buffer.from(d.subarray(0, 22)).toString('hex')).toBe(Buffer.from(labelled[0]!.data.subarray(0, 22)).toString('hex'));
          // ...and under it exactly the plain segment's network packet.
          expect(Buffer.from(d.subarray(22)).toString('hex')).toBe(Buffer.from(plain[k]!.data.subarray(14)).toString('hex'));
        });
        // Label TTL inherit copied the IP TTL / hop limit of the super-packet; BoS on the inner one only.
        const lse2 = (stack[6]! << 24) | (stack[7]! << 16) | (stack[8]! << 8) | stack[9]!;
        expect(lse2 >>> 12).toBe(200);
        expect(lse2 & 0x100).toBe(0x100);
        expect(stack[5]! & 0x01).toBe(0);
      });
    }
  }

  it('a profile with MPLS TSO in hardware (mlx5) keeps the labelled super-packet whole in driver view', () => {
    const frame = superPackets['TCP/IPv4 with timestamps, PSH|FIN'];
    const out = run([{ stage: 'mpls-push', labels: LABELS }, { stage: 'gso', mss: 1400 }], frame, 'mlx5', 'driver');
    expect(out.length).toBe(1);
    expect(out[0]!.notes?.[0]).toMatch(/^gso type=tcpv4 size=1400 segs=7/);
    const ice = run([{ stage: 'mpls-push', labels: LABELS }, { stage: 'gso', mss: 1400 }], frame, 'ice', 'driver');
    expect(ice.length).toBe(7); // ice: no HW_CSUM, so MPLS falls back to software (mpls_gso_segment keeps HW_CSUM only from mpls_features)
  });
});

const tshark = toolGate('tshark');
describe.skipIf(tshark.skip)(`MPLS GSO output dissected by tshark${tshark.label}`, () => {
  it('every segment is MPLS 100/200 over IP with valid checksums and nothing malformed', async () => {
    const path = join(dir, 'mpls-gso.pcapng');
    const w = await createFileWriter(path, { format: 'pcapng' });
    const id = w.addInterface({ linkType: LINKTYPE.ETHERNET, snapLen: 262144, tsUnits: 1e9 });
    let n = 0;
    for (const frame of Object.values(superPackets)) {
      for (const seg of run([{ stage: 'mpls-push', labels: LABELS }, { stage: 'gso', mss: 1400 }], frame)) {
        w.write(seg, id, null);
        n++;
      }
    }
    await w.close();
    const r = spawnSync(
      'tshark',
      ['-r', path, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|', '-e', 'mpls.label', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status', '-e', '_ws.malformed', '-e', '_ws.expert.severity'],
      { encoding: 'utf8' },
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(n);
    for (const line of lines) {
      const [labels, ipStatus, tcpStatus, udpStatus, malformed] = line.split('|');
      expect(labels).toBe('100,200');
      if (ipStatus) expect(ipStatus).toBe('1'); // 1 = good, 0 = bad, 2 = unverified
      expect(tcpStatus || udpStatus).toBe('1');
      expect(malformed).toBe('');
    }
  });
});
