/**
 * `capflow run IN... --out-dir DIR` as a batch, through the built binary: parallel jobs, a bad
 * file that does not stop the others, resuming with --skip-existing, and stable shards whose
 * merged summaries equal one process's.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtCli, capflow, haveBuild, makeInputs, spawnAsync } from './batch-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-batch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => {
  const d = join(dir, `${name}-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

type Summary = Record<string, any>;

/** A summary without wall times, the one thing that differs between equal runs. */
function withoutTimes(s: Summary): Summary {
  return { ...s, inputs: s.inputs.map(({ seconds, ...rest }: Summary) => (expect(typeof seconds).toBe('number'), rest)) };
}

describe.skipIf(!haveBuild)('capflow run --out-dir (batch)', () => {
  it('goes on past an unreadable file: four outputs, exit 1, the failure named', () => {
    const d = fresh('bad');
    const inputs = makeInputs(join(d, 'in'), 5);
    writeFileSync(inputs[2]!, 'this is not a capture, just text in a .pcap file\n');
    const out = join(d, 'out');
    const r = capflow(['run', ...inputs, '--out-dir', out, '--jobs', '2', '--json', '--stage', 'vxlan-decap']);
    expect(r.status).toBe(1);
    const written = readdirSync(out).sort();
    expect(written).toEqual(inputs.filter((_, i) => i !== 2).map((p) => basename(p)).sort());
    expect(r.stderr).toMatch(/1 of 5 inputs failed:\n {2}\S*cap-02\.pcap: .*not a pcap or pcapng capture/);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.failed).toEqual([{ file: inputs[2], output: join(out, 'cap-02.pcap'), index: 2, error: expect.stringContaining('not a pcap or pcapng capture') }]);
    expect(s.inputs.map((i: Summary) => i.index)).toEqual([0, 1, 3, 4]);
    expect(s.packetsIn).toBe(s.inputs.reduce((a: number, i: Summary) => a + i.packetsIn, 0));
    expect(s.packetsIn).toBe(s.forwarded + s.dropped);
  });

  it('reports an input that does not exist and an output that cannot be written, and finishes the rest', () => {
    const d = fresh('io');
    const inputs = makeInputs(join(d, 'in'), 4);
    const out = join(d, 'out');
    mkdirSync(join(out, 'cap-01.pcap'), { recursive: true }); // a directory where an output should go
    const missing = join(d, 'in', 'no-such-capture.pcap');
    const r = capflow(['run', inputs[0]!, missing, inputs[1]!, inputs[2]!, inputs[3]!, '--out-dir', out, '--jobs', '3']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('2 of 5 inputs failed:');
    expect(r.stderr).toMatch(/no-such-capture\.pcap/);
    expect(r.stderr).toMatch(/cap-01\.pcap/);
    for (const i of [0, 2, 3]) expect(statSync(join(out, basename(inputs[i]!))).isFile()).toBe(true);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--progress shows files and bytes done of the total', () => {
    const d = fresh('progress');
    const inputs = makeInputs(join(d, 'in'), 3);
    const total = inputs.reduce((a, f) => a + statSync(f).size, 0);
    const r = capflow(['run', ...inputs, '--out-dir', join(d, 'out'), '--jobs', '2', '--progress']);
    expect(r.status).toBe(0);
    const mb = (total / 1e6).toFixed(1);
    expect(r.stderr).toContain(`3/3 files, ${mb}/${mb} MB`);
  });

  it('--fail-fast stops at the first failure as a plain run does', () => {
    const d = fresh('ff');
    const inputs = makeInputs(join(d, 'in'), 4);
    writeFileSync(inputs[1]!, 'garbage');
    const out = join(d, 'out');
    const r = capflow(['run', ...inputs, '--out-dir', out, '--jobs', '1', '--fail-fast']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cap-01\.pcap: offset 0: not a pcap or pcapng capture/);
    expect(r.stderr).not.toContain('inputs failed');
    expect(readdirSync(out)).toEqual(['cap-00.pcap']);
  });

  it('gives the same summary, in input order, for any number of jobs', () => {
    const d = fresh('jobs');
    const inputs = makeInputs(join(d, 'in'), 9);
    const one = capflow(['run', ...inputs, '--out-dir', join(d, 'o1'), '--jobs', '1', '--json', '--stage', 'vxlan-decap']);
    const four = capflow(['run', ...inputs, '--out-dir', join(d, 'o4'), '--jobs', '4', '--json', '--stage', 'vxlan-decap']);
    expect(one.status).toBe(0);
    expect(four.status).toBe(0);
    const a = withoutTimes(JSON.parse(one.stdout));
    const b = withoutTimes(JSON.parse(four.stdout));
    expect(a.dropped).toBeGreaterThan(0);
    expect(a.inputs.map((i: Summary) => i.file)).toEqual(inputs);
    const rename = (s: Summary, from: string) => JSON.parse(JSON.stringify(s).split(join(d, from)).join('OUT'));
    expect(rename(b, 'o4')).toEqual(rename(a, 'o1'));
    for (const f of inputs) expect(readFileSync(join(d, 'o4', relative(d, f).replace(/^in\/(night-2\/)?/, '')))).toEqual(readFileSync(join(d, 'o1', basename(f))));
  });

  it('--skip-existing leaves finished outputs untouched and redoes outputs older than their input or pipeline', () => {
    const d = fresh('skip');
    const inputs = makeInputs(join(d, 'in'), 5);
    const out = join(d, 'out');
    const pipeline = join(d, 'decap.yaml');
    writeFileSync(pipeline, 'stages:\n  - stage: vxlan-decap\n');
    const past = new Date(Date.now() - 3600_000);
    for (const f of [...inputs, pipeline]) utimesSync(f, past, past);
    expect(capflow(['run', ...inputs, '--out-dir', out, '-p', pipeline]).status).toBe(0);
    // Pretend the batch stopped before the last file.
    rmSync(join(out, 'cap-04.pcap'));
    const before = new Map(readdirSync(out).map((f) => [f, statSync(join(out, f))]));
    // cap-01's input changed since its output was written.
    const later = new Date(statSync(join(out, 'cap-01.pcap')).mtimeMs + 5000);
    utimesSync(inputs[1]!, later, later);

    const r = capflow(['run', ...inputs, '--out-dir', out, '-p', pipeline, '--skip-existing', '--json']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.skipped.map((x: Summary) => x.index)).toEqual([0, 2, 3]);
    expect(s.inputs.map((x: Summary) => x.index)).toEqual([1, 4]);
    for (const f of ['cap-00.pcap', 'cap-03.pcap']) {
      const now = statSync(join(out, f));
      expect(now.mtimeMs).toBe(before.get(f)!.mtimeMs);
      expect(now.ino).toBe(before.get(f)!.ino);
    }
    expect(statSync(join(out, 'cap-01.pcap')).ino).not.toBe(before.get('cap-01.pcap')!.ino);
    expect(existsSync(join(out, 'cap-04.pcap'))).toBe(true);

    // A pipeline file newer than the outputs makes every output out of date.
    const newest = new Date(Math.max(...readdirSync(out).map((f) => statSync(join(out, f)).mtimeMs)) + 5000);
    utimesSync(pipeline, newest, newest);
    const again = JSON.parse(capflow(['run', ...inputs, '--out-dir', out, '-p', pipeline, '--skip-existing', '--json']).stdout) as Summary;
    expect(again.skipped).toEqual([]);
    expect(again.inputs).toHaveLength(5);
  });

  it('refuses bad batch options before creating anything (exit 2)', () => {
    const d = fresh('usage');
    const [input] = makeInputs(join(d, 'in'), 1);
    const out = join(d, 'out');
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [['--jobs', '0'], /--jobs: expected a whole number of at least 1/],
      [['--jobs', '1.5'], /--jobs/],
      [['--shard', '3/3'], /shard index 3 is out of range for 3 shards/],
      [['--shard', 'two'], /--shard: expected K\/N/],
      [['--shard', '0/2', '--shards', '2'], /exclude each other/],
      [['--shards', '4'], /JOB_COMPLETION_INDEX is not set/, { JOB_COMPLETION_INDEX: '' }],
      [['--shards', '4'], /out of range for 4 shards/, { JOB_COMPLETION_INDEX: '4' }],
      [['--root', join(d, 'in')], /--root only says how inputs are hashed/],
    ];
    for (const [extra, msg, env] of cases) {
      const r = capflow(['run', input!, '--out-dir', out, ...extra], { env: env ?? {} });
      expect(r.status, extra.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(out)).toBe(false);
    }
    const o = capflow(['run', input!, '-o', join(d, 'one.pcap'), '--jobs', '2']);
    expect(o.status).toBe(2);
    expect(o.stderr).toMatch(/--jobs needs --out-dir/);
    expect(existsSync(join(d, 'one.pcap'))).toBe(false);
  });
});

