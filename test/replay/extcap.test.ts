/**
 * Wireshark extcap protocol: the query calls print lines in extcap's grammar; --capture plays
 * the replay into a FIFO that a reader (tshark, as Wireshark would) drains concurrently.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, toolGate } from '../cli/cli-helpers.js';
import { builtinProfileNames } from '../../pipeline/nic/profile.js';
import { collect, udpFrames, writeTimedPcap } from './replay-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'cf-extcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One extcap sentence: `keyword {k=v}{k=v}...` → keyword and attributes. */
function parseLine(line: string): { kind: string; attrs: Record<string, string> } {
  const m = /^(extcap|interface|dlt|arg|value) ((?:\{[a-z]+=[^{}]*\})+)$/.exec(line);
  if (!m) throw new Error(`not an extcap sentence: ${line}`);
  const attrs: Record<string, string> = {};
  for (const a of m[2]!.matchAll(/\{([a-z]+)=([^{}]*)\}/g)) attrs[a[1]!] = a[2]!;
  return { kind: m[1]!, attrs };
}

const lines = (s: string) => s.trim().split('\n').map(parseLine);

describe('extcap queries', () => {
  it('--extcap-interfaces (with the --extcap-version Wireshark passes)', async () => {
    const r = await runCli(['extcap', '--extcap-interfaces', '--extcap-version=4.0']);
    expect(r.status, r.stderr).toBe(0);
    const l = lines(r.stdout);
    expect(l[0]!.kind).toBe('extcap');
    expect(l[0]!.attrs.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(l.filter((x) => x.kind === 'interface')).toEqual([{ kind: 'interface', attrs: { value: 'capflow', display: expect.stringMatching(/capflow/) } }]);
  });

  it('--extcap-dlts --extcap-interface capflow: Ethernet', async () => {
    const r = await runCli(['extcap', '--extcap-interface', 'capflow', '--extcap-dlts']);
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual([{ kind: 'dlt', attrs: { number: '1', name: 'EN10MB', display: 'Ethernet' } }]);
  });

  it('--extcap-config: input fileselect, pipeline, NIC selector with the built-in profiles, view radio, speed, loop, debug options', async () => {
    const r = await runCli(['extcap', '--extcap-interface', 'capflow', '--extcap-config']);
    expect(r.status).toBe(0);
    const l = lines(r.stdout);
    const args = l.filter((x) => x.kind === 'arg').map((x) => x.attrs);
    expect(args.map((a) => [a.number, a.call, a.type])).toEqual([
      ['0', '--input', 'fileselect'],
      ['1', '--pipeline', 'fileselect'],
      ['2', '--nic', 'selector'],
      ['3', '--view', 'radio'],
      ['4', '--speed', 'double'],
      ['5', '--loop', 'integer'],
      ['6', '--debug', 'boolflag'],
      ['7', '--log-file', 'fileselect'],
    ]);
    for (const a of args) expect(a.display).toBeTruthy();
    const values = l.filter((x) => x.kind === 'value').map((x) => x.attrs);
    expect(values.filter((v) => v.arg === '2').map((v) => v.value)).toEqual(builtinProfileNames());
    expect(values.filter((v) => v.arg === '3').map((v) => v.value)).toEqual(['driver', 'wire']);
    // selector and radio have exactly one default
    for (const n of ['2', '3']) expect(values.filter((v) => v.arg === n && v.default === 'true')).toHaveLength(1);
  });

  it('unknown interface: non-zero exit with a message', async () => {
    const r = await runCli(['extcap', '--extcap-interface', 'eth0', '--extcap-dlts']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown interface/);
  });

  it('--install-script prints a /bin/sh wrapper that execs capflow extcap', async () => {
    const r = await runCli(['extcap', '--install-script']);
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith('#!/bin/sh\n')).toBe(true);
    expect(r.stdout).toMatch(/exec .* extcap "\$@"\n$/);
  });
});

const tshark = toolGate('tshark');

describe.skipIf(tshark.skip)(`extcap --capture into a FIFO read concurrently${tshark.label}`, () => {
  it('tshark reading the FIFO (as Wireshark does) gets every packet', async () => {
    const input = join(dir, 'in.pcap');
    writeTimedPcap(input, udpFrames(15), 5000);
    const fifo = join(dir, 'capflow.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('tshark', ['-l', '-n', '-i', fifo, '-T', 'fields', '-e', 'udp.dstport'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const got = collect(reader);
    const r = await runCli(['extcap', '--capture', '--extcap-interface', 'capflow', '--fifo', fifo, '--input', input, '--nic', 'virtio-net', '--view', 'wire', '--speed', '4', '--loop', '1', '--log-file', join(dir, 'extcap.log')]);
    expect(r.status, r.stderr).toBe(0);
    const t = await got;
    const ports = t.stdout.toString().trim().split('\n').filter(Boolean).map(Number);
    expect(ports, t.stderr).toEqual(Array.from({ length: 15 }, (_, i) => 5000 + i));
  });

  it('--capture without --input fails with a message (Wireshark shows stderr)', async () => {
    const r = await runCli(['extcap', '--capture', '--extcap-interface', 'capflow', '--fifo', join(dir, 'none.fifo'), '--log-file', join(dir, 'extcap.log')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^capflow: .*no input capture given.*extcap\.capflow\.input:FILE\)\n$/);
  });
});
