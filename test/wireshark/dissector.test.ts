/**
 * The capflow Wireshark dissector (pipeline/wireshark/capflow.lua) under Debian's tshark (Lua 5.2):
 * it loads, filters a run's output by VNI, shows the GSO note's values, and reads exactly the
 * comments capflow's own reader accepts (one grammar for the writer, the reader and the dissector).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toolGate } from '../cli/cli-helpers.js';
import { craftFrame } from '../../pipeline/craft.js';
import { TunnelInfo, TUNNEL } from '../../pipeline/metadata.js';
import { formatGsoNote, parseGsoNote } from '../../pipeline/gso/notes.js';
import { GSO, Packet } from '../../pipeline/packet.js';
import { parseIp } from '../../pipeline/wire/ip-address.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { readPackets } from '../../pipeline/pcap/reader.js';
import { REPO, SLOW, buildGate, capflow, cleanHome, tsharkFields, tsharkLua } from './wireshark-helpers.js';

const tshark = toolGate('tshark');
const build = buildGate();
const home = cleanHome();
afterAll(() => rmSync(home, { recursive: true, force: true }));

const TUNNEL_FIELDS = [
  'capflow.tunnel.vni', 'capflow.tunnel.src', 'capflow.tunnel.dst', 'capflow.tunnel.src6', 'capflow.tunnel.dst6',
  'capflow.tunnel.tos', 'capflow.tunnel.ttl', 'capflow.tunnel.tp_src', 'capflow.tunnel.tp_dst', 'capflow.tunnel.label',
  'capflow.tunnel.gbp', 'capflow.tunnel.flags', 'capflow.tunnel.flags.key', 'capflow.tunnel.flags.csum',
  'capflow.tunnel.flags.df', 'capflow.tunnel.flags.oam', 'capflow.tunnel.flags.vxlan_opt', 'capflow.tunnel.tx',
] as const;
const GSO_FIELDS = ['capflow.gso.type', 'capflow.gso.size', 'capflow.gso.segs'] as const;
const ALL_FIELDS = [...TUNNEL_FIELDS, ...GSO_FIELDS, 'capflow.note', '_ws.expert.message'] as const;

describe.skipIf(tshark.skip)(`capflow dissector in tshark${tshark.label}`, SLOW, () => {
  it('loads with -X lua_script and registers every documented field', () => {
    const r = tsharkLua(home, ['-G', 'fields']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/lua|error/i);
    const names = new Set(r.stdout.split('\n').map((l) => l.split('\t')[2]));
    for (const f of [...TUNNEL_FIELDS, ...GSO_FIELDS, 'capflow.tunnel', 'capflow.gso', 'capflow.note']) expect(names, f).toContain(f);
    // The README's grammar names the same fields.
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const documented = [...readme.matchAll(/`(capflow\.(?:tunnel|gso|note)[a-z0-9_.]*)`/g)].map((m) => m[1]!);
    for (const f of documented) expect(names, `README names ${f}`).toContain(f);
  });

  it.skipIf(build.skip)("-Y 'capflow.tunnel.vni == 42' selects exactly the decapsulated packets of VNI 42", async () => {
    const out = join(home, 'decap.pcapng');
    const run = capflow(['run', join(REPO, 'samples', 'vxlan-mixed.pcapng'), '--stage', 'vxlan-decap', '-o', out]);
    expect(run.status, run.stderr).toBe(0);

    // Expected, by capflow's reader: the output packets whose tunnel comment says VNI 42.
    const expected: number[] = [];
    const vnis = new Set<number>();
    let n = 0;
    for await (const p of readPackets(out, { name: out })) {
      n++;
      const t = (p.comments ?? []).map((c) => TunnelInfo.fromComment(c)).find((x) => x !== null);
      if (t) vnis.add(t.vni);
      if (t?.vni === 42) expected.push(n);
    }
    expect(vnis.size, 'the sample has several VNIs').toBeGreaterThan(1);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(n);

    const got = tsharkFields(home, out, ['frame.number', 'ip.id'], 'capflow.tunnel.vni == 42');
    expect(got.map((l) => Number(l[0]))).toEqual(expected);

    // Independently of capflow's reader: the selected packets are the inner packets of the input's
    // VNI 42 frames (matched by inner IPv4 ID / IPv6 flow), and no other packet of the output is.
    const inputIds = new Set(
      tsharkFields(home, join(REPO, 'samples', 'vxlan-mixed.pcapng'), ['ip.id'], 'vxlan.vni == 42').map((l) => l[0]!.split(',').at(-1)),
    );
    for (const l of got) expect(inputIds, `frame ${l[0]}`).toContain(l[1]!.split(',').at(-1));
    const others = tsharkFields(home, out, ['frame.number', 'ip.id'], '!(capflow.tunnel.vni == 42) && ip');
    for (const l of others) expect(inputIds, `frame ${l[0]}`).not.toContain(l[1]!.split(',').at(-1));
  });

  it.skipIf(build.skip)("capflow.gso.segs/size/type equal the GSO note's values, and the segments the wire view makes", async () => {
    const driver = join(home, 'tso-driver.pcapng');
    const wire = join(home, 'tso-wire.pcapng');
    const tso = join(REPO, 'samples', 'tso-host.pcap');
    expect(capflow(['run', tso, '--nic', 'ixgbe', '--view', 'driver', '-o', driver]).status).toBe(0);
    expect(capflow(['run', tso, '--nic', 'ixgbe', '--view', 'wire', '-o', wire]).status).toBe(0);

    const rows = tsharkFields(home, driver, ['frame.comment', ...GSO_FIELDS]);
    let segsTotal = 0;
    let whole = 0;
    let marked = 0;
    for (const [comment = '', type, size, segs] of rows) {
      const note = parseGsoNote(comment);
      if (!note) {
        expect(segs).toBe('');
        whole++;
        continue;
      }
      marked++;
      expect(Number(segs)).toBe(note.gsoSegs);
      expect(Number(size)).toBe(note.gsoSize);
      expect(type).toBe(/type=(\S+)/.exec(comment)![1]);
      segsTotal += Number(segs);
    }
    expect(marked).toBeGreaterThan(0);
    const wireFrames = tsharkFields(home, wire, ['frame.number']).length;
    expect(whole + segsTotal).toBe(wireFrames);
  });

  it('reads exactly what the writer emits and the reader accepts; invalid comments give an expert warning, never a Lua error', async () => {
    const cases = grammarCases();
    const file = join(home, 'grammar.pcapng');
    await writeCommented(file, cases.map((c) => c.text));
    const rows = tsharkFields(home, file, ['frame.number', ...ALL_FIELDS]);
    expect(rows).toHaveLength(cases.length);

    rows.forEach((row, i) => {
      const c = cases[i]!;
      const v = Object.fromEntries(ALL_FIELDS.map((f, k) => [f, row[k + 1] ?? '']));
      const what = `#${i + 1} ${JSON.stringify(c.text.slice(0, 120))}`;
      const t = TunnelInfo.fromComment(c.text);
      const g = /^gso type=\S+ size=\d+ segs=\d+/.test(c.text) ? parseGsoNote(c.text) : null;
      expect(c.valid === undefined || c.valid === (t !== null || g !== null), `${what}: case expectation`).toBe(true);
      if (t) {
        expect(Number(v['capflow.tunnel.vni']), what).toBe(t.vni);
        // Compared as addresses: Wireshark writes ::ffff:192.0.2.9 where capflow writes ::ffff:c000:209.
        expect(parseIp(v[t.ipv6 ? 'capflow.tunnel.src6' : 'capflow.tunnel.src']!), what).toEqual(t.src.subarray(0, t.addrLen));
        expect(parseIp(v[t.ipv6 ? 'capflow.tunnel.dst6' : 'capflow.tunnel.dst']!), what).toEqual(t.dst.subarray(0, t.addrLen));
        expect(v[t.ipv6 ? 'capflow.tunnel.src' : 'capflow.tunnel.src6'], what).toBe('');
        expect(Number(v['capflow.tunnel.tos']), what).toBe(t.tos);
        expect(Number(v['capflow.tunnel.ttl']), what).toBe(t.ttl);
        expect(Number(v['capflow.tunnel.tp_src']), what).toBe(t.tpSrc);
        expect(Number(v['capflow.tunnel.tp_dst']), what).toBe(t.tpDst);
        expect(v['capflow.tunnel.label'] === '' ? null : Number(v['capflow.tunnel.label']), what).toBe(/ label=/.test(c.text) ? t.label : null);
        expect(v['capflow.tunnel.gbp'] === '' ? null : Number(v['capflow.tunnel.gbp']), what).toBe(/ gbp=/.test(c.text) ? t.gbp : null);
        expect(Number(v['capflow.tunnel.flags']), what).toBe(t.flags);
        expect(bool(v['capflow.tunnel.flags.key']), what).toBe((t.flags & TUNNEL.KEY) !== 0);
        expect(bool(v['capflow.tunnel.flags.csum']), what).toBe((t.flags & TUNNEL.CSUM) !== 0);
        expect(bool(v['capflow.tunnel.flags.df']), what).toBe((t.flags & TUNNEL.DONT_FRAGMENT) !== 0);
        expect(bool(v['capflow.tunnel.flags.oam']), what).toBe((t.flags & TUNNEL.OAM) !== 0);
        expect(bool(v['capflow.tunnel.flags.vxlan_opt']), what).toBe((t.flags & TUNNEL.VXLAN_OPT) !== 0);
        expect(bool(v['capflow.tunnel.tx']), what).toBe(t.tx);
      } else {
        expect(v['capflow.tunnel.vni'], what).toBe('');
        expect(v['capflow.tunnel.flags'], what).toBe('');
      }
      if (g) {
        expect(Number(v['capflow.gso.segs']), what).toBe(g.gsoSegs);
        expect(Number(v['capflow.gso.size']), what).toBe(g.gsoSize);
        expect(v['capflow.gso.type'], what).toBe(/^gso type=(\S+)/.exec(c.text)![1]);
      } else expect(v['capflow.gso.segs'], what).toBe('');
      const bad = /capflow comment not understood/.test(v['_ws.expert.message']!);
      expect(bad, `${what}: expert "not understood" (${v['_ws.expert.message']})`).toBe(c.kind === 'bad');
      if (c.kind === 'note') {
        expect(v['capflow.note'], what).toBe(c.text);
        expect(v['_ws.expert.message'], what).toContain(`capflow: ${c.text}`);
      } else expect(v['capflow.note'], what).toBe('');
      if (c.kind === 'other') expect(v['_ws.expert.message'], what).not.toMatch(/capflow/);
    });

    // The full packet details: no Lua error anywhere.
    const details = tsharkLua(home, ['-r', file, '-V']);
    expect(details.status, details.stderr).toBe(0);
    expect(details.stdout + details.stderr).not.toMatch(/Lua Error|attempt to|stack traceback/i);
  });

  it('a truncated super-packet note is a warning in the expert info', async () => {
    const file = join(home, 'note.pcapng');
    await writeCommented(file, ['gso not applied: capture truncated']);
    const r = tsharkLua(home, ['-r', file, '-T', 'fields', '-e', '_ws.expert.severity', '-e', '_ws.expert.message', '-e', 'capflow.note']);
    expect(r.status, r.stderr).toBe(0);
    const [severity, message, note] = r.stdout.trim().split('\t');
    expect(note).toBe('gso not applied: capture truncated');
    // Wireshark's own "comment" expert item comes first, then capflow's.
    const messages = message!.split(',');
    const severities = severity!.split(',').map(Number);
    const k = messages.indexOf('capflow: gso not applied: capture truncated');
    expect(k, message).toBeGreaterThanOrEqual(0);
    expect(severities[k]).toBe(0x00600000); // PI_WARN
  });
});

describe('the comment grammar in the README', () => {
  it('lists one line per key: exactly the keys the writer emits', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `(tunnel|gso)` \| `([A-Za-z]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(new Set(rows).size, 'no key twice').toBe(rows.length);
    const written = new Set<string>();
    for (const c of grammarCases().filter((x) => x.valid)) {
      const [word, ...parts] = c.text.trim().split(/\s+/);
      if (word === 'gso' && parts.length > 3) parts.length = 3; // free text after the fields
      for (const p of parts) written.add(`${word} ${p.slice(0, p.indexOf('='))}`);
    }
    expect([...rows].sort()).toEqual([...written].sort());
  });
});

function bool(s: string | undefined): boolean {
  if (s === '1' || s === 'True') return true;
  if (s === '0' || s === 'False') return false;
  throw new Error(`not a boolean field value: ${s}`);
}

interface Case {
  text: string;
  /** tunnel/gso: metadata; note: a capflow note; bad: capflow's prefix but not the grammar; other: not capflow's. */
  kind: 'meta' | 'note' | 'bad' | 'other';
  /** What the reader must decide (checked, so the case list itself cannot drift). */
  valid?: boolean;
}