describe.skipIf(!haveBuild)('shards: --shard K/N and JOB_COMPLETION_INDEX with --shards N', () => {
  const d = fresh('shards');
  const root = join(d, 'captures');
  const inputs = makeInputs(join(root, 'in'), 16);
  const rel = inputs.map((f) => relative(root, f));
  const single = join(d, 'single');
  let singleSummary: Summary;

  it('one process is the reference', () => {
    const r = capflow(['run', ...rel, '--out-dir', single, '--jobs', '2', '--json', '--stage', 'vxlan-decap'], { cwd: root });
    expect(r.status).toBe(0);
    singleSummary = JSON.parse(r.stdout);
    expect(singleSummary.inputs).toHaveLength(16);
  });

  for (const count of [1, 3, 7]) {
    it(`${count} processes cover every input exactly once and merge into the single-process summary`, async () => {
      const out = join(d, `out-${count}`);
      // Run from another directory than the reference: the split depends on paths relative to --root only.
      const runs = await Promise.all(
        Array.from({ length: count }, (_, k) => {
          const byEnv = k % 2 === 1;
          const args = [builtCli, 'run', ...inputs, '--out-dir', out, '--root', root, '--jobs', '1', '--stage', 'vxlan-decap'];
          args.push(...(byEnv ? ['--shards', String(count)] : ['--shard', `${k}/${count}`]));
          args.push('--summary', join(out, `summary-${k}.json`));
          return spawnAsync(process.execPath, args, { cwd: d, env: byEnv ? { JOB_COMPLETION_INDEX: String(k) } : {} });
        }),
      );
      for (const r of runs) expect(r.stderr).not.toMatch(/failed/), expect(r.status).toBe(0);
      const shards = Array.from({ length: count }, (_, k) => JSON.parse(readFileSync(join(out, `summary-${k}.json`), 'utf8')) as Summary);
      const seen = shards.flatMap((s) => s.inputs.map((i: Summary) => i.index as number)).sort((a, b) => a - b);
      expect(seen).toEqual(inputs.map((_, i) => i));
      shards.forEach((s, k) => expect(s.shard).toEqual({ index: k, count }));
      if (count > 1) expect(shards.filter((s) => s.inputs.length > 0).length).toBeGreaterThan(1);

      const m = capflow(['merge-summaries', ...shards.map((_, k) => join(out, `summary-${k}.json`))]);
      expect(m.status).toBe(0);
      const merged = JSON.parse(m.stdout) as Summary;
      // Same outputs, named by absolute instead of relative paths: compare by base name.
      const norm = (s: Summary) =>
        JSON.parse(JSON.stringify(withoutTimes(s), (k, v) => (k === 'file' || k === 'output' ? basename(v as string) : v)));
      expect(norm(merged)).toEqual(norm(singleSummary));
      expect(Object.keys(merged)).toEqual(Object.keys(singleSummary));
      for (const f of inputs) expect(readFileSync(join(out, basename(f)))).toEqual(readFileSync(join(single, basename(f))));
    });
  }

  it('merge-summaries refuses an incomplete or doubled set of shards', () => {
    const out = join(d, 'out-7');
    const some = [0, 1, 2, 4, 5, 6].map((k) => join(out, `summary-${k}.json`));
    const r = capflow(['merge-summaries', ...some]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing shard 3 of 7/);
    expect(r.stdout).toBe('');
    const dup = capflow(['merge-summaries', ...some, some[0]!]);
    expect(dup.stderr).toMatch(/shard 0\/7 given twice/);
    expect(dup.status).toBe(1);
  });
});

describe.skipIf(!haveBuild || process.getuid?.() === 0)('unreadable file (permissions; root reads everything)', () => {
  it('names the file it could not open', () => {
    const d = fresh('perm');
    const inputs = makeInputs(join(d, 'in'), 3);
    chmodSync(inputs[1]!, 0);
    const r = capflow(['run', ...inputs, '--out-dir', join(d, 'out')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cap-01\.pcap/);
  });
});
