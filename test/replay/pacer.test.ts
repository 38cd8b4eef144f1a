/**
 * Pacing with an injected clock: the schedule (send times) and the achieved-rate report are
 * checked exactly, without wall-clock asserts. `GranularClock` models a real timer: a sleep
 * lasts at least `granularityMs`, so a high rate must be paced in batches, not a timer per packet.
 */
import { describe, expect, it } from 'vitest';
import { Packet } from '../../pipeline/packet.js';
import { Pacer } from '../../pipeline/replay/pacer.js';
import { Schedule } from '../../pipeline/replay/schedule.js';
import { VirtualClock, realClock } from '../../pipeline/replay/clock.js';
import { MemoryDestination } from '../../pipeline/replay/destination.js';
import { rateFromOptions, parseLinkSpeed, type RateSpec } from '../../pipeline/replay/rate.js';

/** A clock whose sleeps last at least `granularityMs` (like setTimeout's 1 ms). */
class GranularClock extends VirtualClock {
  constructor(private readonly granularityMs: number) {
    super(0, 1_700_000_000_000);
  }
  override sleep(ms: number): Promise<void> {
    return super.sleep(Math.max(ms, this.granularityMs));
  }
}

/** `n` packets of `len` bytes, captured `gapUs` microseconds apart from t = 1700000000 s. */
function packets(n: number, len = 100, gapUs = 1000): Packet[] {
  const out: Packet[] = [];
  for (let i = 0; i < n; i++) {
    const p = Packet.fromBytes(new Uint8Array(len));
    const us = i * gapUs;
    p.tsSec = 1_700_000_000 + Math.floor(us / 1e6);
    p.tsFrac = us % 1e6;
    p.tsUnits = 1e6;
    out.push(p);
  }
  return out;
}

async function pace(rate: RateSpec, pkts: Packet[], o: { clock?: VirtualClock; linkBps?: number; limit?: number; batch?: number; loops?: number; gapMs?: number; packetsPerLoop?: () => Packet[] } = {}) {
  const clock = o.clock ?? new VirtualClock();
  const dest = new MemoryDestination({ maxBatch: 1 << 20 });
  const pacer = new Pacer({ clock, schedule: new Schedule({ rate, linkBps: o.linkBps }), destination: dest, limit: o.limit });
  const batch = o.batch ?? 256;
  const loops = o.loops ?? 1;
  for (let loop = 0; loop < loops; loop++) {
    if (loop > 0) pacer.nextLoop(o.gapMs ?? 0);
    const src = loop === 0 ? pkts : (o.packetsPerLoop?.() ?? pkts);
    for (let i = 0; i < src.length && !pacer.done; i += batch) await pacer.emit(src.slice(i, i + batch));
  }
  const report = await pacer.finish();
  return { dest, report, clock, times: dest.sent.map((s) => s.sendMs) };
}

