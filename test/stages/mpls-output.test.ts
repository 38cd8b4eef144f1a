/** mpls-push output checked by tshark, and the stage run through the CLI in-process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import type { Packet } from '../../pipeline/packet.js';
import { main } from '../../cli/main.js';
import { io } from '../../cli/command.js';
import { readPcap, writePcap } from '../kernel/frames.js';
import { haveTshark } from '../kernel/tshark.js';
import { ARP, IPV4_OPTS_UDP, IPV6_EXT_UDP, MPLS_ICMP, QINQ_UDP, SYN, VLAN_TCP, lse, packet, push, runAll, toHex } from './mpls-frames.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'capflow-mpls-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function writeCapture(path: string, pkts: Packet[]): Promise<void> {
  const w = await createFileWriter(path, { format: 'pcap' });
  const id = w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1_000_000 });
  pkts.forEach((p, i) => {
    p.tsSec = 1_700_000_000 + i;
    w.write(p, id, null);
  });
  await w.close();
}

interface Dissected {
  labels: number[];
  bottom: number[];
  ttl: number[];
  exp: number[];
  expert: string;
  malformed: string;
  protocols: string;
}

/**
 * Wireshark guesses what lies under the stack (MPLS does not say): IPv4/IPv6 by the first
 * nibble, else heuristics such as "PW Ethernet without control word", which misread an ARP
 * payload. `decodeAsData` labels are dissected as plain data instead.
 */
function dissect(file: string, decodeAsData: number[] = []): Dissected[] {
  const fields = ['mpls.label', 'mpls.bottom', 'mpls.ttl', 'mpls.exp', '_ws.expert', '_ws.malformed', 'frame.protocols'];
  // The golden UDP frames' 4-byte payload "abcd" trips Wireshark's TAPA heuristic (malformed
  // TAPA) with or without MPLS: not a question for this test.
  const args = ['-n', '-r', file, '--disable-protocol', 'tapa', '-T', 'fields', '-E', 'separator=|'];
  for (const f of fields) args.push('-e', f);
  for (const l of decodeAsData) args.push('-d', `mpls.label==${l},data`);
  const r = spawnSync('tshark', args, { stdio: 'pipe' });
  if (r.status !== 0) throw new Error(`tshark: ${r.stderr.toString()}`);
  const nums = (s: string) => (s ? s.split(',').map(Number) : []);
  return r.stdout
    .toString()
    .split('\n')
    .filter((l) => l)
    .map((l) => {
      const [labels = '', bottom = '', ttl = '', exp = '', expert = '', malformed = '', protocols = ''] = l.split('|');
      return { labels: nums(labels), bottom: nums(bottom), ttl: nums(ttl), exp: nums(exp), expert, malformed, protocols };
    });
}

