/**
 * capflow replay end to end (no kernel): file destinations (computed timestamps), loop and
 * limit accounting, usage errors, and a live pcap stream read concurrently by `tshark -i -`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, toolGate } from '../cli/cli-helpers.js';
import { readPcap } from '../kernel/frames.js';
import { runReplay } from '../../pipeline/replay/replay.js';
import { MemoryDestination } from '../../pipeline/replay/destination.js';
import { VirtualClock } from '../../pipeline/replay/clock.js';
import { resolvePipeline } from '../../pipeline/config.js';
import { spawnCli, udpFrames, writeTimedPcap, collect } from './replay-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'cf-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const input = join(dir, 'in.pcap');
writeTimedPcap(input, udpFrames(20), 2000); // 20 packets, 2 ms apart

const tsOf = (r: { tsSec: number; tsUsec: number }) => r.tsSec + r.tsUsec / 1e6;

describe('replay to a file (timestamps computed, nothing waits)', () => {
  it('--speed 1 keeps the capture times; --speed 4 divides the gaps', async () => {
    const out1 = join(dir, 's1.pcap');
    const r = await runCli(['replay', input, '--to', out1, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ packetsIn: 20, packetsOut: 20, sent: 20, notSent: 0, stopped: 'end', destinationKind: 'file', drops: {} });
    expect(j.rate.virtualTime).toBe(true);
    expect(j.rate.achieved.value).toBeCloseTo(1, 9);
    const a = readPcap(input).records;
    const b = readPcap(out1).records;
    expect(b.map((x) => x.data.toString('hex'))).toEqual(a.map((x) => x.data.toString('hex')));
    b.forEach((x, i) => expect(tsOf(x)).toBeCloseTo(tsOf(a[i]!), 6));

    const out4 = join(dir, 's4.pcap');
    expect((await runCli(['replay', input, '--to', out4, '--speed', '4'])).status).toBe(0);
    const c = readPcap(out4).records;
    c.forEach((x, i) => expect(tsOf(x) - tsOf(c[0]!)).toBeCloseTo(i * 0.0005, 6));
  });

  it('--topspeed --link-speed 8M: back-to-back, spaced by serialization time, nanosecond output', async () => {
    const out = join(dir, 'link.pcap');
    const r = await runCli(['replay', input, '--to', out, '--topspeed', '--link-speed', '8M']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(out).readUInt32LE(0)).toBe(0xa1b23c4d); // nanosecond magic
    const recs = readPcap(out).records;
    const len = recs[0]!.data.length;
    const t = recs.map((x) => x.tsSec * 1e6 + x.tsUsec);
    for (let i = 1; i < t.length; i++) expect(t[i]! - t[i - 1]!).toBe(len); // len*8 bits at 8 Mbit/s = len µs
    expect(r.stderr).toMatch(/8 Mbit\/s link/);
  });

  it('--loop 3 --loop-gap 5 --pps 1000 to pcapng: 60 packets, gaps between passes', async () => {
    const out = join(dir, 'loop.pcapng');
    const r = await runCli(['replay', input, '--to', out, '--loop', '3', '--loop-gap', '5', '--pps', '1000', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ packetsIn: 60, sent: 60, loops: 3 });
    expect(j.rate.scheduledMs).toBeCloseTo(70, 6); // 3 × 20 ms + 2 gaps of 5 ms
  });

  it('--limit accounts for the packets it did not send', async () => {
    const out = join(dir, 'limit.pcap');
    const r = await runCli(['replay', input, '--to', out, '--limit', '7', '--topspeed', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.sent).toBe(7);
    expect(j.stopped).toBe('limit');
    expect(j.packetsOut).toBe(j.sent + j.notSent);
    expect(readPcap(out).records).toHaveLength(7);
  });

  it('usage errors exit 2 with a message', async () => {
    const both = await runCli(['replay', input, '--to', join(dir, 'x.pcap'), '--pps', '5', '--mbps', '3']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/exclude each other/);
    const stdinLoop = await runCli(['replay', '-', '--to', join(dir, 'y.pcap'), '--loop', '2']);
    expect(stdinLoop.status).toBe(2);
    const link = await runCli(['replay', input, '--to', join(dir, 'z.pcap'), '--link-speed', 'fast']);
    expect(link.status).toBe(2);
    const over = await runCli(['replay', input, '--to', input]);
    expect(over.status).toBe(2);
    expect(over.stderr).toMatch(/refusing/);
  });
});

describe('replay driver with an injected clock and destination', () => {
  it('runs the pipeline per loop and paces its output', async () => {
    const dest = new MemoryDestination();
    const clock = new VirtualClock();
    const s = await runReplay({ input, to: '', destination: dest, clock, config: resolvePipeline({}, 'test'), rate: { kind: 'pps', pps: 500 }, loop: 2 });
    expect(s.sent).toBe(40);
    expect(s.loops).toBe(2);
    expect(dest.sent.map((x) => x.sendMs)).toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
    expect(s.rate.achieved.value).toBeCloseTo(500, 6);
  });

  it('stops on the abort signal and says so', async () => {
    const dest = new MemoryDestination();
    const clock = new VirtualClock();
    const ac = new AbortController();
    dest.onFlush = () => {
      if (dest.sent.length >= 5) ac.abort();
    };
    const s = await runReplay({ input, to: '', destination: dest, clock, config: resolvePipeline({}, 'test'), rate: { kind: 'pps', pps: 100 }, loop: 0, signal: ac.signal });
    expect(s.stopped).toBe('signal');
    expect(s.sent).toBe(5);
  });
});

const tshark = toolGate('tshark');

describe.skipIf(tshark.skip)(`live pcap stream read by tshark -i - while it plays${tshark.label}`, () => {
  it('tshark prints every packet; timestamps are the send times', async () => {
    const started = Date.now() / 1000;
    const replay = spawnCli(['replay', input, '--to', '-', '--pps', '200']);
    const ts = spawn('tshark', ['-l', '-n', '-i', '-', '-T', 'fields', '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'udp.dstport'], { stdio: ['pipe', 'pipe', 'pipe'] });
    replay.stdout!.pipe(ts.stdin!);
    const [rp, tr] = await Promise.all([collect(replay), collect(ts)]);
    expect(rp.code, rp.stderr).toBe(0);
    expect(rp.stderr).toMatch(/requested 200 pps; achieved/);
    const lines = tr.stdout.toString().trim().split('\n').filter(Boolean);
    expect(lines, tr.stderr).toHaveLength(20);
    const rows = lines.map((l) => l.split('\t'));
    expect(rows.map((r) => Number(r[2]))).toEqual(Array.from({ length: 20 }, (_, i) => 5000 + i));
    const times = rows.map((r) => Number(r[1]));
    // send times: now-ish, not the capture's 2023 timestamps, and spread over ~95 ms at 200 pps
    expect(times[0]!).toBeGreaterThan(started - 5);
    expect(times[19]! - times[0]!).toBeGreaterThan(0.08);
  });
});
