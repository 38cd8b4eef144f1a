import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffCaptures, formatDiff, type Difference, type DiffResult } from '../../pipeline/diff/index.js';
import { MPLS_ICMP, QINQ_UDP } from '../wire/golden-frames.js';
import { writeCapture, tcpFrame, udpFrame, vxlanTcpFrame, withTempDir, type Rec } from './captures.js';

/** `label: expected X, got Y` lines keyed by packet, for compact assertions. */
function lines(r: DiffResult): string[] {
  return r.differences.map((d: Difference) =>
    d.kind === 'field' ? `#${d.packet} ${d.label}: ${d.expected} | ${d.actual}` : `#${d.packet} ${d.kind}`,
  );
}

async function diffRecs(expected: Rec[], actual: Rec[], opts: Parameters<typeof diffCaptures>[2] = {}, fmt: ['pcap' | 'pcapng', 'pcap' | 'pcapng'] = ['pcapng', 'pcapng']) {
  return withTempDir(async (dir) => {
    const e = join(dir, `e.${fmt[0]}`);
    const a = join(dir, `a.${fmt[1]}`);
    await writeCapture(e, expected);
    await writeCapture(a, actual);
    return diffCaptures(e, a, opts);
  });
}

const recs = (...frames: Uint8Array[]): Rec[] => frames.map((frame) => ({ frame }));

describe('diffCaptures: equality', () => {
  it('the same packets in pcap, pcapng and gzip are equal', async () => {
    await withTempDir(async (dir) => {
      const packets: Rec[] = [
        { frame: tcpFrame(), frac: 123456 },
        { frame: vxlanTcpFrame(), frac: 1 },
        { frame: udpFrame() },
      ];
      await writeCapture(join(dir, 'a.pcap'), packets);
      await writeCapture(join(dir, 'a.pcapng'), packets);
      await writeCapture(join(dir, 'a.pcapng.gz'), packets);
      const r1 = await diffCaptures(join(dir, 'a.pcap'), join(dir, 'a.pcapng'));
      expect(r1).toMatchObject({ equal: true, packets: { expected: 3, actual: 3 }, differences: [], total: 0 });
      expect(r1.notes.join()).toMatch(/comments not compared: EXPECTED is a pcap file/);
      const r2 = await diffCaptures(join(dir, 'a.pcapng.gz'), join(dir, 'a.pcap'));
      expect(r2.equal).toBe(true);
      expect(formatDiff(r2)).toMatch(/^equal: EXPECTED 3 packets, ACTUAL 3 packets$/m);
    });
  });

  it('microsecond and nanosecond timestamps of the same instant are equal', async () => {
    await withTempDir(async (dir) => {
      await writeCapture(join(dir, 'us.pcap'), [{ frame: tcpFrame(), frac: 5 }]);
      await writeCapture(join(dir, 'ns.pcapng'), [{ frame: tcpFrame(), frac: 5000 }], { units: 1e9 });
      expect((await diffCaptures(join(dir, 'us.pcap'), join(dir, 'ns.pcapng'))).equal).toBe(true);
    });
  });
});