describe('schedule with an exact virtual clock', () => {
  it('--pps 1000: one packet every millisecond, achieved = requested', async () => {
    const { times, report } = await pace({ kind: 'pps', pps: 1000 }, packets(500));
    times.forEach((t, i) => expect(t).toBeCloseTo(i, 9));
    expect(report.requested).toMatchObject({ mode: 'pps', value: 1000, unit: 'pps' });
    expect(report.packets).toBe(500);
    expect(report.scheduledMs).toBeCloseTo(500, 6);
    expect(report.actualMs).toBeCloseTo(500, 6);
    expect(report.achieved.value).toBeCloseTo(1000, 6);
    expect(report.achieved.pps).toBeCloseTo(1000, 6);
    expect(report.achieved.mbps).toBeCloseTo((1000 * 100 * 8) / 1e6, 6);
    expect(report.late.maxMs).toBe(0);
  });

  it('--speed 2: capture gaps halved; --speed 0.5 doubled', async () => {
    const pk = packets(100, 100, 1000); // 1 ms apart
    const fast = await pace({ kind: 'speed', speed: 2 }, pk);
    fast.times.forEach((t, i) => expect(t).toBeCloseTo(i * 0.5, 9));
    expect(fast.report.achieved.value).toBeCloseTo(2, 9);
    expect(fast.report.scheduledMs).toBeCloseTo(49.5, 9);
    const slow = await pace({ kind: 'speed', speed: 0.5 }, packets(100, 100, 1000));
    slow.times.forEach((t, i) => expect(t).toBeCloseTo(i * 2, 9));
    expect(slow.report.achieved.value).toBeCloseTo(0.5, 9);
  });

  it('--speed follows the capture timestamps, nanosecond inputs included, never going backwards', async () => {
    const pk = packets(4);
    pk[1]!.tsFrac = 250; // 250 µs
    pk[2]!.tsFrac = 100; // out of order: sent at once after the previous one
    pk[3]!.tsSec += 2;
    pk[3]!.tsFrac = 500_000_000;
    pk[3]!.tsUnits = 1e9;
    const { times } = await pace({ kind: 'speed', speed: 1 }, pk);
    expect(times[0]).toBe(0);
    expect(times[1]).toBeCloseTo(0.25, 9);
    expect(times[2]).toBeCloseTo(0.25, 9);
    expect(times[3]).toBeCloseTo(2500, 6);
  });

  it('--mbps 100: each packet occupies len*8/100e6 s; achieved 100 Mbit/s', async () => {
    const sizes = [64, 1514, 300, 9000, 64];
    const pk = sizes.map((n) => packets(1, n)[0]!);
    const { times, report } = await pace({ kind: 'mbps', mbps: 100 }, pk);
    let t = 0;
    sizes.forEach((n, i) => {
      expect(times[i]).toBeCloseTo(t, 9);
      t += (n * 8) / 100e6 * 1000;
    });
    expect(report.scheduledMs).toBeCloseTo(t, 9);
    expect(report.achieved.value).toBeCloseTo(100, 6);
    expect(report.achieved.mbps).toBeCloseTo(100, 6);
  });

  it('--topspeed: everything due at once; no sleeps; achieved rate not defined on a clock that did not move', async () => {
    const { times, report, clock } = await pace({ kind: 'topspeed' }, packets(1000));
    expect(times.every((t) => t === 0)).toBe(true);
    expect(clock.sleeps).toBe(0);
    expect(report.requested.value).toBeNull();
    expect(report.achieved.value).toBeNull();
    expect(report.achieved.pps).toBeNull();
  });

  it('--topspeed with a destination that takes time: achieved rate measured', async () => {
    const clock = new VirtualClock();
    const dest = new MemoryDestination({ maxBatch: 100 });
    dest.onFlush = (n) => clock.advance(n * 0.01); // 10 µs per packet
    const pacer = new Pacer({ clock, schedule: new Schedule({ rate: { kind: 'topspeed' } }), destination: dest });
    await pacer.emit(packets(1000));
    const r = await pacer.finish();
    expect(dest.batches).toEqual(Array(10).fill(100));
    expect(r.actualMs).toBeCloseTo(10, 9);
    expect(r.achieved.pps).toBeCloseTo(100_000, 3);
  });

  it('--link-speed spaces back-to-back packets by their serialization time', async () => {
    const pk = packets(5, 1250, 0); // same timestamp, like segments of one super-packet
    const { times, report } = await pace({ kind: 'speed', speed: 1 }, pk, { linkBps: parseLinkSpeed('10G') });
    times.forEach((t, i) => expect(t).toBeCloseTo(i * 0.001, 12)); // 1250 B = 10000 bits = 1 µs at 10G
    expect(report.requested.linkSpeedBps).toBe(1e10);
    expect(report.scheduledMs).toBeCloseTo(0.005, 12);
  });

  it('--loop 3 with --loop-gap 10: passes follow each other, gap apart; rate kept inside each pass', async () => {
    const { times, report } = await pace({ kind: 'pps', pps: 1000 }, packets(10), { loops: 3, gapMs: 10 });
    expect(times).toHaveLength(30);
    const expected = [...Array(10).keys()].flatMap((i) => [i]).concat([...Array(10).keys()].map((i) => 20 + i), [...Array(10).keys()].map((i) => 40 + i));
    times.forEach((t, i) => expect(t).toBeCloseTo(expected[i]!, 9));
    expect(report.scheduledMs).toBeCloseTo(50, 9);
  });

  it('--loop with --speed restarts the capture timeline after the gap', async () => {
    const { times } = await pace({ kind: 'speed', speed: 1 }, packets(3, 100, 5000), { loops: 2, gapMs: 7, packetsPerLoop: () => packets(3, 100, 5000) });
    expect(times.map((t) => +t.toFixed(6))).toEqual([0, 5, 10, 17, 22, 27]);
  });

  it('--limit stops after N packets, in the middle of a batch', async () => {
    const { times, report } = await pace({ kind: 'pps', pps: 1e4 }, packets(1000), { limit: 123, batch: 100 });
    expect(times).toHaveLength(123);
    expect(report.packets).toBe(123);
    expect(report.achieved.value).toBeCloseTo(1e4, 6);
  });
});

