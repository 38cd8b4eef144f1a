/**
 * Reports and captures on stdout: a failed write (/dev/full) is one line and exit 1 (2 for diff,
 * whose 1 means "different"), never a stack; a reader that goes away early (`| head`) ends
 * capflow quietly with 141, as SIGPIPE ends Unix filters; a closed stdout (`>&-`) is refused.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPcap, frame } from '../helpers/pcap-build.js';
import { haveCli, repoRoot, shellSync } from './spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-stdout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sample = join(repoRoot, 'samples', 'tso-host.pcap');

/** 20,000 frames (2.3 MB): more than a pipe holds, as a capture and as a diff report. */
function bigCapture(name: string, seed: number): string {
  const data = frame(100, seed);
  const file = join(dir, name);
  writeFileSync(file, buildPcap({ le: true, records: Array.from({ length: 20_000 }, (_, i) => ({ sec: 1_700_000_000 + i, frac: 0, data })) }));
  return file;
}
const bigA = bigCapture('a.pcap', 1);
const bigB = bigCapture('b.pcap', 2);

const noStack = (stderr: string): void => {
  expect(stderr).not.toMatch(/\n\s+at |Unhandled 'error' event|node:events/);
};

describe.skipIf(!haveCli)('stdout on /dev/full', () => {
  const cases: Array<[string, number, string]> = [
    ['info', 1, `capflow info ${sample}`],
    ['info --json', 1, `capflow info ${sample} --json`],
    ['diff of identical files', 2, `capflow diff ${sample} ${sample}`],
    ['diff --json', 2, `capflow diff ${sample} ${bigA} --json`],
    ['run --json', 1, `capflow run ${sample} -o ${join(dir, 'json.pcap')} --json`],
    ['run -o -', 1, `capflow run ${sample} -o -`],
    ['nic list', 1, 'capflow nic list'],
  ];
  it.each(cases)('%s: one line naming stdout, exit %i', (_name, status, cmd) => {
    const r = shellSync(`${cmd} >/dev/full`);
    expect(r.status).toBe(status);
    expect(r.stderr).toMatch(/^capflow: <stdout>: cannot write: no space left on device \(ENOSPC\)\n$/);
    noStack(r.stderr);
  });
});

describe.skipIf(!haveCli)('a reader that goes away (EPIPE)', () => {
  it('run -o - | head -c 100 ends quietly with 141', () => {
    const r = shellSync(`capflow run ${bigA} -o - | head -c 100 | wc -c; echo "status \${PIPESTATUS[0]}" >&2`);
    expect(r.stdout.trim()).toBe('100');
    expect(r.stderr).toBe('status 141\n');
  });

  it('diff --max 0 | head -1 ends quietly with 141', () => {
    const r = shellSync(`capflow diff ${bigA} ${bigB} --max 0 | head -1; echo "status \${PIPESTATUS[0]}" >&2`);
    expect(r.stdout).toMatch(/^#1 /);
    expect(r.stderr).toBe('status 141\n');
  });
});

describe.skipIf(!haveCli)('stdout closed (>&-)', () => {
  it('run -o - fails instead of writing into nothing', () => {
    const r = shellSync(`capflow run ${sample} -o - >&-`);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('capflow: <stdout>: cannot write: stdout is closed (EBADF)\n');
  });

  it('replay --to - fails instead of sending into nothing', () => {
    const r = shellSync(`capflow replay ${sample} --to - --topspeed >&-`);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('capflow: <stdout>: cannot write: stdout is closed (EBADF)\n');
  });

  it('run --json fails before any work (no output file)', () => {
    const out = join(dir, 'closed.pcap');
    const r = shellSync(`capflow run ${sample} -o ${out} --json >&-`);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('capflow: <stdout>: cannot write: stdout is closed (EBADF)\n');
    expect(existsSync(out)).toBe(false);
  });

  it('a report to a closed stdout fails; >/dev/null is not mistaken for it', () => {
    const closed = shellSync(`capflow info ${sample} >&-`);
    expect(closed.status).toBe(1);
    expect(closed.stderr).toBe('capflow: <stdout>: cannot write: stdout is closed (EBADF)\n');
    const devNull = shellSync(`capflow run ${sample} -o - >/dev/null`);
    expect(devNull.status).toBe(0);
  });
});