describe('diffCaptures: every kind of difference, at the right packet and field', () => {
  it('header fields, with the checksum that follows them', async () => {
    const r = await diffRecs(recs(tcpFrame(), tcpFrame(), tcpFrame()), recs(tcpFrame(), tcpFrame({ ttl: 63 }), tcpFrame()));
    expect(lines(r)).toEqual(['#2 ipv4.ttl: 64 | 63', expect.stringMatching(/^#2 ipv4\.checksum: 0x[0-9a-f]{4} \| 0x[0-9a-f]{4}$/)]);
    expect(r).toMatchObject({ equal: false, total: 2, packetsDiffering: 1 });
    expect(r.differences[0]!.field).toBe('ipv4.ttl');
    expect(r.differences[0]!.offset).toBe(14 + 8);
  });

  it('tunnelled packets name outer and inner fields', async () => {
    const r = await diffRecs(
      recs(vxlanTcpFrame(), vxlanTcpFrame()),
      recs(vxlanTcpFrame(), vxlanTcpFrame({ outerTtl: 63, inner: { seq: 2448 } })),
    );
    const text = formatDiff(r);
    expect(text).toContain('#2 outer ipv4.ttl: expected 64, got 63');
    expect(text).toContain('#2 inner tcp.seq: expected 1000, got 2448');
    // The inner TCP checksum follows the sequence number; it also compensates it in the sum
    // the outer UDP checksum takes, which therefore stays the same.
    expect(lines(r).map((l) => l.split(':')[0])).toEqual([
      '#2 outer ipv4.ttl',
      '#2 outer ipv4.checksum',
      '#2 inner tcp.seq',
      '#2 inner tcp.checksum',
    ]);
    expect(r.differences.map((d) => d.field)).toContain('inner.tcp.seq');
  });

  it('a hex context marks the differing bytes', async () => {
    const r = await diffRecs(recs(tcpFrame()), recs(tcpFrame({ seq: 1001 })));
    const text = formatDiff(r);
    // seq is at frame offset 14 + 20 + 4 = 38 (0x26); its last byte (0x2d) differs: 0xe8 -> 0xe9.
    expect(text).toMatch(/0x0020 {2}exp: .* e8/);
    expect(text).toMatch(/got: .* e9/);
    const ctx = r.differences.at(-1)!.context!;
    const expRow = ctx.find((l) => l.includes('0x0020'))!;
    const markRow = ctx[ctx.indexOf(expRow) + 2]!;
    expect(markRow.indexOf('^^')).toBe(expRow.indexOf('e8'));
  });

  it('lengths: frame.len, frame.caplen and the payload', async () => {
    const short = tcpFrame({ payload: 'hello' });
    const r = await diffRecs(recs(tcpFrame(), tcpFrame({ payload: 'hello, world' })), [
      { frame: tcpFrame() },
      { frame: short },
    ]);
    const l = lines(r);
    expect(l).toContain(`#2 frame.len: ${tcpFrame().length} | ${short.length}`);
    expect(l).toContain(`#2 frame.caplen: ${tcpFrame().length} | ${short.length}`);
    expect(l).toContain('#2 ipv4.len: 52 | 45');
    expect(l).toContain('#2 payload: 12 bytes | 5 bytes');
  });

  it('a snaplen-truncated packet differs in frame.caplen only (frame.len is the same)', async () => {
    const full = tcpFrame();
    const r = await diffRecs(recs(full), [{ frame: full.subarray(0, 60), origLen: full.length }]);
    expect(r.differences[0]).toMatchObject({ packet: 1, field: 'frame.caplen', expected: String(full.length), actual: '60' });
    expect(r.differences.some((d) => d.field === 'frame.len')).toBe(false);
  });

  it('missing and extra packets', async () => {
    const r1 = await diffRecs(recs(tcpFrame(), tcpFrame(), tcpFrame({ seq: 7 })), recs(tcpFrame(), tcpFrame()));
    expect(formatDiff(r1)).toContain('#3 missing in ACTUAL: 10.0.0.1 → 10.0.0.2 tcp 40000 → 80, 66 bytes');
    expect(r1.differences).toEqual([expect.objectContaining({ packet: 3, kind: 'missing', field: 'packet' })]);
    const r2 = await diffRecs(recs(tcpFrame()), recs(tcpFrame(), udpFrame(), udpFrame()));
    expect(formatDiff(r2)).toContain('#2 extra in ACTUAL: 10.0.0.1 → 10.0.0.2 udp 5000 → 6000');
    expect(r2.differences.map((d) => `${d.packet} ${d.kind}`)).toEqual(['2 extra', '3 extra']);
    expect(r2.packets).toEqual({ expected: 1, actual: 3 });
  });

  it('timestamps, exactly, in the finer resolution', async () => {
    await withTempDir(async (dir) => {
      await writeCapture(join(dir, 'e.pcapng'), [{ frame: tcpFrame(), sec: 1_700_000_000, frac: 1 }], { units: 1e9 });
      await writeCapture(join(dir, 'a.pcap'), [{ frame: tcpFrame(), sec: 1_700_000_000, frac: 1 }]);
      const r = await diffCaptures(join(dir, 'e.pcapng'), join(dir, 'a.pcap'));
      expect(formatDiff(r)).toContain('#1 timestamp: expected 1700000000.000000001, got 1700000000.000001000 (+999 ns)');
    });
  });

  it('comments (capflow metadata included) and interfaces', async () => {
    const tunnel = 'tunnel vni=42 src=192.0.2.1 dst=192.0.2.2 tos=0x00 ttl=64 tpSrc=0 tpDst=4789 flags=key';
    const r = await diffRecs(
      [{ frame: tcpFrame(), comments: [tunnel] }, { frame: tcpFrame() }, { frame: tcpFrame() }],
      [{ frame: tcpFrame(), comments: [tunnel.replace('vni=42', 'vni=43')] }, { frame: tcpFrame(), comments: ['hi'] }, { frame: tcpFrame(), iface: 1 }],
    );
    const l = lines(r);
    expect(l[0]).toBe(`#1 comment: ${JSON.stringify(tunnel)} | ${JSON.stringify(tunnel.replace('vni=42', 'vni=43'))}`);
    expect(l[1]).toBe('#2 comment: (none) | "hi"');
    expect(l[2]).toBe('#3 interface: 0 | 1');
  });

  it('a header present on one side only is reported once, by layer', async () => {
    const r = await diffRecs(recs(vxlanTcpFrame()), recs(vxlanTcpFrame({ vni: 7 })));
    expect(lines(r)).toEqual([
      '#1 outer udp.checksum: ' + r.differences[0]!.expected + ' | ' + r.differences[0]!.actual,
      '#1 outer vxlan.vni: 42 | 7',
    ]);
    const r2 = await diffRecs(recs(tcpFrame()), recs(udpFrame()));
    expect(lines(r2)).toEqual(
      expect.arrayContaining(['#1 ipv4.proto: 6 | 17', '#1 tcp: tcp header | (absent)', '#1 udp: (absent) | udp header']),
    );
  });
});

describe('stacks', () => {
  it('index VLAN tags and MPLS labels of a stack; [i] ignores one, no index all', async () => {
    const qinq = QINQ_UDP.slice();
    qinq[19] = 0x15;
    expect(lines(await diffRecs(recs(QINQ_UDP), recs(qinq)))).toEqual(['#1 vlan[1].id: 20 | 21']);
    const mpls = MPLS_ICMP.slice();
    mpls[17] = 1;
    mpls[21] = 1;
    expect(lines(await diffRecs(recs(MPLS_ICMP), recs(mpls)))).toEqual(['#1 mpls[0].ttl: 64 | 1', '#1 mpls[1].ttl: 63 | 1']);
    expect(lines(await diffRecs(recs(MPLS_ICMP), recs(mpls), { ignore: ['mpls[0].ttl'] }))).toEqual(['#1 mpls[1].ttl: 63 | 1']);
    expect((await diffRecs(recs(MPLS_ICMP), recs(mpls), { ignore: ['mpls.ttl'] })).equal).toBe(true);
  });
});

describe('--ignore', () => {
  it('masks the named field and its dependent checksum, nothing else', async () => {
    const e = recs(tcpFrame(), tcpFrame());
    const a = recs(tcpFrame({ id: 0x9999 }), tcpFrame({ id: 0x9999, ttl: 1 }));
    expect(lines(await diffRecs(e, a)).length).toBe(5);
    const r = await diffRecs(e, a, { ignore: ['ipv4.id'] });
    // Packet 1: id and checksum both masked. Packet 2: the TTL still differs, so the checksum is reported.
    expect(lines(r)).toEqual(['#2 ipv4.ttl: 64 | 1', expect.stringMatching(/^#2 ipv4\.checksum:/)]);
  });

  it('a checksum that differs by itself is still reported', async () => {
    const r = await diffRecs(recs(tcpFrame()), recs(tcpFrame({ csum: 'bad' })), { ignore: ['ipv4.id', 'tcp.seq'] });
    expect(lines(r)).toEqual([expect.stringMatching(/^#1 tcp\.checksum:/)]);
  });

  it('outer.udp.srcport masks the outer port and the outer UDP checksum, not inner ports', async () => {
    const e = recs(vxlanTcpFrame(), vxlanTcpFrame());
    const a = recs(vxlanTcpFrame({ outerSport: 50000 }), vxlanTcpFrame({ outerSport: 50000, inner: { sport: 1234 } }));
    const all = lines(await diffRecs(e, a));
    expect(all).toContain('#1 outer udp.srcport: 49152 | 50000');
    expect(all.some((l) => l.startsWith('#1 outer udp.checksum'))).toBe(true);
    const r = await diffRecs(e, a, { ignore: ['outer.udp.srcport'] });
    expect(lines(r).map((l) => l.split(':')[0])).toEqual(['#2 outer udp.checksum', '#2 inner tcp.srcport', '#2 inner tcp.checksum']);
    // inner. does not reach the outer header.
    const r2 = await diffRecs(e, a, { ignore: ['inner.udp.srcport'] });
    expect(lines(r2)).toContain('#1 outer udp.srcport: 49152 | 50000');
  });

  it('a zero UDP checksum ("none") against a non-zero one is reported even when its fields are masked', async () => {
    const e = recs(vxlanTcpFrame({ udpCsum: 'zero' }));
    const a = recs(vxlanTcpFrame({ outerSport: 50000 }));
    const r = await diffRecs(e, a, { ignore: ['outer.udp.srcport'] });
    expect(lines(r).map((l) => l.split(':')[0])).toEqual(['#1 outer udp.checksum']);
  });

  it('ipv4.id (unscoped) masks both headers and their checksums; outer. only the outer one', async () => {
    const e = recs(vxlanTcpFrame());
    const a = recs(vxlanTcpFrame({ outerId: 1, inner: { id: 2 } }));
    expect(lines(await diffRecs(e, a)).length).toBe(4);
    expect((await diffRecs(e, a, { ignore: ['ipv4.id'] })).equal).toBe(true);
    const outerOnly = await diffRecs(e, a, { ignore: ['outer.ipv4.id'] });
    expect(lines(outerOnly).map((l) => l.split(':')[0])).toEqual(['#1 inner ipv4.id', '#1 inner ipv4.checksum']);
  });

  it('packet fields and whole layers', async () => {
    const e: Rec[] = [{ frame: tcpFrame(), comments: ['a'] }];
    const a: Rec[] = [{ frame: tcpFrame({ seq: 5, window: 9 }), comments: ['b'], sec: 1 }];
    const r = await diffRecs(e, a, { ignore: ['timestamp', 'comment', 'tcp.*'] });
    expect(r.equal).toBe(true);
  });

  it('rejects unknown names, with the layer\'s fields as a hint', async () => {
    await expect(diffRecs(recs(tcpFrame()), recs(tcpFrame()), { ignore: ['ipv4.ttll'] })).rejects.toThrow(
      /--ignore ipv4\.ttll: unknown field; ipv4 fields: .*ipv4\.ttl/,
    );
    await expect(diffRecs(recs(tcpFrame()), recs(tcpFrame()), { ignore: ['outer.timestamp'] })).rejects.toThrow(/packet field/);
  });
});

describe('--unordered', () => {
  it('matches packets regardless of order and reports the unmatched ones', async () => {
    const e = recs(tcpFrame({ seq: 1 }), tcpFrame({ seq: 2 }), tcpFrame({ seq: 3 }), udpFrame());
    const a: Rec[] = [
      { frame: tcpFrame({ seq: 3 }), sec: 1_700_000_002 },
      { frame: tcpFrame({ seq: 1 }), sec: 1_700_000_000 },
      { frame: tcpFrame({ seq: 2 }), sec: 1_700_000_001 },
      { frame: tcpFrame({ seq: 99 }) },
    ];
    expect((await diffRecs(e, a)).total).toBeGreaterThan(3);
    const r = await diffRecs(e, a, { unordered: true });
    expect(r.differences.map((d) => `${d.kind} #${d.packet}`)).toEqual(['extra #4', 'missing #4']);
    expect(formatDiff(r)).toContain('#4 missing in ACTUAL: 10.0.0.1 → 10.0.0.2 udp 5000 → 6000');
  });

  it('compares the packet fields of matched pairs, naming both packet numbers', async () => {
    const r = await diffRecs(recs(tcpFrame({ seq: 1 }), tcpFrame({ seq: 2 })), [
      { frame: tcpFrame({ seq: 2 }), sec: 1_700_000_001 },
      { frame: tcpFrame({ seq: 1 }), sec: 5 },
    ], { unordered: true });
    expect(formatDiff(r)).toContain('#1 (ACTUAL #2) timestamp: expected 1700000000.000000, got 5.000000');
    expect(r.differences).toHaveLength(1);
  });

  it('hashes the masked bytes, so ignored fields do not prevent a match', async () => {
    const e = recs(tcpFrame({ id: 1, seq: 1 }), tcpFrame({ id: 2, seq: 2 }));
    const a = recs(tcpFrame({ id: 7, seq: 2 }), tcpFrame({ id: 8, seq: 1 }));
    const r = await diffRecs(e, a, { unordered: true, ignore: ['ipv4.id', 'timestamp'] });
    expect(r.equal).toBe(true);
  });

  it('duplicates are matched one for one', async () => {
    const r = await diffRecs(recs(tcpFrame(), tcpFrame()), recs(tcpFrame(), tcpFrame(), tcpFrame()), { unordered: true, ignore: ['timestamp'] });
    expect(r.differences.map((d) => `${d.kind} #${d.packet}`)).toEqual(['extra #3']);
  });
});

describe('--max', () => {
  it('lists at most N differences and counts the rest', async () => {
    const e = Array.from({ length: 30 }, () => ({ frame: tcpFrame() }));
    const a = Array.from({ length: 30 }, (_, i) => ({ frame: tcpFrame({ window: i + 1000 }) }));
    const r = await diffRecs(e, a, { max: 5 });
    expect(r.differences).toHaveLength(5);
    expect(r).toMatchObject({ total: 60, truncated: true, omitted: 55, packetsDiffering: 30 });
    expect(formatDiff(r)).toContain('differ: 60 differences in 30 packets (EXPECTED 30 packets, ACTUAL 30 packets); 55 more not shown (--max 5)');
    const all = await diffRecs(e, a, { max: 0 });
    expect(all).toMatchObject({ total: 60, truncated: false, omitted: 0 });
    expect(all.differences).toHaveLength(60);
  });
});

describe('packet sources', () => {
  it('compares a file with packets (arrays and async iterables)', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'g.pcapng');
      await writeCapture(path, recs(tcpFrame(), udpFrame()));
      const { readPackets } = await import('../../pipeline/pcap/reader.js');
      const packets = [];
      for await (const p of readPackets(path, { name: path })) packets.push(p);
      expect((await diffCaptures(path, packets)).equal).toBe(true);
      expect((await diffCaptures(path, readPackets(path, { name: path }))).equal).toBe(true);
      packets[1]!.buf[packets[1]!.head + 22] = 1;
      expect((await diffCaptures(path, packets)).differences[0]).toMatchObject({ packet: 2, field: 'ipv4.ttl' });
    });
  });
});
