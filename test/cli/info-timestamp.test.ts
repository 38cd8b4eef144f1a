/**
 * `capflow info` on timestamps a Date cannot hold (an EPB timestamp of 2^64-1 µs is about
 * 585,000 years after 1970): the raw seconds are printed, info never fails on them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { concat, epb, frame, idb, shb } from '../helpers/pcap-build.js';
import { formatNs } from '../../pipeline/info.js';
import { capflowSync, haveCli } from './spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-info-ts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveCli)('info with timestamps outside the Date range', () => {
  it('prints the raw timestamp of 2^64-1 µs and exits 0', () => {
    const file = join(dir, 'max-ts.pcapng');
    const le = true;
    writeFileSync(file, concat(shb(le), idb(le), epb(le, { iface: 0, ts: 1_700_000_000_000_000n, data: frame(60, 1) }), epb(le, { iface: 0, ts: 2n ** 64n - 1n, data: frame(60, 2) })));
    const text = capflowSync(['info', file]);
    expect(text.status).toBe(0);
    expect(text.stderr).toBe('');
    expect(text.stdout).toContain('Time span:       2023-11-14T22:13:20.000000000Z .. 18446744073709.551615000 s since 1970 (outside the calendar range)');
    const json = capflowSync(['info', file, '--json']);
    expect(json.status).toBe(0);
    const info = JSON.parse(json.stdout) as { first: string; last: string };
    expect(info.first).toBe('2023-11-14T22:13:20.000000000Z');
    expect(info.last).toBe('18446744073709.551615000 s since 1970 (outside the calendar range)');
  });

  it('formats the edges of the Date range and times before 1970', () => {
    const NS = 1_000_000_000n;
    expect(formatNs(8_640_000_000_000n * NS)).toBe('+275760-09-13T00:00:00.000000000Z');
    expect(formatNs(8_640_000_000_001n * NS)).toBe('8640000000001.000000000 s since 1970 (outside the calendar range)');
    expect(formatNs(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
  });
});
