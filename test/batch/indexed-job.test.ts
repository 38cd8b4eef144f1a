/**
 * The shipped Kubernetes Indexed Job, run here without a cluster: the container's command line
 * from samples/scale-out/indexed-job.yaml, with `capflow` installed the way the Dockerfile installs
 * it, once per completion index with JOB_COMPLETION_INDEX=0..N-1 side by side over one directory
 * standing in for the shared volume. Every input is converted exactly once and the per-shard
 * summaries merge into what one process reports.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { builtCli, capflow, haveBuild, makeInputs, repo, spawnAsync } from './batch-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-indexed-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
const job = parse(readFileSync(join(repo, 'samples', 'scale-out', 'indexed-job.yaml'), 'utf8')) as Record<string, any>;

describe('the container build file', () => {
  it('installs capflow as the built CLI and makes it the entry point', () => {
    expect(dockerfile).toMatch(/^RUN ln -s \/opt\/capflow\/dist\/cli\/main\.js \/usr\/local\/bin\/capflow$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["capflow"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["--help"\]$/m);
    // What the image copies is what the build compiles.
    const tsconfig = JSON.parse(readFileSync(join(repo, 'tsconfig.json'), 'utf8')) as { include: string[] };
    for (const d of tsconfig.include) expect(dockerfile).toMatch(new RegExp(`^COPY ${d} ${d}$`, 'm'));
  });
});

describe.skipIf(!haveBuild)('the Kubernetes Indexed Job example, one local process per index', () => {
  const spec = job.spec;
  const pod = spec.template.spec;
  const container = pod.containers[0];
  const mount = container.volumeMounts.find((m: { name: string }) => m.name === pod.volumes[0].name).mountPath as string;

  it('is an Indexed Job whose shard count is its completion count', () => {
    expect(job.kind).toBe('Job');
    expect(spec.completionMode).toBe('Indexed');
    expect(container.command).toEqual(['sh', '-c']);
    expect(container.args).toHaveLength(1);
    expect(container.args[0]).toContain(`--shards ${spec.completions}`);
    expect(container.args[0]).toContain('$JOB_COMPLETION_INDEX');
  });

  it('converts every capture exactly once; the merged summary equals a single process', async () => {
    // The volume: captures (some in a subdirectory are not matched by the job's glob), a pipeline.
    const volume = join(dir, 'volume');
    const inputs = makeInputs(join(volume, 'in'), 18).filter((f) => !f.includes('night-2'));
    writeFileSync(join(volume, 'pipeline.yaml'), 'stages:\n  - stage: vxlan-decap\n');
    // `capflow` on PATH as in the image.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(builtCli, join(bin, 'capflow'));
    const script = (container.args[0] as string).split(mount).join(volume);
    const env = (k: number) => ({ PATH: `${bin}:${process.env.PATH}`, JOB_COMPLETION_INDEX: String(k) });

    const n = spec.completions as number;
    const runs = await Promise.all(Array.from({ length: n }, (_, k) => spawnAsync('sh', ['-c', script], { cwd: dir, env: env(k) })));
    runs.forEach((r, k) => expect(r.status, `index ${k}: ${r.stderr}`).toBe(0));

    const out = join(volume, 'out');
    const names = Array.from({ length: n }, (_, k) => join(out, `summary-${k}.json`));
    const shards = names.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, any>);
    const done = shards.flatMap((s) => s.inputs.map((i: { file: string }) => i.file)).sort();
    expect(done).toEqual([...inputs].sort());
    expect(readdirSync(out).filter((f) => f.endsWith('.pcap')).sort()).toEqual(inputs.map((f) => basename(f)).sort());

    const merged = capflow(['merge-summaries', ...names]);
    expect(merged.status).toBe(0);
    const single = capflow(['run', ...inputs, '--out-dir', join(dir, 'single'), '--pipeline', join(volume, 'pipeline.yaml'), '--json']);
    expect(single.status).toBe(0);
    const norm = (text: string) =>
      JSON.parse(text, (k, v) => (k === 'seconds' ? undefined : k === 'output' ? basename(v as string) : v)) as unknown;
    expect(norm(merged.stdout)).toEqual(norm(single.stdout));

    // A retried pod finds its outputs up to date and redoes nothing, but its summary keeps the
    // counters of what it skipped: the merge still adds up to the whole batch.
    const busiest = shards.reduce((best, s, k) => (s.inputs.length > shards[best]!.inputs.length ? k : best), 0);
    const outputsBefore = readdirSync(out).map((f) => [f, statSync(join(out, f)).mtimeMs]);
    const again = await spawnAsync('sh', ['-c', script], { cwd: dir, env: env(busiest) });
    expect(again.status).toBe(0);
    const retried = JSON.parse(readFileSync(names[busiest]!, 'utf8'));
    expect(retried.skipped.map((x: { index: number }) => x.index)).toEqual(shards[busiest]!.inputs.map((x: { index: number }) => x.index));
    expect(retried.inputs).toEqual(shards[busiest]!.inputs);
    for (const [f, t] of outputsBefore) if (String(f).endsWith('.pcap')) expect(statSync(join(out, String(f))).mtimeMs).toBe(t);
    const remerged = capflow(['merge-summaries', ...names]);
    const { skipped, ...rest } = norm(remerged.stdout) as Record<string, unknown>;
    expect(skipped).toHaveLength(shards[busiest]!.inputs.length);
    expect({ ...rest, skipped: [] }).toEqual(norm(single.stdout));
  });
});
