/**
 * Never write a capture its readers refuse: a record above the 262144-byte limit is dropped
 * (`record-too-large`, counted); a link type pcap cannot carry is refused naming the interface;
 * Linux cooked 802.2 LLC frames become proper 802.3 frames under `linkLayer: {to: ethernet}`.
 * Each output is read back by capflow and by tshark.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPcap, concat, epb, frame, idb, shb } from '../helpers/pcap-build.js';
import { toolGate } from './cli-helpers.js';
import { capflowSync, haveCli } from './spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tshark = toolGate('tshark');

/** tshark fields per frame, failing on any error reading the file. */
function tsharkFields(file: string, fields: string[]): string[][] {
  const args = ['-n', '-r', file, '-T', 'fields', '-E', 'separator=|'];
  for (const f of fields) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('|'));
}

/** An Ethernet frame of `len` bytes with a local experimental EtherType and a zero payload (nothing for stages to touch). */
function experimental(len: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5]);
  return f;
}

describe.skipIf(!haveCli)('records larger than readers accept', () => {
  it('drops a frame grown past 262144 bytes as record-too-large; the output reads back', () => {
    const input = join(dir, 'big.pcap');
    writeFileSync(input, buildPcap({ le: true, snapLen: 262144, records: [
      { sec: 1_700_000_000, frac: 0, data: experimental(262144) },
      { sec: 1_700_000_001, frac: 0, data: experimental(100) },
    ] }));
    const out = join(dir, 'big-out.pcap');
    const r = capflowSync(['run', input, '-o', out, '--stage', 'mpls-push:labels=[{label: 100, ttl: 64}]', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { packetsIn: number; forwarded: number; dropped: number; drops: Record<string, number> };
    expect(s).toMatchObject({ packetsIn: 2, forwarded: 1, dropped: 1, drops: { 'record-too-large': 1 } });
    expect(r.stderr).toMatch(/262148-byte frame exceeds the 262144-byte record limit/);
    const info = capflowSync(['info', out, '--json']);
    expect(info.status, info.stderr).toBe(0);
    expect((JSON.parse(info.stdout) as { packets: number }).packets).toBe(1);
    if (!tshark.skip) expect(tsharkFields(out, ['frame.len', 'mpls.label'])).toEqual([['104', '100']]);
  });
});

describe.skipIf(!haveCli)('link types pcap cannot carry', () => {
  const le = true;
  for (const linkType of [999, 65535]) {
    it(`refuses link type ${linkType} into .pcap (exit 1, naming the interface); .pcapng keeps it`, () => {
      const input = join(dir, `lt${linkType}.pcapng`);
      writeFileSync(input, concat(shb(le), idb(le, { linkType: 1, name: 'eth0' }), idb(le, { linkType, name: 'odd0' }),
        epb(le, { iface: 0, ts: 1n, data: experimental(60) }), epb(le, { iface: 1, ts: 2n, data: frame(60, 2) })));
      const out = join(dir, `lt${linkType}.pcap`);
      const r = capflowSync(['run', input, '-o', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`capflow: ${out}: interface #1 (odd0) of ${input}: pcap cannot carry link type ${linkType} of interface "odd0" (readers refuse a pcap file with it); write pcapng (.pcapng or --format pcapng)\n`);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((n) => n.includes('.capflow-'))).toEqual([]);
      const ng = join(dir, `lt${linkType}-out.pcapng`);
      const ok = capflowSync(['run', input, '-o', ng]);
      expect(ok.status, ok.stderr).toBe(0);
      if (!tshark.skip) expect(tsharkFields(ng, ['frame.len'])).toEqual([['60'], ['60']]);
    });
  }
});

/** A Linux cooked header (SLL, 16 bytes) with `protocol`. */
function sll(protocol: number): number[] {
  return [0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 9, 0, 0, protocol >> 8, protocol & 0xff];
}
/** Linux cooked header v2 (SLL2, 20 bytes) with `protocol`. */
function sll2(protocol: number): number[] {
  return [protocol >> 8, protocol & 0xff, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 9, 0, 0];
}
/** 802.2 LLC (DSAP/SSAP 0x42, UI) and an STP configuration BPDU: 38 bytes. */
const stpBpdu = [0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 0x80, 0, 0x02, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0x80, 0, 0x02, 0, 0, 0, 0, 9, 0x80, 0x01, 0, 0, 0x14, 0, 0x02, 0, 0x0f, 0];
/** Raw 802.3 (Novell): an IPX header starting with checksum 0xffff, 30 bytes. */
const ipx = [0xff, 0xff, 0, 30, 0, 4, ...new Array<number>(24).fill(0)];

/** A SocketCAN frame: ID 0x123, 8 data bytes. */
const canFrame = [0, 0, 0x01, 0x23, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];

describe.skipIf(!haveCli || tshark.skip)(`cooked 802.2 / 802.3 frames to Ethernet${tshark.label}`, () => {
  const pipeline = join(dir, 'to-ethernet.yaml');
  writeFileSync(pipeline, 'linkLayer: {to: ethernet}\n');
  for (const [name, linkType, header] of [['SLL', 113, sll], ['SLL2', 276, sll2]] as const) {
    it(`${name}: LLC and IPX get an 802.3 length; CAN passes untouched; nothing malformed`, () => {
      const input = join(dir, `${name}.pcap`);
      writeFileSync(input, buildPcap({ le: true, linkType, snapLen: 262144, records: [
        { sec: 1, frac: 0, data: Uint8Array.from([...header(0x0004), ...stpBpdu]) },
        { sec: 2, frac: 0, data: Uint8Array.from([...header(0x0001), ...ipx]) },
        { sec: 3, frac: 0, data: Uint8Array.from([...header(0x000c), ...canFrame]) },
      ] }));
      const out = join(dir, `${name}-eth.pcapng`);
      const r = capflowSync(['run', input, '-o', out, '--pipeline', pipeline]);
      expect(r.status, r.stderr).toBe(0);
      const rows = tsharkFields(out, ['eth.len', 'frame.protocols', '_ws.malformed']);
      expect(rows.map((f) => f[0])).toEqual(['38', '30', '']);
      expect(rows[0]![1]).toMatch(/^eth:ethertype:llc:stp$|^eth:llc:stp$/);
      expect(rows[1]![1]).toMatch(/:ipx$/);
      expect(rows[2]![1]).toMatch(/^sll/);
      for (const f of rows) expect(f[2]).toBe('');
    });
  }
});
