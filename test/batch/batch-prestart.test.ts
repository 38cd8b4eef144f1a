/**
 * A batch of several jobs starts its worker threads before it reads and validates the pipeline
 * (they start up meanwhile). Whatever stops the command before the batch begins (a usage error,
 * a bad pipeline) or leaves fewer files than workers, the process still ends at once, creates
 * nothing, and exits as it would without them.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtCli, capflow, haveBuild, makeInputs } from './batch-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-batch-prestart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The built CLI with a deadline: a worker left holding the process fails the test instead of hanging it. */
function capflowWithin(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [builtCli, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  expect(r.signal, 'the process ended by itself').toBeNull();
  return r;
}

describe.skipIf(!haveBuild)('workers started ahead of the batch', () => {
  const inputs = haveBuild ? makeInputs(join(dir, 'in'), 6) : [];

  it('a bad pipeline or batch option: exit 2, nothing created, the process ends', () => {
    const out = join(dir, 'out-usage');
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [['--stage', 'no-such-stage'], /no-such-stage/],
      [['--stage', 'vxlan-encap:src=not-an-address'], /not-an-address|src/],
      [['--pipeline', join(dir, 'missing.yaml')], /missing\.yaml/],
      [['--shards', '4'], /out of range for 4 shards/, { JOB_COMPLETION_INDEX: '9' }],
    ];
    for (const [extra, msg, env] of cases) {
      const r = capflowWithin(['run', ...inputs, '--out-dir', out, '--jobs', '4', ...extra], env);
      expect(r.status, extra.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('every output up to date (--skip-existing): nothing to run, exit 0', () => {
    const out = join(dir, 'out-skip');
    const first = capflow(['run', ...inputs, '--out-dir', out, '--jobs', '3', '--stage', 'vxlan-decap']);
    expect(first.status, first.stderr).toBe(0);
    const r = capflowWithin(['run', ...inputs, '--out-dir', out, '--jobs', '3', '--stage', 'vxlan-decap', '--skip-existing']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('6 up-to-date outputs skipped');
  });

  it('a shard with fewer files than jobs, and a bad file among them: the rest is written', () => {
    const d = join(dir, 'shard');
    mkdirSync(d);
    const bad = join(d, 'bad.pcap');
    writeFileSync(bad, 'not a capture\n');
    const out = join(d, 'out');
    const r = capflowWithin(['run', inputs[0]!, bad, '--out-dir', out, '--jobs', '4', '--stage', 'vxlan-decap']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`1 of 2 inputs failed:\n  ${bad}: `);
    expect(readdirSync(out)).toEqual(['cap-00.pcap']);
  });
});