describe('high rates with a 1 ms timer', () => {
  it('--pps 1e6: paced in ~1 ms batches, every packet within one timer granularity of its due time', async () => {
    const clock = new GranularClock(1);
    const n = 200_000;
    const pk = packets(n, 64);
    const { times, report, dest } = await pace({ kind: 'pps', pps: 1e6 }, pk, { clock, batch: 4096 });
    expect(times).toHaveLength(n);
    let minLate = Infinity;
    let maxLate = -Infinity;
    for (let i = 0; i < n; i++) {
      const late = times[i]! - i / 1000; // due at i µs
      if (late < minLate) minLate = late;
      if (late > maxLate) maxLate = late;
    }
    expect(minLate).toBeGreaterThanOrEqual(-1e-9);
    expect(maxLate).toBeLessThanOrEqual(1 + 1e-9);
    // One sleep per millisecond of schedule, not one per packet.
    expect(clock.sleeps).toBeLessThanOrEqual(Math.ceil(n / 1000) + 1);
    expect(dest.batches.length).toBeLessThanOrEqual(Math.ceil(n / 1000) + 100);
    expect(report.achieved.value! / 1e6).toBeGreaterThan(0.99);
    expect(report.achieved.value! / 1e6).toBeLessThan(1.01);
    expect(report.late.maxMs).toBeLessThanOrEqual(1 + 1e-9);
  });

  it('--pps 1000 with a 1 ms timer: exact (one wake per packet is the rate itself)', async () => {
    const clock = new GranularClock(1);
    const { times, report } = await pace({ kind: 'pps', pps: 1000 }, packets(100), { clock });
    times.forEach((t, i) => expect(t).toBeCloseTo(i, 9));
    expect(report.achieved.value).toBeCloseTo(1000, 6);
  });

  it('a slow destination makes packets late but the schedule does not drift', async () => {
    const clock = new GranularClock(1);
    const dest = new MemoryDestination();
    dest.onFlush = () => clock.advance(3); // every flush costs 3 ms
    const pacer = new Pacer({ clock, schedule: new Schedule({ rate: { kind: 'pps', pps: 1000 } }), destination: dest });
    await pacer.emit(packets(100));
    const r = await pacer.finish();
    expect(r.late.maxMs).toBeGreaterThan(1);
    // Late packets go out together; the last one is not 3 ms × 100 late.
    expect(dest.sent[99]!.sendMs).toBeLessThan(99 + 5);
    expect(r.achieved.value!).toBeGreaterThan(900);
  });
});

describe('rate options', () => {
  it('parses and validates', () => {
    expect(rateFromOptions({})).toEqual({ kind: 'speed', speed: 1 });
    expect(rateFromOptions({ pps: 1e6 })).toEqual({ kind: 'pps', pps: 1e6 });
    expect(() => rateFromOptions({ pps: 10, mbps: 5 })).toThrow(/exclude each other/);
    expect(() => rateFromOptions({ speed: 0 })).toThrow(/positive/);
    expect(parseLinkSpeed('10G')).toBe(1e10);
    expect(parseLinkSpeed('2.5Gbps')).toBe(2.5e9);
    expect(parseLinkSpeed('100m')).toBe(1e8);
    expect(parseLinkSpeed('1e9')).toBe(1e9);
    expect(() => parseLinkSpeed('fast')).toThrow(/--link-speed/);
  });
});

describe('real clock', () => {
  it('produces an achieved-rate report (values not asserted against wall time)', async () => {
    const dest = new MemoryDestination();
    const pacer = new Pacer({ clock: realClock, schedule: new Schedule({ rate: { kind: 'pps', pps: 2000 } }), destination: dest });
    await pacer.emit(packets(40));
    const r = await pacer.finish();
    expect(dest.sent).toHaveLength(40);
    expect(r.requested).toMatchObject({ mode: 'pps', value: 2000 });
    expect(r.actualMs).toBeGreaterThan(0);
    expect(r.achieved.pps).toBeGreaterThan(0);
    expect(r.achieved.mbps).toBeGreaterThan(0);
    expect(r.virtualTime).toBe(false);
    // send times never precede due times
    dest.sent.forEach((s, i) => expect(s.sendMs).toBeGreaterThanOrEqual(i * 0.5 - 1e-6));
  });
});