/** What the writer emits over many metadata values, plus hand-written edge cases of the grammar. */
function grammarCases(): Case[] {
  const cases: Case[] = [];
  const v4: Array<[string, string]> = [['192.0.2.1', '192.0.2.2'], ['0.0.0.0', '203.0.113.42'], ['198.51.100.255', '255.255.255.255']];
  const v6: Array<[string, string]> = [['2001:db8::1', '2001:db8::2'], ['::', '2001:db8::700'], ['2001:db8:1:2:3:4:5:6', '::ffff:192.0.2.9']];
  const flagSets = [0, TUNNEL.KEY, TUNNEL.KEY | TUNNEL.CSUM, TUNNEL.KEY | TUNNEL.DONT_FRAGMENT, TUNNEL.CSUM | TUNNEL.OAM | TUNNEL.VXLAN_OPT, 0x1305];
  let k = 0;
  for (const [src, dst] of [...v4, ...v6]) {
    for (const flags of flagSets) {
      const t = new TunnelInfo();
      t.setAddress('src', src);
      t.setAddress('dst', dst);
      t.vni = [0, 42, 4200, 0xffffff][k % 4]!;
      t.flags = flags;
      t.tos = [0, 0x03, 0xb8, 0xff][k % 4]!;
      t.ttl = [0, 64, 255][k % 3]!;
      t.tpSrc = [0, 49152, 65535][k % 3]!;
      t.tpDst = [4789, 8472, 0][k % 3]!;
      t.label = t.ipv6 ? [0, 0x12345, 0xfffff][k % 3]! : 0;
      t.gbp = flags & TUNNEL.VXLAN_OPT ? [0x800001, 0xffffffff][k % 2]! : 0;
      t.tx = k % 2 === 1;
      cases.push({ text: t.toComment(), kind: 'meta', valid: true });
      k++;
    }
  }
  for (const base of [GSO.TCPV4, GSO.TCPV6, GSO.UDP_L4]) {
    for (const extra of [0, GSO.TCP_ECN, GSO.UDP_TUNNEL_CSUM | GSO.PARTIAL, GSO.TCP_FIXEDID | GSO.UDP_TUNNEL | GSO.DODGY]) {
      cases.push({ text: formatGsoNote(base | extra, [1448, 1, 65535][k++ % 3]!, [45, 0, 65535][k % 3]!), kind: 'meta', valid: true });
    }
  }
  const ok4 = 'src=192.0.2.1 dst=192.0.2.2';
  const meta = (text: string): Case => ({ text, kind: 'meta', valid: true });
  const bad = (text: string): Case => ({ text, kind: 'bad', valid: false });
  cases.push(
    meta(`tunnel ${ok4}`),
    meta(`tunnel vni=0x2a ${ok4} tos=3 ttl=0x40 flags=key,key`),
    meta('tunnel src=1::2:3:4:5:6:7 dst=::'),
    meta('tunnel src=1:2:3:4:5:6:7:: dst=::1.2.3.4 label=0xFFFFF'),
    meta(`tunnel   vni=7\t${ok4}  flags=none `),
    meta('gso type=0x10 size=1 segs=1'),
    meta('gso type=tcpv4 size=1448 segs=45 and more words'),
    bad('tunnel vni=42 src=192.0.2.1'),
    bad('tunnel vni=42 src=192.0.2.1 dst=2001:db8::2'),
    bad(`tunnel vni=1e3 ${ok4}`),
    bad(`tunnel vni=16777216 ${ok4}`),
    bad(`tunnel vni=-1 ${ok4}`),
    bad(`tunnel vni= ${ok4}`),
    bad(`tunnel vni=42 vni=43 ${ok4}`),
    bad(`tunnel vni=００42 ${ok4}`),
    bad(`tunnel vni=00000000042 ${ok4}`),
    bad(`tunnel ${ok4} flags=key,bogus`),
    bad(`tunnel ${ok4} flags=`),
    bad(`tunnel ${ok4} flags=key,`),
    bad(`tunnel ${ok4} mode=rx`),
    bad(`tunnel ${ok4} color=red`),
    bad(`tunnel ${ok4} =5`),
    bad(`tunnel ${ok4} novalue`),
    bad('tunnel src=192.0.2.01 dst=192.0.2.2'),
    bad('tunnel src=192.0.2 dst=192.0.2.2'),
    bad('tunnel src=fe80::1%eth0 dst=fe80::2'),
    bad('tunnel src=1:2:3:4:5:6:7:8:9 dst=::'),
    bad('tunnel src=1:2:3:4:5:6:7:8:: dst=::'),
    bad('tunnel src=1::2::3 dst=::'),
    bad('tunnel src=12345::1 dst=::'),
    bad('tunnel src=::1.2.3.4.5 dst=::'),
    bad(`tunnel ${ok4} tos=0x100`),
    bad(`tunnel ${ok4} ttl=256`),
    bad(`tunnel ${ok4} tpSrc=65536`),
    bad(`tunnel ${ok4} label=0x100000`),
    bad(`tunnel ${ok4} gbp=0x100000000`),
    bad('tunnel '),
    bad(`tunnel ${'vni=1 '.repeat(2000)}${ok4}`),
    bad('gso type=tcpv4 size=0 segs=1'),
    bad('gso type=none size=1448 segs=2'),
    bad('gso type=0x0 size=1448 segs=2'),
    bad('gso type=tcpv4+bogus size=1448 segs=2'),
    bad('gso type=tcpv4 size=65536 segs=1'),
    bad('gso type=tcpv4 size=1448 segs=65536'),
    bad('gso type=0x123456789 size=1448 segs=2'),
    { text: 'gso not applied: capture truncated', kind: 'note', valid: false },
    { text: 'vxlan-encap some future note', kind: 'note', valid: false },
    { text: `tunnel\tvni=42 ${ok4}`, kind: 'other', valid: false },
    { text: 'a comment of the person who took the capture', kind: 'other', valid: false },
    { text: 'tunnels are fun', kind: 'other', valid: false },
  );
  return cases;
}

/** One small UDP frame per comment, written by capflow's pcapng writer. */
async function writeCommented(path: string, comments: string[]): Promise<void> {
  const w = await createFileWriter(path, { format: 'pcapng' });
  const iface = w.addInterface({ linkType: 1, snapLen: 262144, tsUnits: 1e6 });
  comments.forEach((c, i) => {
    const frame = craftFrame({ ip: { src: '198.51.100.1', dst: '198.51.100.2' }, l4: { kind: 'udp', srcPort: 40000, dstPort: 5000 + (i % 1000) }, payload: 16 });
    const p = Packet.fromBytes(frame, frame.length);
    p.tsSec = 1_700_000_000 + i;
    w.write(p, iface, [c]);
  });
  await w.close();
}
