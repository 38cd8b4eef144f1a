/**
 * `capflow info`, run in-process: counts, VXLAN VNIs, comments, and the gso super-packet rule
 * with the auto MSS per flow (the same marker as the gso stage, so both agree).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPackets } from '../../pipeline/pcap/reader.js';
import type { CaptureInfo } from '../../pipeline/info.js';
import { MSS_RULE_TEXT } from '../../pipeline/gso/classify.js';
import { buildPcap, concat, epb, idb, shb } from '../helpers/pcap-build.js';
import { frame, pattern, TS_OPTS, vxlan } from '../gso/build.js';
import { makeGso } from '../gso/run.js';
import { runCli } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-info-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function infoJson(args: string[]): Promise<CaptureInfo> {
  const r = await runCli(['info', ...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as CaptureInfo;
}

/** Super-packets the gso stage itself finds in a file (wire view, NIC profile none: MTU 1500). */
async function gsoSuperPackets(path: string): Promise<number> {
  const g = makeGso({}, 'none', 'wire');
  for await (const p of readPackets(path, { name: path })) g.run(p);
  return g.res.stage.stats.superPackets;
}

describe('capflow info', () => {
  it('samples/tso-host.pcap --json: 6 packets, 2 super-packets, the flow\'s auto MSS 1388 from the peer SYN', async () => {
    const i = await infoJson(['samples/tso-host.pcap']);
    expect(i.format).toBe('pcap');
    expect(i.packets).toBe(6);
    expect(i.superPackets).toMatchObject({ tcp: 2, udp: 0, vxlan: 0, largest: 20066, mtu: 1500, truncated: 0 });
    expect(i.gso.rule).toBe(MSS_RULE_TEXT);
    expect(i.gso).toMatchObject({ mss: 'auto', mtu: 1500, vxlanPorts: [4789, 8472] });
    expect(i.gso.flows).toEqual([
      {
        flow: '203.0.113.1:43210 > 203.0.113.2:5001',
        proto: 'tcp',
        vxlan: false,
        gsoSize: 1388,
        superPackets: 2,
        source: 'peer-syn',
        peerMss: 1400,
        optionBytes: 12,
        mtu: 1500,
        outer: 0,
        mpls: 0,
        ipHeader: 20,
        l4Header: 32,
        reason: 'peer SYN MSS 1400 − 12 option bytes',
      },
    ]);
    expect(i.synMss).toEqual({ '203.0.113.1:43210 > 203.0.113.2:5001': 1460, '203.0.113.2:5001 > 203.0.113.1:43210': 1400 });
    // info and the gso stage agree.
    expect(await gsoSuperPackets('samples/tso-host.pcap')).toBe(2);
  });

  it('samples/tso-host.pcap text: super-packets, the auto MSS per flow and (--verbose) the rule', async () => {
    const r = await runCli(['info', 'samples/tso-host.pcap', '--verbose']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Packets:         6\n');
    expect(r.stdout).toContain('Super-packets:   2 TCP, 0 UDP larger than MTU 1500 (largest frame 20066 bytes)');
    expect(r.stdout).toContain('Auto MSS:        per flow: TCP 203.0.113.1:43210 > 203.0.113.2:5001 1388 (peer SYN MSS 1400 − 12 option bytes), 2 super-packets');
    expect(r.stdout).toContain('MSS rule:        gso mss=auto, mtu=1500, vxlanPorts=4789,8472:');
    for (const line of MSS_RULE_TEXT.split('\n')) expect(r.stdout).toContain(`                 ${line}\n`);
  });

  it('--mtu changes the rule (b) bound: a smaller MTU wins over the peer MSS', async () => {
    const i = await infoJson(['samples/tso-host.pcap', '--mtu', '1200']);
    expect(i.gso.flows[0]).toMatchObject({ gsoSize: 1200 - 20 - 32, source: 'mtu', reason: 'MTU 1200 − 20 IP − 32 TCP; not above peer SYN MSS 1400 − 12 option bytes' });
  });

  it('samples/vxlan-mixed.pcapng: 12 packets, 11 VXLAN on 4789, VNIs 42/100/7, no super-packets (no rule printed)', async () => {
    const i = await infoJson(['samples/vxlan-mixed.pcapng']);
    expect(i.format).toBe('pcapng');
    expect(i.nanosecond).toBe(true);
    expect(i.packets).toBe(12);
    expect(i.vxlan).toEqual({ packets: 11, vnis: { '42': 8, '100': 2, '7': 1 }, ports: { '4789': 11 } });
    expect(i.superPackets).toMatchObject({ tcp: 0, udp: 0 });
    expect(i.gso.flows).toEqual([]);
    const r = await runCli(['info', 'samples/vxlan-mixed.pcapng']);
    expect(r.stdout).toContain('VXLAN:           11 packets; VNIs 42 (8), 100 (2), 7 (1); ports 4789 (11)');
    expect(r.stdout).not.toContain('MSS rule');
  });

  it('a pcapng with comments: plain comments and capflow tunnel metadata are counted', async () => {
    const i = await infoJson(['samples/vxlan-decapped.pcapng']);
    expect(i.packets).toBe(12);
    expect(i.comments).toBe(12);
    expect(i.tunnelMetadata).toBe(12);
    const file = join(dir, 'comments.pcapng');
    const f = frame({ ip: { v: 4 }, l4: { kind: 'udp' }, payload: pattern(40) });
    writeFileSync(
      file,
      concat(
        shb(true),
        idb(true, { name: 'eth9' }),
        epb(true, { iface: 0, ts: 1_700_000_000_000_000n, data: f, comments: ['first', 'second'] }),
        epb(true, { iface: 0, ts: 1_700_000_000_000_100n, data: f, comments: ['tunnel vni=42 src=192.0.2.1 dst=192.0.2.2'] }),
        epb(true, { iface: 0, ts: 1_700_000_000_000_200n, data: f }),
      ),
    );
    const j = await infoJson([file]);
    expect(j.packets).toBe(3);
    expect(j.comments).toBe(3);
    expect(j.interfaces[0]).toMatchObject({ name: 'eth9', packets: 3 });
    const r = await runCli(['info', file]);
    expect(r.stdout).toMatch(/^Comments: +3/m);
  });

  it('a captured VXLAN super-packet: counted once, inner flow with MTU − outer headers, agreeing with gso', async () => {
    const inner = frame({ ip: { v: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'tcp', sport: 40000, dport: 80, options: TS_OPTS }, payload: pattern(6000), csum: 'partial' });
    const file = join(dir, 'vxlan-tso.pcap');
    writeFileSync(file, buildPcap({ le: true, snapLen: 262144, records: [{ sec: 1, frac: 0, data: vxlan(inner) }, { sec: 1, frac: 1, data: vxlan(inner, { dport: 8472, csum: true }) }] }));
    const i = await infoJson([file]);
    expect(i.superPackets).toMatchObject({ tcp: 2, udp: 0, vxlan: 2 });
    expect(i.vxlan.ports).toEqual({ '4789': 1, '8472': 1 });
    expect(i.gso.flows).toEqual([
      expect.objectContaining({ flow: '10.0.0.1:40000 > 10.0.0.2:80', vxlan: true, gsoSize: 1398, superPackets: 2, source: 'mtu', reason: 'MTU 1500 − 50 outer − 20 IP − 32 TCP' }),
    ]);
    expect(await gsoSuperPackets(file)).toBe(2);
    const r = await runCli(['info', file]);
    expect(r.stdout).toContain('2 of them VXLAN (UDP tunnel GSO)');
    expect(r.stdout).toContain('per flow: TCP 10.0.0.1:40000 > 10.0.0.2:80 in VXLAN 1398 (MTU 1500 − 50 outer − 20 IP − 32 TCP), 2 super-packets');
    // --vxlan-port without 8472: that frame is a plain UDP super-packet (gso would cut it as UDP_L4).
    const j = await infoJson([file, '--vxlan-port', '4789']);
    expect(j.superPackets).toMatchObject({ tcp: 1, udp: 1, vxlan: 1 });
  });

  it('snaplen-truncated over-MTU packets are not super-packets; counted apart', async () => {
    const f = frame({ ip: { v: 4 }, l4: { kind: 'tcp' }, payload: pattern(5000) });
    const file = join(dir, 'trunc.pcap');
    writeFileSync(file, buildPcap({ le: true, snapLen: 200, records: [{ sec: 1, frac: 0, data: f.subarray(0, 200), origLen: f.length }] }));
    const i = await infoJson([file]);
    expect(i.superPackets).toMatchObject({ tcp: 0, udp: 0, truncated: 1 });
    expect(await gsoSuperPackets(file)).toBe(0);
    const r = await runCli(['info', file]);
    expect(r.stdout).toContain('Over MTU:        1 packets longer than MTU 1500 but snaplen-truncated');
  });
});