describe.skipIf(!haveTshark())('mpls-push output in tshark', () => {
  it('every packet dissects as MPLS with the pushed labels, TTL, BoS and no warnings/errors', async () => {
    const cases: { frame: Uint8Array; stages: Record<string, unknown>[]; labels: number[]; bottom: number[]; ttl: number[]; exp: number[]; payload: string }[] = [
      { frame: SYN, stages: [{ labels: [{ label: 100, ttl: 64 }] }], labels: [100], bottom: [1], ttl: [64], exp: [0], payload: 'ip:tcp' },
      {
        frame: IPV6_EXT_UDP,
        stages: [{ labels: [{ label: 16, tc: 3, ttl: 'inherit' }, { label: 17, ttl: 5 }] }],
        labels: [16, 17],
        bottom: [0, 1],
        ttl: [64, 5],
        exp: [3, 0],
        payload: 'ipv6',
      },
      { frame: VLAN_TCP, stages: [{ labels: [{ label: 1000, ttl: 'inherit' }] }], labels: [1000], bottom: [1], ttl: [64], exp: [0], payload: 'vlan:ethertype:mpls:ip:tcp' },
      {
        frame: QINQ_UDP,
        stages: [{ labels: [{ label: 1048575, tc: 7, ttl: 255 }, { label: 20, ttl: 1 }] }],
        labels: [1048575, 20],
        bottom: [0, 1],
        ttl: [255, 1],
        exp: [7, 0],
        payload: 'ip:udp',
      },
      { frame: IPV4_OPTS_UDP, stages: [{ labels: [{ label: 30, ttl: 'inherit' }] }, { labels: [{ label: 31, ttl: 'inherit' }], multicast: true }], labels: [31, 30], bottom: [0, 1], ttl: [1, 1], exp: [0, 0], payload: 'ip:udp' },
      { frame: MPLS_ICMP, stages: [{ labels: [{ label: 50, ttl: 'inherit' }] }], labels: [50, 100, 200], bottom: [0, 0, 1], ttl: [64, 64, 63], exp: [0, 5, 0], payload: 'ip:icmp' },
      { frame: ARP, stages: [{ labels: [{ label: 60, ttl: 'inherit' }] }], labels: [60], bottom: [1], ttl: [255], exp: [0], payload: 'mpls' },
    ];
    const pkts = cases.map((c) => runAll(c.stages.map(push), packet(c.frame)));
    const file = join(dir, 'push.pcap');
    await writeCapture(file, pkts);
    const got = dissect(file, [60]);
    expect(got).toHaveLength(cases.length);
    got.forEach((d, i) => {
      const c = cases[i]!;
      expect({ i, labels: d.labels, bottom: d.bottom, ttl: d.ttl, exp: d.exp }).toEqual({ i, labels: c.labels, bottom: c.bottom, ttl: c.ttl, exp: c.exp });
      expect(d.protocols).toMatch(/^eth:ethertype:((ieee8021ad|vlan):ethertype:)*mpls(:|$)/);
      expect(d.protocols).toContain(c.payload);
      expect(d.malformed).toBe('');
      expect(d.expert).not.toMatch(/malformed|\((Warning|Error)\//i);
    });
  });
});

describe('mpls-push through the CLI', () => {
  it("capflow run IN -o OUT --stage 'mpls-push:labels=[{label: 100, ttl: 64}]' labels every packet", async () => {
    const input = join(dir, 'in.pcap');
    const output = join(dir, 'out.pcap');
    writePcap(input, [Buffer.from(SYN), Buffer.from(VLAN_TCP), Buffer.from(ARP)]);
    const err: string[] = [];
    const saved = io.err;
    io.err = (s) => void err.push(s);
    let status: number;
    try {
      status = await main(['run', input, '-o', output, '--stage', 'mpls-push:labels=[{label: 100, ttl: 64}]']);
    } finally {
      io.err = saved;
    }
    expect({ status, err: err.join('') }).toMatchObject({ status: 0 });
    const out = readPcap(output).records.map((r) => toHex(r.data));
    const one = lse(100, 0, true, 64);
    expect(out).toEqual([
      toHex(SYN.subarray(0, 12)) + '8847' + one + toHex(SYN.subarray(14)),
      toHex(VLAN_TCP.subarray(0, 16)) + '8847' + one + toHex(VLAN_TCP.subarray(18)),
      toHex(ARP.subarray(0, 12)) + '8847' + one + toHex(ARP.subarray(14)),
    ]);
    if (haveTshark()) {
      for (const d of dissect(output, [100])) {
        expect(d.labels).toEqual([100]);
        expect(d.malformed).toBe('');
      }
    }
  });

  it('a bad label in --stage is a usage error (exit 2) naming the key', async () => {
    const input = join(dir, 'in2.pcap');
    writePcap(input, [Buffer.from(SYN)]);
    const err: string[] = [];
    const saved = io.err;
    io.err = (s) => void err.push(s);
    let status: number;
    try {
      status = await main(['run', input, '-o', join(dir, 'out2.pcap'), '--stage', 'mpls-push:labels=[{label: 2000000, ttl: 64}]']);
    } finally {
      io.err = saved;
    }
    expect(status).toBe(2);
    expect(err.join('')).toMatch(/labels\[0\]\.label/);
  });

  it('a pipeline file with push and pop is accepted and round-trips', async () => {
    const input = join(dir, 'in3.pcap');
    const output = join(dir, 'out3.pcap');
    const pipe = join(dir, 'p.yaml');
    writeFileSync(pipe, 'stages:\n  - stage: mpls-push\n    labels: [{ label: 1, ttl: inherit }, { label: 2, ttl: 9 }]\n  - stage: mpls-pop\n  - stage: mpls-pop\n');
    writePcap(input, [Buffer.from(SYN), Buffer.from(QINQ_UDP), Buffer.from(ARP)]);
    const saved = io.err;
    io.err = () => {};
    let status: number;
    try {
      status = await main(['run', input, '-o', output, '--pipeline', pipe]);
    } finally {
      io.err = saved;
    }
    expect(status).toBe(0);
    expect(readPcap(output).records.map((r) => toHex(r.data))).toEqual([SYN, QINQ_UDP, ARP].map(toHex));
  });
});
